package store_test

import (
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// A released claim leaves the call as it was before the claim: due, unclaimed, at its
// attempt; a claim the host no longer holds at that attempt is left alone.
func TestReleaseRestoresTheClaimedAttempt(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	for range 2 {
		if _, err := s.Schedule(ctx, newCall(time.Now().Add(-time.Second), "")); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := s.Claim(ctx, "h", 2, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	a := store.Attempt{ID: claimed[0].ID, Attempt: claimed[0].Attempt}
	b := store.Attempt{ID: claimed[1].ID, Attempt: claimed[1].Attempt}
	stale := store.Attempt{ID: b.ID, Attempt: b.Attempt + 1}
	if n, err := s.Release(ctx, "other-host", []store.Attempt{a}); err != nil || n != 0 {
		t.Fatalf("another host released %d claims (%v), want none", n, err)
	}
	if n, err := s.Release(ctx, "h", []store.Attempt{a, stale}); err != nil || n != 1 {
		t.Fatalf("released %d claims (%v), want the one held at its attempt", n, err)
	}
	again, err := s.Claim(ctx, "h2", 2, time.Minute, []string{"example"})
	if err != nil || len(again) != 1 || again[0].ID != a.ID || again[0].Attempt != 1 {
		t.Fatalf("claim after release: %+v %v, want call %d as attempt 1", again, err, a.ID)
	}
	var history int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history").Scan(&history); err != nil || history != 0 {
		t.Fatalf("%d history rows after a release (%v), want none", history, err)
	}
}
