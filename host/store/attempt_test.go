package store_test

import (
	"testing"
	"time"

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
		{ID: stored.ID, Attempt: 1, Kind: store.Succeeded, StartedAt: now, FinishedAt: now,
			Effects: []store.Effect{{Schedule: &staleFollowUp}}},
		{ID: stored.ID, Attempt: 2, Kind: store.Succeeded, StartedAt: now, FinishedAt: now,
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
