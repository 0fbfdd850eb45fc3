package series_test

import (
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/series"
)

func mustParse(t *testing.T, s series.Spec) *series.Schedule {
	t.Helper()
	sched, err := series.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// runs lists n successive run times after start.
func runs(s *series.Schedule, start time.Time, n int) []string {
	var out []string
	t := start
	for range n {
		t = s.Next(t)
		out = append(out, t.Format(time.RFC3339))
	}
	return out
}

func TestCronAcrossDaylightSavingChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cron string
		from       string
		want       []string
	}{
		{
			// Weekdays at 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC in summer.
			name: "weekday mornings across the spring change", cron: "0 9 * * MON-FRI", from: "2026-03-26T12:00:00Z",
			want: []string{"2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"},
		},
		{
			name: "weekday mornings across the autumn change", cron: "0 9 * * MON-FRI", from: "2026-10-22T12:00:00Z",
			want: []string{"2026-10-23T07:00:00Z", "2026-10-26T08:00:00Z"},
		},
		{
			// 02:30 does not exist on 29 March (02:00 jumps to 03:00): it runs at 03:00 CEST,
			// the first instant after the gap.
			name: "a skipped local time runs when the gap ends", cron: "30 2 * * *", from: "2026-03-27T12:00:00Z",
			want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
		},
		{
			// 02:30 happens twice on 25 October: it runs once.
			name: "a repeated local time runs once", cron: "30 2 * * *", from: "2026-10-23T12:00:00Z",
			want: []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		{
			name: "hourly across the spring gap", cron: "0 * * * *", from: "2026-03-29T00:30:00Z",
			want: []string{"2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
		},
		{
			// Every hour of real time, the repeated 02:00 included.
			name: "hourly across the autumn change", cron: "0 * * * *", from: "2026-10-24T23:30:00Z",
			want: []string{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		},
		{
			name: "six fields at a fixed time in the repeated hour", cron: "15 30 2 * * *", from: "2026-10-24T12:00:00Z",
			want: []string{"2026-10-25T00:30:15Z", "2026-10-26T01:30:15Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, series.Spec{Cron: tt.cron, TimeZone: "Europe/Berlin"})
			got := runs(s, utc(tt.from), len(tt.want))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("runs = %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestCronSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cron string
		from       string
		want       []string
	}{
		// Day of month OR day of week when both are restricted, as in every cron.
		{"dom or dow", "0 0 13 * FRI", "2026-11-01T00:00:00Z", []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z"}},
		{"six fields with seconds", "*/20 * * * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z"}},
		{"month names", "0 0 1 JAN,JUL *", "2026-02-01T00:00:00Z", []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"descriptor", "@daily", "2026-01-01T10:00:00Z", []string{"2026-01-02T00:00:00Z"}},
		{"last day of the month", "0 0 L * *", "2028-01-31T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"}},
		{"two days before the last", "0 0 L-2 * *", "2026-02-01T00:00:00Z", []string{"2026-02-26T00:00:00Z", "2026-03-29T00:00:00Z"}},
		{"a range up to Sunday as 7", "0 0 * * FRI-7", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"}},
		// The search never ends at a horizon: 2100 is no leap year, so 29 February after
		// 2096 is next in 2104, and a daily series goes on past 2100.
		{"29 February after 2096", "0 0 29 2 *", "2096-03-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}},
		{"daily past 2100", "0 6 * * *", "2099-12-31T12:00:00Z", []string{"2100-01-01T06:00:00Z", "2100-01-02T06:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, series.Spec{Cron: tt.cron})
			if got := runs(s, utc(tt.from), len(tt.want)); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("runs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIntervalKeepsItsAnchorAndCollapsesMissedRuns(t *testing.T) {
	t.Parallel()
	anchor := utc("2026-01-01T10:00:00Z")
	s := mustParse(t, series.Spec{Every: 15 * time.Minute, Start: anchor})
	if got := s.First(utc("2026-01-01T09:00:00Z")); !got.Equal(anchor) {
		t.Errorf("first run before the anchor = %v, want the anchor", got)
	}
	if got := s.First(utc("2026-01-01T10:20:00Z")); !got.Equal(utc("2026-01-01T10:30:00Z")) {
		t.Errorf("first run after the anchor = %v, want the next grid time 10:30", got)
	}
	// An occurrence due 10:15 that ran on time is followed by 10:30.
	if got := s.Successor(utc("2026-01-01T10:15:00Z"), utc("2026-01-01T10:15:00.2Z")); !got.Equal(utc("2026-01-01T10:30:00Z")) {
		t.Errorf("successor = %v, want 10:30", got)
	}
	// After an hour's outage, the 10:15 occurrence runs once at 11:17; the next run is back
	// on the grid (11:30), not four catch-up runs.
	if got := s.Successor(utc("2026-01-01T10:15:00Z"), utc("2026-01-01T11:17:00Z")); !got.Equal(utc("2026-01-01T11:30:00Z")) {
		t.Errorf("successor after an outage = %v, want 11:30", got)
	}
	// Exactly on a grid time: the next one.
	if got := s.Next(utc("2026-01-01T11:30:00Z")); !got.Equal(utc("2026-01-01T11:45:00Z")) {
		t.Errorf("Next on the grid = %v", got)
	}
	noStart := mustParse(t, series.Spec{Every: time.Hour})
	now := utc("2026-05-05T05:05:05Z")
	if got := noStart.First(now); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("first run without a start = %v, want an interval from now", got)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec series.Spec
		want string
	}{
		{"nothing", series.Spec{}, "needs"},
		{"both", series.Spec{Cron: "* * * * *", Every: time.Minute}, "not both"},
		{"bad cron", series.Spec{Cron: "61 * * * *"}, `"cron"`},
		{"too few fields", series.Spec{Cron: "* *"}, `"cron"`},
		{"never", series.Spec{Cron: "0 0 30 2 *"}, "never runs"},
		{"never in short months", series.Spec{Cron: "0 0 31 4,6,9,11 *"}, "never runs"},
		{"weekdays wrapping around", series.Spec{Cron: "0 9 * * FRI-MON"}, "FRI-MON runs backwards"},
		{"hours wrapping around", series.Spec{Cron: "0 22-2 * * *"}, "22-2 runs backwards"},
		{"months wrapping around with a step", series.Spec{Cron: "0 0 1 NOV-FEB/2 *"}, "NOV-FEB runs backwards"},
		{"bad zone", series.Spec{Cron: "* * * * *", TimeZone: "Mars/Olympus"}, "IANA"},
		{"zone in cron", series.Spec{Cron: "TZ=Europe/Berlin * * * * *"}, "timezone"},
		{"tiny interval", series.Spec{Every: time.Millisecond}, "at least"},
		{"zone with every", series.Spec{Every: time.Hour, TimeZone: "UTC"}, `applies to "cron" only`},
		{"start with cron", series.Spec{Cron: "@daily", Start: time.Now()}, `applies to "every" only`},
		{"@every", series.Spec{Cron: "@every 5m"}, `use "every"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := series.Parse(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// Past a zone's listed transitions Go computes them from its rule, and reports a period
// that ends where it began on 31 December of leap years: run times go on through it.
func TestCronThroughRuleComputedYears(t *testing.T) {
	t.Parallel()
	s := mustParse(t, series.Spec{Cron: "0 9 * * *", TimeZone: "Europe/Berlin"})
	want := []string{"2040-12-30T08:00:00Z", "2040-12-31T08:00:00Z", "2041-01-01T08:00:00Z"}
	done := make(chan []string, 1)
	go func() { done <- runs(s, utc("2040-12-29T12:00:00Z"), len(want)) }()
	select {
	case got := <-done:
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("runs = %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next does not return across 31 December 2040 in Berlin")
	}
}
