package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var ctx = context.Background()

func newCall(runAt time.Time, identifier string) store.NewCall {
	return store.NewCall{Plugin: "example", Method: "doOtherWork", Args: json.RawMessage(`{"data":"x"}`),
		RunAt: runAt, Identifier: identifier}
}

func scheduleN(t *testing.T, s *store.Store, n int, runAt time.Time, identifier string) []store.Call {
	t.Helper()
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = newCall(runAt.Add(time.Duration(i)*time.Millisecond), identifier)
	}
	stored, err := s.ScheduleBatch(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestScheduleStoresUTC(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2030, 1, 1, 9, 0, 0, 0, tokyo)
	c, err := s.Schedule(ctx, newCall(at, ""))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got.RunAt != want || got.RunAt.Location() != time.UTC {
		t.Errorf("run_at = %v, want %v in UTC", got.RunAt, want)
	}
	// Independently of the session, the database holds the same instant.
	var utc string
	if err := s.Pool().QueryRow(ctx, "SELECT to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM future_call WHERE id = $1", c.ID).Scan(&utc); err != nil {
		t.Fatal(err)
	}
	if utc != "2030-01-01 00:00" {
		t.Errorf("stored instant = %s UTC, want 2030-01-01 00:00", utc)
	}
	if string(got.Args) != `{"data": "x"}` || got.Plugin != "example" || got.Retry.MaxAttempts != 1 {
		t.Errorf("stored call = %+v", got)
	}
}

func TestRacingClaimersNeverShareACall(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{MaxConns: 16})
	const n = 2000
	scheduleN(t, s, n, time.Now().Add(-time.Hour), "")

	var mu sync.Mutex
	seen := map[int64]string{}
	var dup []int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		host := fmt.Sprintf("host-%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				calls, err := s.Claim(ctx, host, 7, time.Minute, []string{"example"})
				if err != nil {
					t.Error(err)
					return
				}
				if len(calls) == 0 {
					return
				}
				mu.Lock()
				for _, c := range calls {
					if _, ok := seen[c.ID]; ok {
						dup = append(dup, c.ID)
					}
					seen[c.ID] = host
					if c.ClaimedBy != host || c.Attempt != 1 {
						t.Errorf("claimed call %+v, want claimed by %s, attempt 1", c, host)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(dup) > 0 {
		t.Fatalf("%d calls claimed twice, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}
	if len(seen) != n {
		t.Fatalf("claimed %d calls, want %d", len(seen), n)
	}
}

func TestClaimTakesOnlyDueCallsOldestFirst(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	now := time.Now()
	late := scheduleN(t, s, 1, now.Add(-time.Minute), "")
	early := scheduleN(t, s, 1, now.Add(-time.Hour), "")
	scheduleN(t, s, 1, now.Add(time.Hour), "") // not due
	calls, err := s.Claim(ctx, "h", 10, time.Minute, []string{"example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].ID != early[0].ID || calls[1].ID != late[0].ID {
		t.Fatalf("claimed %+v, want the two due calls, oldest first", calls)
	}
	again, err := s.Claim(ctx, "h2", 10, time.Minute, []string{"example"})
	if err != nil || len(again) != 0 {
		t.Fatalf("second claim got %d calls (%v), want none", len(again), err)
	}
}

func TestCancelIdentifierRemovesExactlyTheMatchingCalls(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	future := time.Now().Add(time.Hour)
	scheduleN(t, s, 5, future, "user-1")
	keep := scheduleN(t, s, 3, future, "user-10")
	keep = append(keep, scheduleN(t, s, 2, future, "")...)
	n, stopped, err := s.CancelIdentifier(ctx, "user-1", "api")
	if err != nil || n != 5 || stopped != 0 {
		t.Fatalf("cancelled %d, stopped %d series (%v), want 5 and no series", n, stopped, err)
	}
	left, _, err := s.List(ctx, store.Filter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != len(keep) {
		t.Fatalf("%d calls left, want %d", len(left), len(keep))
	}
	for _, c := range left {
		if c.Identifier == "user-1" {
			t.Errorf("call %d with identifier user-1 survived", c.ID)
		}
	}
	var cancelled int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE outcome = 'cancelled' AND identifier = 'user-1'").Scan(&cancelled); err != nil || cancelled != 5 {
		t.Errorf("history has %d cancelled rows (%v), want 5", cancelled, err)
	}
	if n, _, _ := s.CancelIdentifier(ctx, "user-1", "api"); n != 0 {
		t.Errorf("second cancel removed %d, want 0", n)
	}
}

func TestCancelByID(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	calls := scheduleN(t, s, 2, time.Now().Add(-time.Second), "")
	claimed, err := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	waiting := calls[1].ID
	if claimed[0].ID == calls[1].ID {
		waiting = calls[0].ID
	}
	if err := s.Cancel(ctx, claimed[0].ID, "api"); !errors.Is(err, store.ErrRunning) {
		t.Errorf("cancel of a running call: %v, want ErrRunning", err)
	}
	if err := s.Cancel(ctx, waiting, "api"); err != nil {
		t.Errorf("cancel: %v", err)
	}
	if err := s.Cancel(ctx, waiting, "api"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second cancel: %v, want ErrNotFound", err)
	}
}

func TestKeysetPaginationReturnsEveryRowOnce(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	base := time.Now().Add(time.Hour).Truncate(time.Second)
	// Many calls share a run time, so the id must break ties.
	var all []store.NewCall
	for i := 0; i < 250; i++ {
		all = append(all, newCall(base.Add(time.Duration(i%7)*time.Second), "p"))
	}
	if _, err := s.ScheduleBatch(ctx, all); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	var last store.Call
	cursor, pages := "", 0
	for {
		calls, next, err := s.List(ctx, store.Filter{Identifier: "p"}, store.Page{Cursor: cursor, Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range calls {
			if seen[c.ID] {
				t.Fatalf("call %d returned twice", c.ID)
			}
			if last.ID != 0 && (c.RunAt.Before(last.RunAt) || (c.RunAt.Equal(last.RunAt) && c.ID < last.ID)) {
				t.Fatalf("page order broken at call %d", c.ID)
			}
			seen[c.ID], last = true, c
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 250 || pages != 7 {
		t.Fatalf("saw %d calls in %d pages, want 250 in 7", len(seen), pages)
	}
	if _, _, err := s.List(ctx, store.Filter{}, store.Page{Cursor: "garbage!"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	now := time.Now().UTC().Truncate(time.Second)
	c := newCall(now.Add(time.Hour), "a")
	c.Method = "doWork"
	if _, err := s.ScheduleBatch(ctx, []store.NewCall{c, newCall(now.Add(2*time.Hour), "b"), newCall(now.Add(3*time.Hour), "b")}); err != nil {
		t.Fatal(err)
	}
	before, after := now.Add(150*time.Minute), now.Add(90*time.Minute)
	tests := []struct {
		name string
		f    store.Filter
		want int
	}{
		{"all", store.Filter{}, 3},
		{"method", store.Filter{Method: "doWork"}, 1},
		{"plugin", store.Filter{Plugin: "other"}, 0},
		{"identifier", store.Filter{Identifier: "b"}, 2},
		{"due before", store.Filter{DueBefore: &before}, 2},
		{"due window", store.Filter{DueBefore: &before, DueAfter: &after}, 1},
	}
	for _, tt := range tests {
		calls, _, err := s.List(ctx, tt.f, store.Page{})
		if err != nil || len(calls) != tt.want {
			t.Errorf("%s: got %d calls (%v), want %d", tt.name, len(calls), err, tt.want)
		}
	}
}

func history(t *testing.T, s *store.Store, callID int64) []string {
	t.Helper()
	rows, err := s.Pool().Query(ctx, "SELECT outcome || coalesce(':' || error, '') FROM future_call_history WHERE call_id = $1 ORDER BY id", callID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestCompleteRecordsHistoryAndAppliesEffectsOfSuccessOnly(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 2, time.Now().Add(-time.Second), "")
	stale := scheduleN(t, s, 2, time.Now().Add(time.Hour), "stale")[0]
	claimed, err := s.Claim(ctx, "h", 2, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 2 {
		t.Fatal(claimed, err)
	}
	now := time.Now()
	follow := newCall(now.Add(time.Hour), "next")
	dropped := newCall(now.Add(time.Hour), "dropped")
	removed := newCall(now.Add(time.Hour), "stale") // scheduled, then cancelled with its series
	lost, err := s.Complete(ctx, "h", []store.Outcome{
		{ID: claimed[0].ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now,
			Effects: []store.Effect{{Schedule: &follow}, {Schedule: &removed}, {CancelIdentifier: "stale"}}},
		{ID: claimed[1].ID, Attempt: 1, Kind: abi.OutcomeFailed, Error: "boom", StartedAt: now, FinishedAt: now,
			Effects: []store.Effect{{Schedule: &dropped}}},
	})
	if err != nil || len(lost) != 0 {
		t.Fatalf("complete: lost=%v err=%v", lost, err)
	}
	if h := history(t, s, claimed[0].ID); len(h) != 1 || h[0] != "succeeded" {
		t.Errorf("history of the success = %v", h)
	}
	if h := history(t, s, claimed[1].ID); len(h) != 1 || h[0] != "failed:boom" {
		t.Errorf("history of the failure = %v", h)
	}
	left, _, _ := s.List(ctx, store.Filter{}, store.Page{})
	if len(left) != 1 || left[0].Identifier != "next" {
		t.Errorf("schedule after complete = %+v, want only the follow-up of the success", left)
	}
	if h := history(t, s, stale.ID); len(h) != 1 || h[0] != "cancelled" {
		t.Errorf("the cancelled series should be in the history: %v", h)
	}
}

func TestRetryPutsTheCallBackWithItsHistory(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	c := newCall(time.Now().Add(-time.Second), "")
	c.Retry = store.Retry{MaxAttempts: 3, Backoff: time.Second, MaxBackoff: time.Minute}
	stored, err := s.Schedule(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	retryAt := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	now := time.Now()
	if _, err := s.Complete(ctx, "h", []store.Outcome{{ID: claimed[0].ID, Attempt: 1, Kind: abi.OutcomeFailed, Error: "flaky",
		StartedAt: now, FinishedAt: now, RetryAt: &retryAt}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClaimedBy != "" || !got.RunAt.Equal(retryAt) || got.Attempt != 1 || got.LastError != "flaky" {
		t.Errorf("call after a failed attempt = %+v", got)
	}
	if h := history(t, s, stored.ID); len(h) != 1 || h[0] != "failed:flaky" {
		t.Errorf("history = %v", h)
	}
}

func TestReapRecordsExpiredClaimsAsInterrupted(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	once := newCall(time.Now().Add(-time.Second), "")
	retried := newCall(time.Now().Add(-time.Second), "")
	retried.Retry = store.Retry{MaxAttempts: 2}
	stored, err := s.ScheduleBatch(ctx, []store.NewCall{once, retried})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "dead-host", 10, time.Millisecond, []string{"example"}); err != nil {
		t.Fatal(err)
	}
	waitForExpiredLeases(t, s, 2)
	n, err := s.Reap(ctx, "survivor", 100)
	if err != nil || n != 2 {
		t.Fatalf("reaped %d (%v), want 2", n, err)
	}
	if _, err := s.Get(ctx, stored[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a call without retries should leave the schedule: %v", err)
	}
	if h := history(t, s, stored[0].ID); len(h) != 1 || h[0][:len("interrupted")] != "interrupted" {
		t.Errorf("history = %v", h)
	}
	again, err := s.Get(ctx, stored[1].ID)
	if err != nil || again.ClaimedBy != "" || again.Attempt != 1 {
		t.Errorf("a call with retries left should wait again: %+v %v", again, err)
	}
	// The dead host comes back and reports: its claim is gone, nothing is recorded twice.
	now := time.Now()
	lost, err := s.Complete(ctx, "dead-host", []store.Outcome{{ID: stored[0].ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}})
	if err != nil || len(lost) != 1 {
		t.Errorf("late outcome: lost=%v err=%v, want it reported lost", lost, err)
	}
}

func TestCountUpTo(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 12, time.Now().Add(time.Hour), "")
	for limit, want := range map[int]int{5: 5, 12: 12, 1000: 12} {
		if n, err := s.CountUpTo(ctx, limit); err != nil || n != want {
			t.Errorf("CountUpTo(%d) = %d, %v; want %d", limit, n, err, want)
		}
	}
}

func TestScheduleNotifiesWhenDueSoon(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{NotifyWithin: time.Minute})
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+store.DueChannel); err != nil {
		t.Fatal(err)
	}
	scheduleN(t, s, 1, time.Now().Add(2*time.Hour), "") // not soon: no wake-up
	soon := time.Now().Add(time.Second)
	scheduleN(t, s, 1, soon, "")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Payload != fmt.Sprint(soon.UnixMilli()) {
		t.Errorf("payload %q, want %d (the soon call only)", n.Payload, soon.UnixMilli())
	}
}

func TestTrimHistoryAndCountIdentifier(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 3, time.Now().Add(time.Hour), "u")
	if n, err := s.CountIdentifier(ctx, "u"); err != nil || n != 3 {
		t.Fatalf("CountIdentifier = %d, %v; want 3", n, err)
	}
	if _, _, err := s.CancelIdentifier(ctx, "u", "api"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "UPDATE future_call_history SET finished_at = now() - interval '40 days' WHERE call_id = (SELECT min(call_id) FROM future_call_history)"); err != nil {
		t.Fatal(err)
	}
	n, err := s.TrimHistory(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("TrimHistory deleted %d (%v), want the 1 old row", n, err)
	}
	var left int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history").Scan(&left); err != nil || left != 2 {
		t.Errorf("%d history rows left (%v), want 2", left, err)
	}
}

func TestTrimHistoryDeletesEveryOldRowAcrossBatches(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	// 12,000 old rows over three instants, so that batches end inside a run of equal
	// finished_at, and 10 recent rows that stay.
	if _, err := s.Pool().Exec(ctx, `
		INSERT INTO future_call_history (call_id, plugin, method, args, scheduled_at, finished_at, attempt, outcome, host)
		SELECT i, 'p', 'm', '{}'::jsonb, now(), now() - interval '40 days' - (i % 3) * interval '1 hour', 1, 'succeeded', 'h'
		FROM generate_series(1, 12000) AS i
		UNION ALL
		SELECT i, 'p', 'm', '{}'::jsonb, now(), now(), 1, 'succeeded', 'h' FROM generate_series(1, 10) AS i`); err != nil {
		t.Fatal(err)
	}
	n, err := s.TrimHistory(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || n != 12000 {
		t.Fatalf("TrimHistory deleted %d (%v), want the 12000 old rows", n, err)
	}
	var left int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history").Scan(&left); err != nil || left != 10 {
		t.Errorf("%d history rows left (%v), want the 10 recent ones", left, err)
	}
}

func TestClaimTakesOnlyCallsOfTheGivenPlugins(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	mine := scheduleN(t, s, 2, time.Now().Add(-time.Minute), "")
	other := newCall(time.Now().Add(-time.Hour), "")
	other.Plugin = "elsewhere"
	if _, err := s.Schedule(ctx, other); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "h", 10, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 2 || claimed[0].ID != mine[0].ID {
		t.Fatalf("claimed %+v (%v), want the two calls of example only", claimed, err)
	}
	// The other plugin's overdue call does not count as due for this host.
	if _, ok, err := s.UntilNextDue(ctx, []string{"example"}); err != nil || ok {
		t.Errorf("UntilNextDue(example) = %v, %v; want nothing waiting", ok, err)
	}
	until, ok, err := s.UntilNextDue(ctx, []string{"example", "elsewhere"})
	if err != nil || !ok || until > -59*time.Minute || until < -61*time.Minute {
		t.Errorf("UntilNextDue = %v, %v, %v; want about -1h", until, ok, err)
	}
}
