package series

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"
)

// parser reads cron expressions: go-cron's parser, whose field syntax (names, steps,
// ranges, descriptors, L in the day of month) is the standard one. Only its parser is
// used: run times are computed here (clock.go), in local wall-clock time, because
// go-cron's SpecSchedule.Next steps hours in real time and recognises a clock change
// only as a one-hour jump, so zones whose clocks change by 30 minutes (Lord Howe) or
// two hours (Troll) lose or repeat runs.
var parser = cron.MustNewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow |
	cron.Descriptor | cron.DowOrDom | cron.DomL)

// wildcardBit is the bit go-cron's parser sets in a field written as "*" (or "?"):
// a day of month or week written so does not restrict the day.
const wildcardBit = 1 << 63

// searchYears bounds the search for a wall-clock time matching a cron expression. An
// expression that matches some day (Parse proves it does) matches one within eight
// years (29 February after 2096 is next in 2104); 400 years, one whole cycle of the
// Gregorian calendar, is a bound that is never reached.
const searchYears = 400

// cronFields is a parsed cron expression: the seconds, minutes, hours, days and months
// it matches, all in local wall-clock time.
type cronFields struct {
	spec *cron.SpecSchedule
}

func parseCron(expr string) (*cronFields, error) {
	if err := refuseWrapAround(expr); err != nil {
		return nil, err
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a calendar schedule", expr)
	}
	f := &cronFields{spec: spec}
	if !f.matchesSomeDay() {
		return nil, fmt.Errorf("%q never runs", expr)
	}
	return f, nil
}

// matchesSomeDay reports whether any day matches: whether a day of month and a month
// fit together ("30 2" never does). A leap year and a common year hold every
// combination of month, day of month, month length and weekday that matters.
func (f *cronFields) matchesSomeDay() bool {
	for day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2026; day = day.AddDate(0, 0, 1) {
		if hasBit(f.spec.Month, int(day.Month())) && f.dayMatches(day) {
			return true
		}
	}
	return false
}

// dayMatches reports whether a day's date matches the day-of-month and day-of-week
// fields: both when either is "*", either one when both are restricted (as in every
// cron: "0 9 1 * MON" is the 1st and every Monday).
func (f *cronFields) dayMatches(day time.Time) bool {
	s := f.spec
	dom := hasBit(s.Dom, day.Day()) || f.lastDayMatches(day)
	dow := hasBit(s.Dow, int(day.Weekday()))
	if s.Dom&wildcardBit != 0 || s.Dow&wildcardBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// lastDayMatches reports whether day is named by an L (last day of the month) or L-n
// (n days before it) in the day-of-month field.
func (f *cronFields) lastDayMatches(day time.Time) bool {
	last := time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	for _, c := range f.spec.DomConstraints {
		switch c.Type {
		case cron.DomLast:
			if day.Day() == last {
				return true
			}
		case cron.DomLastOffset:
			if day.Day() == last-c.N {
				return true
			}
		}
	}
	return false
}

// firstMatch returns the first wall-clock time at or after from and before until (no
// bound when until is zero) that the expression matches. Wall-clock times are written
// as UTC times: the calendar arithmetic of a clock that never changes.
func (f *cronFields) firstMatch(from, until time.Time) (time.Time, bool) {
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	timeOfDay := from.Sub(day)
	limit := day.AddDate(searchYears, 0, 0)
	for day.Before(limit) && (until.IsZero() || day.Before(until)) {
		if !hasBit(f.spec.Month, int(day.Month())) {
			day, timeOfDay = time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, time.UTC), 0
			continue
		}
		if f.dayMatches(day) {
			if at, ok := f.timeOfDay(timeOfDay); ok {
				wall := day.Add(at)
				if !until.IsZero() && !wall.Before(until) {
					return time.Time{}, false
				}
				return wall, true
			}
		}
		day, timeOfDay = day.AddDate(0, 0, 1), 0
	}
	return time.Time{}, false
}

// timeOfDay returns the first time of day at or after from that the hour, minute and
// second fields match.
func (f *cronFields) timeOfDay(from time.Duration) (time.Duration, bool) {
	s := f.spec
	secs := int(from / time.Second)
	h0, m0, s0 := secs/3600, secs/60%60, secs%60
	for h := nextBit(s.Hour, h0, 23); h >= 0; h = nextBit(s.Hour, h+1, 23) {
		m1 := 0
		if h == h0 {
			m1 = m0
		}
		for m := nextBit(s.Minute, m1, 59); m >= 0; m = nextBit(s.Minute, m+1, 59) {
			s1 := 0
			if h == h0 && m == m0 {
				s1 = s0
			}
			if sec := nextBit(s.Second, s1, 59); sec >= 0 {
				return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, true
			}
		}
	}
	return 0, false
}

func hasBit(set uint64, n int) bool { return set&(1<<uint(n)) != 0 }

// nextBit returns the lowest bit of set in [from, upTo], or -1.
func nextBit(set uint64, from, upTo int) int {
	if from > upTo {
		return -1
	}
	set &= ^uint64(0) << uint(from)
	set &= ^uint64(0) >> uint(63-upTo)
	if set == 0 {
		return -1
	}
	return bits.TrailingZeros64(set)
}

// fieldNames are the names each field accepts, by position (seconds first).
var fieldNames = [6]map[string]int{
	4: {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12},
	5: {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6},
}

// refuseWrapAround refuses ranges that run backwards, such as FRI-MON or 22-2: go-cron
// reads them as wrapping around, but standard cron and its peers (croner, croniter,
// cron-parser) refuse them, so a schedule written for one would mean something else
// in another.
func refuseWrapAround(expr string) error {
	fields := strings.Fields(expr)
	if len(fields) == 5 {
		fields = append([]string{"0"}, fields...)
	}
	if len(fields) != 6 {
		return nil // a descriptor, or a count the parser refuses
	}
	for i, field := range fields {
		for _, part := range strings.Split(field, ",") {
			part, _, _ = strings.Cut(part, "/")
			lo, hi, isRange := strings.Cut(part, "-")
			if !isRange || strings.EqualFold(lo, "L") {
				continue
			}
			from, ok1 := fieldValue(lo, fieldNames[i])
			to, ok2 := fieldValue(hi, fieldNames[i])
			if ok1 && ok2 && from > to {
				return errors.New(part + " runs backwards: write a wrap-around range as two, such as FRI-SAT,SUN-MON")
			}
		}
	}
	return nil
}

func fieldValue(s string, names map[string]int) (int, bool) {
	if n, ok := names[strings.ToLower(s)]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
