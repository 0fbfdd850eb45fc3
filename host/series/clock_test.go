package series_test

import (
	"slices"
	"testing"

	"github.com/futurecalls/futurecalls/host/series"
)

// TestCronAtClockChanges checks the documented rules at each kind of 2026 clock change,
// with expected times worked out by hand; where croner agrees, it is asked too.
func TestCronAtClockChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cron, zone, from, until string
		want                          []string
		cronerAgrees                  bool
	}{
		// Lord Howe, 5 April: 02:00 +11 falls back to 01:30 +10:30 (at 15:00Z on the 4th).
		{"Lord Howe: midnight on the change day", "@daily", "Australia/Lord_Howe", "2026-04-03T00:00:00Z", "2026-04-06T00:00:00Z",
			[]string{"2026-04-03T13:00:00Z", "2026-04-04T13:00:00Z", "2026-04-05T13:30:00Z"}, true},
		{"Lord Howe: Sunday noon, far from the change", "0 12 * * 0", "Australia/Lord_Howe", "2026-03-28T00:00:00Z", "2026-04-13T00:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-04-05T01:30:00Z", "2026-04-12T01:30:00Z"}, true},
		{"Lord Howe: a repeated fixed time runs once, at its first instance", "30 1 * * *", "Australia/Lord_Howe", "2026-04-03T00:00:00Z", "2026-04-06T00:00:00Z",
			[]string{"2026-04-03T14:30:00Z", "2026-04-04T14:30:00Z", "2026-04-05T15:00:00Z"}, false},
		{"Lord Howe: a step in the minutes runs on both instances", "*/20 1 * * *", "Australia/Lord_Howe", "2026-04-04T13:00:00Z", "2026-04-05T14:30:00Z",
			[]string{"2026-04-04T14:00:00Z", "2026-04-04T14:20:00Z", "2026-04-04T14:40:00Z", "2026-04-04T15:10:00Z", "2026-04-05T14:30:00Z"}, false},
		{"Lord Howe: every 6 hours on the change day", "0 0 */6 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z", "2026-04-05T12:00:00Z",
			[]string{"2026-04-04T13:00:00Z", "2026-04-04T19:30:00Z", "2026-04-05T01:30:00Z", "2026-04-05T07:30:00Z"}, true},
		// Lord Howe, 4 October: 02:00 +10:30 jumps to 02:30 +11 (at 15:30Z on the 3rd).
		{"Lord Howe: skipped times run once when the gap ends", "*/20 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-04T15:00:00Z",
			[]string{"2026-10-03T15:30:00Z", "2026-10-03T15:40:00Z", "2026-10-04T15:00:00Z"}, true},
		{"Lord Howe: a skipped fixed time runs when the gap ends", "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-04T15:15:00Z",
			[]string{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}, false},
		{"Lord Howe: 03:00 after the gap", "0 3 * * *", "Australia/Lord_Howe", "2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z",
			[]string{"2026-10-02T16:30:00Z", "2026-10-03T16:00:00Z", "2026-10-04T16:00:00Z"}, true},
		// Troll, 29 March: 01:00 +00 jumps to 03:00 +02 (at 01:00Z).
		{"Troll: 01:30 in the two-hour gap", "30 1 * * *", "Antarctica/Troll", "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T23:30:00Z"}, false},
		{"Troll: 02:30 in the two-hour gap", "30 2 * * *", "Antarctica/Troll", "2026-03-28T00:00:00Z", "2026-03-30T01:00:00Z",
			[]string{"2026-03-28T02:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}, false},
		// Troll, 25 October: 03:00 +02 falls back to 01:00 +00 (at 01:00Z).
		{"Troll: every hour of real time through the repeated hours", "0 * * * *", "Antarctica/Troll", "2026-10-24T22:30:00Z", "2026-10-25T03:00:00Z",
			[]string{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}, false},
		{"Troll: a repeated fixed time runs once", "30 1 * * *", "Antarctica/Troll", "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
			[]string{"2026-10-24T23:30:00Z", "2026-10-26T01:30:00Z"}, false},
		// New York, 8 March: 02:00 EST jumps to 03:00 EDT (07:00Z); 1 November: 02:00 EDT
		// falls back to 01:00 EST (06:00Z).
		{"New York: a skipped time runs when the gap ends", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}, false},
		{"New York: a repeated fixed time runs once", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}, true},
		{"Kolkata: no change", "30 2 * * *", "Asia/Kolkata", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z",
			[]string{"2026-03-28T21:00:00Z", "2026-03-29T21:00:00Z"}, true},
		{"UTC: last day of the month", "0 0 L * *", "UTC", "2026-01-31T00:00:00Z", "2026-04-30T00:00:00Z",
			[]string{"2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"}, true},
	}
	var cases []cronerCase
	for _, tt := range tests {
		cases = append(cases, cronerCase{Cron: tt.cron, Zone: tt.zone, From: tt.from, Until: tt.until})
	}
	theirs := cronerRuns(t, cases)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, series.Spec{Cron: tt.cron, TimeZone: tt.zone})
			if got := ourRuns(s, utc(tt.from), utc(tt.until)); !slices.Equal(got, tt.want) {
				t.Errorf("runs = %v\n want %v", got, tt.want)
			}
			if agree := slices.Equal(theirs[i], tt.want); agree != tt.cronerAgrees {
				t.Errorf("croner gives %v; the table says croner agrees: %v", theirs[i], tt.cronerAgrees)
			}
		})
	}
}
