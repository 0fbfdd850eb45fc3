// Package series computes the run times of recurring calls: cron series (five fields,
// or six with seconds first, month and weekday names, descriptors such as @daily) in an
// IANA time zone, and interval series that keep their anchor.
//
// Cron expressions are parsed by github.com/netresearch/go-cron, the maintained fork of
// robfig/cron, with standard cron semantics: when both day of month and day of week are
// restricted, a day matching either runs ("0 9 1 * MON" is the 1st and every Monday);
// L in the day of month is its last day, L-n n days before it. Ranges that run
// backwards (FRI-MON, 22-2) are refused, as standard cron refuses them; an expression
// that matches no day (30 February) is refused.
//
// Run times are computed here (clock.go), in local wall-clock time, whatever the size
// of a clock change. A local time skipped by a change runs at the first instant after
// the gap (on the day Berlin jumps from 02:00 to 03:00, 02:30 runs at 03:00, as in ISC
// cron), and a local time repeated by a change runs once, at its first instance —
// unless the hour or minute field is a wildcard or a step, as in ISC cron: "every hour"
// keeps running every hour of real time.
//
// Missed runs collapse: the next run of a series is always computed from the later of
// "now" and its previous run time, so a series whose host was down for an hour runs
// once on its return, then resumes on its schedule, never in a burst.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package series

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database
)

// MinEvery bounds an interval series from below.
const MinEvery = time.Second

// Spec is what a recurring call's request says about its schedule: either Cron (with
// an optional TimeZone, UTC by default) or Every (with an optional Start anchor).
type Spec struct {
	Cron     string
	TimeZone string
	Every    time.Duration
	Start    time.Time
}

// Schedule is a parsed Spec.
type Schedule struct {
	spec Spec
	cron *cronFields
	loc  *time.Location
	// fixedTime: the hour and minute fields name fixed times, so a wall-clock time
	// repeated by a fall-back change must run only once.
	fixedTime bool
}

// Parse checks s and returns its schedule. Errors name the offending field.
func Parse(s Spec) (*Schedule, error) {
	switch {
	case s.Cron != "" && s.Every != 0:
		return nil, errors.New(`give either "cron" or "every", not both`)
	case s.Cron == "" && s.Every == 0:
		return nil, errors.New(`a recurring call needs "cron" or "every"`)
	case s.Every != 0:
		if s.TimeZone != "" {
			return nil, errors.New(`"timezone" applies to "cron" only`)
		}
		if s.Every < MinEvery {
			return nil, fmt.Errorf(`"every" must be at least %s, got %s`, MinEvery, s.Every)
		}
		return &Schedule{spec: s}, nil
	}
	if !s.Start.IsZero() {
		return nil, errors.New(`"start" applies to "every" only`)
	}
	if strings.Contains(s.Cron, "TZ=") {
		return nil, errors.New(`give the time zone in "timezone", not in "cron"`)
	}
	if strings.HasPrefix(strings.TrimSpace(s.Cron), "@every") {
		return nil, errors.New(`"cron": for a fixed interval use "every" instead of @every`)
	}
	loc := time.UTC
	if s.TimeZone != "" {
		var err error
		if loc, err = location(s.TimeZone); err != nil {
			return nil, fmt.Errorf(`"timezone": %q is not an IANA time zone such as Europe/Berlin`, s.TimeZone)
		}
	}
	fields, err := parseCron(s.Cron)
	if err != nil {
		return nil, fmt.Errorf(`"cron": %v`, err)
	}
	return &Schedule{spec: s, cron: fields, loc: loc, fixedTime: fixedTime(s.Cron)}, nil
}

// locations caches loaded time zones: time.LoadLocation reads the zone database on
// every call, and every finished occurrence of a cron series parses its schedule.
var locations sync.Map // name → *time.Location

func location(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// fixedTime reports whether a cron expression's hour and minute fields name fixed
// values (no wildcard, no step). Descriptors other than @hourly name fixed times.
func fixedTime(expr string) bool {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@") {
		return expr != "@hourly"
	}
	fields := strings.Fields(expr)
	if len(fields) < 5 {
		return false
	}
	hour, minute := fields[len(fields)-4], fields[len(fields)-5]
	return !strings.ContainsAny(hour+minute, "*/")
}

// Spec returns the schedule's spec.
func (s *Schedule) Spec() Spec { return s.spec }

// First returns the first run time of a series created at now: for cron, the first
// matching time after now; for an interval, Start if it is still ahead, the first time
// on Start's grid from now on if it has passed, and now + Every without a Start.
func (s *Schedule) First(now time.Time) time.Time {
	if s.cron != nil {
		return s.Next(now)
	}
	if s.spec.Start.IsZero() {
		return now.Add(s.spec.Every).UTC()
	}
	if !s.spec.Start.Before(now) {
		return s.spec.Start.UTC()
	}
	return s.onGrid(s.spec.Start, now, false)
}

// Next returns the first run time strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.cron != nil {
		return s.cronNext(t)
	}
	return s.onGrid(s.spec.Start, t, true)
}

// onGrid returns the first time anchor + k·Every at or (strictly) after t.
func (s *Schedule) onGrid(anchor, t time.Time, strictly bool) time.Time {
	every := s.spec.Every
	if t.Before(anchor) {
		return anchor.UTC()
	}
	k := t.Sub(anchor) / every
	at := anchor.Add(k * every)
	if at.Before(t) || (strictly && at.Equal(t)) {
		at = at.Add(every)
	}
	return at.UTC()
}

// Successor returns the run time of the occurrence after one due at runAt that
// finished at now: the first scheduled time after both, so that runs missed while no
// host was up collapse into the one that just ran.
func (s *Schedule) Successor(runAt, now time.Time) time.Time {
	if now.Before(runAt) {
		now = runAt
	}
	return s.Next(now)
}
