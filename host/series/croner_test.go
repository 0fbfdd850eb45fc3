package series_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/series"
)

// cronerCase asks croner (npm, pinned in testdata/croner/package-lock.json) for the run
// times of a cron expression in a zone, strictly after From and at most Until.
type cronerCase struct {
	Cron  string `json:"cron"`
	Zone  string `json:"zone"`
	From  string `json:"from"`
	Until string `json:"until"`
}

// cronerRuns runs every case through croner in one node process.
func cronerRuns(t *testing.T, cases []cronerCase) [][]string {
	t.Helper()
	dir := filepath.Join("testdata", "croner")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "croner")); err != nil {
		t.Fatalf("croner is not installed (%v): run `make deps-croner`", err)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "runs.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node runs.mjs: %v\n%s", err, stderr.String())
	}
	var runs [][]string
	if err := json.Unmarshal(out, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(cases) {
		t.Fatalf("croner answered %d cases of %d", len(runs), len(cases))
	}
	return runs
}

// ourRuns lists the run times strictly after from and at most until.
func ourRuns(s *series.Schedule, from, until time.Time) []string {
	var out []string
	for t := s.Next(from); !t.IsZero() && !t.After(until); t = s.Next(t) {
		out = append(out, t.Format(time.RFC3339))
	}
	return out
}

// clockChanges lists the instants in 2026 at which zone's UTC offset changes, and by
// how much.
func clockChanges(t *testing.T, zone string) (at []time.Time, by []time.Duration) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); u.Before(end); {
		_, before := u.In(loc).Zone()
		_, next := u.In(loc).ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		if _, after := next.In(loc).Zone(); after != before {
			at = append(at, next)
			by = append(by, time.Duration(after-before)*time.Second)
		}
		u = next
	}
	return at, by
}

var sweepZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Antarctica/Troll", "Asia/Kolkata"}

var sweepExpressions = []string{
	"@daily", "@weekly", "@hourly", "@monthly",
	"0 12 * * 0", "0 3 * * *", "0 */2 * * *", "0 0 */6 * * *",
	"30 1 * * *", "30 2 * * *", "15 2 * * *", "*/20 1 * * *", "*/20 2 * * *",
	"15 * * * *", "0 9 * * MON-FRI", "45 23 * * *", "0 0 L * *", "0 0 13 * FRI", "30 */3 * * *",
}

// TestCronMatchesCronerAwayFromClockChanges runs every expression in every zone over the
// four days around each 2026 clock change (two fixed dates for zones without one) and
// compares the run times with croner's. Within the change itself (the change's size on
// either side of it) the documented rules differ from croner's (a skipped time runs
// when the gap ends, not shifted by the gap; a repeated fixed time runs at its first
// instance; "every hour" runs on both instances), so runs there are checked in
// TestCronAtClockChanges instead. Every other run must agree: none skipped, none
// duplicated, on the change day as on ordinary days.
func TestCronMatchesCronerAwayFromClockChanges(t *testing.T) {
	t.Parallel()
	type window struct {
		zone, cron  string
		change      time.Time
		size        time.Duration
		from, until time.Time
	}
	var windows []window
	var cases []cronerCase
	for _, zone := range sweepZones {
		changes, sizes := clockChanges(t, zone)
		if len(changes) == 0 {
			changes = []time.Time{utc("2026-03-29T01:00:00Z"), utc("2026-10-04T15:30:00Z")}
			sizes = []time.Duration{0, 0}
		}
		for i, change := range changes {
			for _, expr := range sweepExpressions {
				w := window{zone: zone, cron: expr, change: change, size: sizes[i].Abs(),
					from: change.Add(-48 * time.Hour), until: change.Add(48 * time.Hour)}
				windows = append(windows, w)
				cases = append(cases, cronerCase{Cron: expr, Zone: zone,
					From: w.from.Format(time.RFC3339), Until: w.until.Format(time.RFC3339)})
			}
		}
	}
	theirs := cronerRuns(t, cases)
	compared := 0
	for i, w := range windows {
		s, err := series.Parse(series.Spec{Cron: w.cron, TimeZone: w.zone})
		if err != nil {
			t.Errorf("%q in %s: %v", w.cron, w.zone, err)
			continue
		}
		ours := ourRuns(s, w.from, w.until)
		if len(slices.Compact(slices.Clone(ours))) != len(ours) {
			t.Errorf("%s in %s: duplicated run times %v", w.cron, w.zone, ours)
		}
		awayFromChange := func(run string) bool {
			at := utc(run)
			return at.Before(w.change.Add(-w.size)) || at.After(w.change.Add(w.size))
		}
		a := slices.DeleteFunc(slices.Clone(ours), func(r string) bool { return !awayFromChange(r) })
		b := slices.DeleteFunc(slices.Clone(theirs[i]), func(r string) bool { return !awayFromChange(r) })
		compared += len(b)
		if !slices.Equal(a, b) {
			t.Errorf("%q in %s around %s:\n ours   %v\n croner %v", w.cron, w.zone, w.change.Format(time.RFC3339), a, b)
		}
	}
	t.Logf("%d windows, %d croner run times compared", len(windows), compared)
}
