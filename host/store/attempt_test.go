package store_test

import (
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// reapWhenExpired reaps until the expired claims of n calls are found, on the
// database's clock; it fails the test when they never are.
func reapWhenExpired(t *testing.T, s *store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	reaped := 0
	for reaped < n && time.Now().Before(deadline) {
		got, err := s.Reap(ctx, "survivor", 100)
		if err != nil {
			t.Fatal(err)
		}
		reaped += got
	}
	if reaped != n {
		t.Fatalf("reaped %d expired claims, want %d", reaped, n)
	}
}

func TestAStaleAttemptCommitsNothing(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	c := newCall(time.Now().Add(-time.Second), "")
	c.Retry = store.Retry{MaxAttempts: 3}
	stored, err := s.Schedule(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Claim(ctx, "h", 1, 10*time.Millisecond, []string{"example"})
	if err != nil || len(first) != 1 || first[0].Attempt != 1 {
		t.Fatalf("first claim: %+v %v", first, err)
	}
	reapWhenExpired(t, s, 1)
	second, err := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	if err != nil || len(second) != 1 || second[0].Attempt != 2 {
		t.Fatalf("second claim: %+v %v", second, err)
	}

	// Both attempts' outcomes arrive in one batch, the stale one first.
	now := time.Now()
	staleFollowUp := newCall(now.Add(time.Hour), "from-attempt-1")
	liveFollowUp := newCall(now.Add(time.Hour), "from-attempt-2")
	lost, err := s.Complete(ctx, "h", []store.Outcome{
		{ID: stored.ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now,
			Effects: []store.Effect{{Schedule: &staleFollowUp}}},
		{ID: stored.ID, Attempt: 2, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now,
			Effects: []store.Effect{{Schedule: &liveFollowUp}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Attempt{ID: stored.ID, Attempt: 1}); len(lost) != 1 || lost[0] != want {
		t.Errorf("lost = %v, want only %v", lost, want)
	}
	left := waiting(t, s)
	if len(left) != 1 || left[0].Identifier != "from-attempt-2" {
		t.Errorf("waiting calls = %+v, want only the follow-up of attempt 2", left)
	}
	if h := history(t, s, stored.ID); len(h) != 2 || h[1] != "succeeded" {
		t.Errorf("history = %v, want the reaped attempt 1, then attempt 2's success", h)
	}
}

func TestRenewKeepsAClaimFromTheReaper(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	stored := scheduleN(t, s, 2, time.Now().Add(-time.Second), "")
	claimed, err := s.Claim(ctx, "h", 2, 10*time.Millisecond, []string{"example"})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	renewed, err := s.Renew(ctx, "h", []int64{stored[0].ID}, time.Hour)
	if want := (store.Attempt{ID: stored[0].ID, Attempt: 1}); err != nil || len(renewed) != 1 || renewed[0] != want {
		t.Fatalf("Renew = %v, %v; want %v", renewed, err, want)
	}
	if renewed, err := s.Renew(ctx, "other-host", []int64{stored[1].ID}, time.Hour); err != nil || len(renewed) != 0 {
		t.Fatalf("another host renewed h's claim: %v, %v", renewed, err)
	}
	reapWhenExpired(t, s, 1) // the call not renewed
	if c, err := s.Get(ctx, stored[0].ID); err != nil || c.ClaimedBy != "h" {
		t.Errorf("the renewed call = %+v, %v; want it still claimed by h", c, err)
	}
	if h := history(t, s, stored[1].ID); len(h) != 1 || h[0][:len("interrupted")] != "interrupted" {
		t.Errorf("history of the call not renewed = %v, want interrupted", h)
	}
	// A reaped claim is not renewed.
	if renewed, err := s.Renew(ctx, "h", []int64{stored[1].ID}, time.Hour); err != nil || len(renewed) != 0 {
		t.Errorf("Renew of a reaped claim = %v, %v; want nothing renewed", renewed, err)
	}
}
