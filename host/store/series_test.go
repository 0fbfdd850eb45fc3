package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// runOnce claims the series' due occurrence as host and records kind for it, finishing
// at finished: the injectable clock of these tests. Every run time here is in the past,
// so each successor is due at once.
func runOnce(t *testing.T, s *store.Store, host string, kind abi.Outcome, finished func(store.Call) time.Time) store.Call {
	t.Helper()
	claimed, err := s.Claim(ctx, host, 1, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	c := claimed[0]
	at := finished(c)
	if lost, err := s.Complete(ctx, host, []store.Outcome{{ID: c.ID, Attempt: c.Attempt, Kind: kind, StartedAt: at, FinishedAt: at}}); err != nil || len(lost) > 0 {
		t.Fatalf("complete: lost %v, %v", lost, err)
	}
	return c
}

func recurring(runAt time.Time, identifier string, series store.Series) store.NewCall {
	c := store.NewCall{Plugin: "example", Method: "doWork", Args: json.RawMessage(`{}`), RunAt: runAt, Identifier: identifier}
	c.Series = &series
	return c
}

func waiting(t *testing.T, s *store.Store) []store.Call {
	t.Helper()
	calls, _, err := s.List(ctx, store.Filter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestCronSeriesFollowsLocalTimeAcrossDST(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	first := time.Date(2026, 3, 27, 8, 0, 0, 0, time.UTC) // 09:00 in Berlin, winter time
	c, err := s.Schedule(ctx, recurring(first, "berlin-mornings", store.Series{Cron: "0 9 * * *", TimeZone: "Europe/Berlin"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Series == nil || c.Series.ID == 0 {
		t.Fatalf("stored call has no series: %+v", c)
	}
	onTime := func(c store.Call) time.Time { return c.RunAt.Add(2 * time.Second) }
	var got []string
	for range 4 {
		got = append(got, runOnce(t, s, "h", abi.OutcomeSucceeded, onTime).RunAt.Format(time.RFC3339))
	}
	// 09:00 local: 08:00 UTC until 29 March, 07:00 UTC from then on (summer time).
	want := []string{"2026-03-27T08:00:00Z", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	}
	next := waiting(t, s)
	if len(next) != 1 || next[0].RunAt != time.Date(2026, 3, 31, 7, 0, 0, 0, time.UTC) || next[0].Series.ID != c.Series.ID {
		t.Fatalf("waiting = %+v, want the one next occurrence of the series", next)
	}
	var occurrences int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE series_id = $1", c.Series.ID).Scan(&occurrences); err != nil || occurrences != 4 {
		t.Errorf("history shows %d occurrences of the series (%v), want 4", occurrences, err)
	}
}

func TestIntervalSeriesCollapsesAnOutageAndKeepsItsAnchor(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	anchor := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if _, err := s.Schedule(ctx, recurring(anchor, "tick", store.Series{Every: 15 * time.Minute, Anchor: anchor})); err != nil {
		t.Fatal(err)
	}
	// The 10:00 run happens on time; the 10:15 one only after an hour's outage, at 11:17.
	runOnce(t, s, "h", abi.OutcomeSucceeded, func(c store.Call) time.Time { return c.RunAt.Add(time.Second) })
	late := runOnce(t, s, "h", abi.OutcomeSucceeded, func(store.Call) time.Time { return time.Date(2026, 1, 1, 11, 17, 0, 0, time.UTC) })
	if late.RunAt != anchor.Add(15*time.Minute) {
		t.Fatalf("second run was due %v, want 10:15", late.RunAt)
	}
	next := waiting(t, s)
	if len(next) != 1 || next[0].RunAt != time.Date(2026, 1, 1, 11, 30, 0, 0, time.UTC) {
		t.Fatalf("after the outage: %+v; want exactly one run, at 11:30 on the anchor's grid (no burst)", next)
	}
	// A failed run does not end the series.
	runOnce(t, s, "h", abi.OutcomeFailed, func(c store.Call) time.Time { return c.RunAt.Add(time.Second) })
	if next := waiting(t, s); len(next) != 1 || next[0].RunAt != time.Date(2026, 1, 1, 11, 45, 0, 0, time.UTC) {
		t.Fatalf("after a failed run: %+v, want the 11:45 run", next)
	}
	// A broken one does: its successors would be broken too.
	runOnce(t, s, "h", abi.OutcomeBroken, func(c store.Call) time.Time { return c.RunAt.Add(time.Second) })
	if next := waiting(t, s); len(next) != 0 {
		t.Fatalf("a broken occurrence got a successor: %+v", next)
	}
}

func TestAHostKilledMidOccurrenceLeavesExactlyOneSuccessor(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Schedule(ctx, recurring(anchor, "nightly", store.Series{Cron: "@daily"})); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "dead", 1, time.Millisecond, []string{"example"})
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	waitForExpiredLeases(t, s, 1)
	// Two survivors reap at once; then the dead host comes back and reports.
	done := make(chan int, 2)
	for _, host := range []string{"a", "b"} {
		go func() {
			n, err := s.Reap(ctx, host, 10)
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
	}
	if n := <-done + <-done; n != 1 {
		t.Errorf("the expired claim was reaped %d times, want once", n)
	}
	now := time.Now()
	lost, err := s.Complete(ctx, "dead", []store.Outcome{{ID: claimed[0].ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}})
	if err != nil || len(lost) != 1 {
		t.Fatalf("late outcome: lost %v, %v", lost, err)
	}
	next := waiting(t, s)
	if len(next) != 1 || next[0].Series == nil || next[0].Series.ID != claimed[0].Series.ID {
		t.Fatalf("waiting = %+v, want exactly one successor of the series", next)
	}
}

func TestCancellingASeriesStopsIt(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	past := time.Now().Add(-time.Hour)
	if _, err := s.ScheduleBatch(ctx, []store.NewCall{
		recurring(past, "running", store.Series{Every: time.Hour, Anchor: past}),
		recurring(past.Add(2*time.Hour), "waiting", store.Series{Every: time.Hour, Anchor: past}),
	}); err != nil {
		t.Fatal(err)
	}
	// "running" is in flight when its series is cancelled.
	claimed, err := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 1 || claimed[0].Identifier != "running" {
		t.Fatal(claimed, err)
	}
	// Each answer says what it stopped: the running occurrence's series, with no
	// waiting call removed; the waiting occurrence, and its series.
	for _, tt := range []struct {
		identifier               string
		cancelled, seriesStopped int64
	}{{"running", 0, 1}, {"waiting", 1, 1}} {
		n, stopped, err := s.CancelIdentifier(ctx, tt.identifier, "api")
		if err != nil || n != tt.cancelled || stopped != tt.seriesStopped {
			t.Errorf("cancel %s: %d cancelled, %d series stopped (%v), want %d and %d", tt.identifier, n, stopped, err, tt.cancelled, tt.seriesStopped)
		}
	}
	now := time.Now()
	if _, err := s.Complete(ctx, "h", []store.Outcome{{ID: claimed[0].ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if left := waiting(t, s); len(left) != 0 {
		t.Fatalf("a cancelled series left %+v behind", left)
	}
}

func TestAnOccurrenceCancellingItsOwnSeriesEndsIt(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	past := time.Now().Add(-time.Minute)
	if _, err := s.Schedule(ctx, recurring(past, "self", store.Series{Every: time.Hour, Anchor: past})); err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	now := time.Now()
	if _, err := s.Complete(ctx, "h", []store.Outcome{{ID: claimed[0].ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now,
		Effects: []store.Effect{{CancelIdentifier: "self"}}}}); err != nil {
		t.Fatal(err)
	}
	if left := waiting(t, s); len(left) != 0 {
		t.Fatalf("fc.cancel of its own identifier should end the series: %+v", left)
	}
}

// A cancel racing a claim of the series' occurrence still stops the series.
func TestCancelRacingAClaimStopsTheSeries(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{MaxConns: 4})
	past := time.Now().Add(-time.Minute)
	c, err := s.Schedule(ctx, recurring(past, "racy", store.Series{Every: time.Hour, Anchor: past}))
	if err != nil {
		t.Fatal(err)
	}
	// A host claims the occurrence; its transaction commits only after the cancel began.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE future_call SET claimed_by = 'h', claimed_at = now(),
		lease_until = now() + interval '1 minute', attempt = attempt + 1 WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan int64, 1)
	go func() {
		n, _, err := s.CancelIdentifier(ctx, "racy", "api")
		if err != nil {
			t.Error(err)
		}
		cancelled <- n
	}()
	waitForLockWait(t, s) // the cancel now waits for the claim's row lock
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := <-cancelled; n != 0 {
		t.Errorf("cancelled %d waiting calls, want 0: the occurrence was claimed", n)
	}
	now := time.Now()
	if _, err := s.Complete(ctx, "h", []store.Outcome{{ID: c.ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if left := waiting(t, s); len(left) != 0 {
		t.Fatalf("the cancelled series got a successor: %+v", left)
	}
}

func TestABrokenOccurrenceDeletedKeepsItsSeriesInTheHistory(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	c, err := s.Schedule(ctx, recurring(time.Now().Add(time.Hour), "gone", store.Series{Cron: "@daily"}))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteBroken(ctx, []store.BrokenCall{{ID: c.ID, Reason: "plugin gone"}}, "h"); err != nil || n != 1 {
		t.Fatalf("DeleteBroken = %d, %v", n, err)
	}
	entries, _, err := s.ListHistory(ctx, store.HistoryFilter{SeriesID: c.Series.ID}, store.Page{})
	if err != nil || len(entries) != 1 || entries[0].Outcome != abi.OutcomeDeletedBroken {
		t.Errorf("history of the series = %+v (%v), want its deleted occurrence", entries, err)
	}
}

// waitForLockWait waits until a statement on s's database waits for a lock.
func waitForLockWait(t *testing.T, s *store.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no statement waits for a lock")
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

// waitForExpiredLeases waits until n claims' leases have run out by the database's
// clock, the one Reap reads.
func waitForExpiredLeases(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var expired int
		if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call WHERE lease_until < now()").Scan(&expired); err != nil {
			t.Fatal(err)
		}
		if expired >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d leases ran out, want %d", expired, n)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}
