package store_test

import (
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// TestReapFindsAnExpiredClaimBehindABacklog: a host dies holding the newest due call
// while 25,000 older due calls wait for a plugin no host has loaded. Each reap examines
// a bounded part of the due calls, yet the sweep reaches the dead host's call within
// the few reaps the backlog's size calls for, and calls stored for the future are
// never in the way.
func TestReapFindsAnExpiredClaimBehindABacklog(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	if _, err := s.Pool().Exec(ctx, `
		INSERT INTO future_call (plugin, method, args, run_at)
		SELECT 'unloaded', 'work', '{}', now() - interval '1 hour' + i * interval '1 millisecond'
		FROM generate_series(1, 25000) AS i`); err != nil {
		t.Fatal(err)
	}
	scheduleN(t, s, 100, time.Now().Add(time.Hour), "")
	dying, err := s.Schedule(ctx, newCall(time.Now().Add(-time.Millisecond), ""))
	if err != nil {
		t.Fatal(err)
	}
	if claimed, err := s.Claim(ctx, "dead-host", 1, time.Millisecond, []string{"example"}); err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v (%v), want the dying call", claimed, err)
	}
	waitForExpiredLeases(t, s, 1)
	reaps := 0
	for reaped := 0; reaped == 0; reaps++ {
		if reaps == 3 { // ceil(25,001 due calls / 10,000 a reap)
			t.Fatalf("no expired claim found in %d reaps", reaps)
		}
		if reaped, err = s.Reap(ctx, "survivor", 100); err != nil {
			t.Fatal(err)
		}
	}
	if h := history(t, s, dying.ID); len(h) != 1 || h[0][:len("interrupted")] != "interrupted" {
		t.Errorf("history of the dead host's call = %v, want it interrupted", h)
	}
	// The sweep goes on from the oldest: a host dying now is found as quickly.
	if _, err := s.Claim(ctx, "unloaded-host", 1, time.Millisecond, []string{"unloaded"}); err != nil {
		t.Fatal(err)
	}
	waitForExpiredLeases(t, s, 1)
	for reaped := 0; reaped == 0; reaps++ {
		if reaps == 6 {
			t.Fatalf("the oldest call's expired claim not found in %d reaps", reaps)
		}
		if reaped, err = s.Reap(ctx, "survivor", 100); err != nil {
			t.Fatal(err)
		}
	}
}
