package series

import "time"

// cronNext returns the first run time strictly after t of a cron series in loc.
//
// Run times are wall-clock times that the fields match, mapped to instants period by
// period, a period being a stretch of real time with one UTC offset (ZoneBounds):
//   - a wall-clock time inside a period runs at the instant it shows there;
//   - a wall-clock time that a change skips (the clock jumps forward over it) runs at
//     the first instant after the gap, as ISC cron does: 02:30 on the day Berlin
//     jumps from 02:00 to 03:00 runs at 03:00, and several skipped times run once;
//   - a wall-clock time that a change repeats (the clock falls back over it) runs once,
//     at its first instance, unless the hour or minute field is a wildcard or a step:
//     those keep running on every instance, so "every hour" runs every hour of real
//     time.
//
// The earliest run in the earliest period wins, so runs come in the order of real time
// whatever the size of a change (30 minutes in Lord Howe, two hours in Troll).
func (s *Schedule) cronNext(t time.Time) time.Time {
	at := t.Truncate(time.Second).Add(time.Second)
	limit := at.AddDate(searchYears, 0, 0)
	for at.Before(limit) {
		local := at.In(s.loc)
		_, offset := local.Zone()
		start, end := local.ZoneBounds()
		if !end.IsZero() && !end.After(at) {
			// Go reports a period ending where it began on 31 December of a leap year
			// past the zone's listed transitions (2040 in Berlin); the period goes on
			// until the next day's began, or ended.
			nextStart, nextEnd := at.Add(24 * time.Hour).In(s.loc).ZoneBounds()
			if end = nextStart; !end.After(at) {
				end = nextEnd
			}
		}
		before := offset // the offset before this period began
		if !start.IsZero() {
			_, before = start.Add(-time.Second).In(s.loc).Zone()
		}
		if at.Equal(start) && before < offset {
			if _, skipped := s.cron.firstMatch(wallClock(start, before), wallClock(start, offset)); skipped {
				return start.UTC()
			}
		}
		from := wallClock(at, offset)
		if repeatedUntil := wallClock(start, before); s.fixedTime && before > offset && from.Before(repeatedUntil) {
			from = repeatedUntil
		}
		var until time.Time
		if !end.IsZero() {
			until = wallClock(end, offset)
		}
		if wall, ok := s.cron.firstMatch(from, until); ok {
			return wall.Add(-time.Duration(offset) * time.Second).UTC()
		}
		if end.IsZero() {
			break
		}
		at = end
	}
	return time.Time{}
}

// wallClock returns the wall-clock time that instant shows at a UTC offset (in
// seconds), written as a UTC time.
func wallClock(instant time.Time, offset int) time.Time {
	return instant.UTC().Add(time.Duration(offset) * time.Second)
}
