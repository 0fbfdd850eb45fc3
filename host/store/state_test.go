package store_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// claimOne schedules a call of plugin, due now, and claims it as host h.
func claimOne(t *testing.T, s *store.Store, plugin string, retry store.Retry) store.Call {
	t.Helper()
	c := newCall(time.Now().Add(-time.Second), "")
	c.Plugin, c.Retry = plugin, retry
	if _, err := s.Schedule(ctx, c); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "h", 1, time.Minute, []string{plugin})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	return claimed[0]
}

// success is the successful outcome of c with state.
func success(c store.Call, state *store.StateCommit) store.Outcome {
	now := time.Now()
	return store.Outcome{ID: c.ID, Attempt: c.Attempt, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now, State: state}
}

func put(key, value string) store.StateWrite { return store.StateWrite{Key: key, Value: []byte(value)} }

// stateOf reads plugin's value of key, "" when it has none.
func stateOf(t *testing.T, s *store.Store, plugin, key string) (string, int64) {
	t.Helper()
	v, version, err := s.StateGet(ctx, plugin, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v), version
}

func complete(t *testing.T, s *store.Store, outcomes ...store.Outcome) {
	t.Helper()
	if lost, err := s.Complete(ctx, "h", outcomes); err != nil || len(lost) != 0 {
		t.Fatalf("Complete: lost %v, %v", lost, err)
	}
}

// TestStateCommitsWithTheSuccess: writes apply when the outcome is recorded, each
// plugin has its own keys, a write gets a new version, a delete removes the key, and
// blind writes (of keys the call did not read) go in commit order.
func TestStateCommitsWithTheSuccess(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	a, b := claimOne(t, s, "alpha", store.Retry{}), claimOne(t, s, "beta", store.Retry{})
	complete(t, s,
		success(a, &store.StateCommit{Reads: map[string]int64{}, Writes: []store.StateWrite{put("k", "from alpha"), put("gone", "x")}}),
		success(b, &store.StateCommit{Reads: map[string]int64{"k": 0}, Writes: []store.StateWrite{put("k", "from beta")}}))
	va, versionA := stateOf(t, s, "alpha", "k")
	vb, versionB := stateOf(t, s, "beta", "k")
	if va != "from alpha" || vb != "from beta" || versionA == 0 || versionB == 0 || versionA == versionB {
		t.Fatalf("alpha k = %q (v%d), beta k = %q (v%d): want each plugin's own value, distinct versions", va, versionA, vb, versionB)
	}
	c := claimOne(t, s, "alpha", store.Retry{})
	complete(t, s, success(c, &store.StateCommit{Writes: []store.StateWrite{put("k", "last"), {Key: "gone", Delete: true}}}))
	if v, version := stateOf(t, s, "alpha", "k"); v != "last" || version <= versionA {
		t.Errorf("alpha k = %q (v%d) after a blind write, want last with a newer version than %d", v, version, versionA)
	}
	if _, version := stateOf(t, s, "alpha", "gone"); version != 0 {
		t.Error("alpha gone was deleted, but still has a value")
	}
	if n, err := s.StateKeys(ctx, "alpha"); err != nil || n != 1 {
		t.Errorf("alpha holds %d keys (%v), want 1", n, err)
	}
	if v, _ := stateOf(t, s, "beta", "k"); v != "from beta" {
		t.Errorf("beta k = %q, want it untouched by alpha", v)
	}
}

// TestStateConflict: a success whose read key was changed by another commit since is
// recorded as failed, with the key, and retried at its RetryAt, writing nothing; the
// same in one batch, where the earlier outcome's writes count.
func TestStateConflict(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	seed := claimOne(t, s, "p", store.Retry{})
	complete(t, s, success(seed, &store.StateCommit{Writes: []store.StateWrite{put("n", "1")}}))
	_, seen := stateOf(t, s, "p", "n")

	// Two calls read n at the same version; the first to commit wins.
	retry := store.Retry{MaxAttempts: 2, Backoff: time.Second, MaxBackoff: time.Second}
	first, second := claimOne(t, s, "p", retry), claimOne(t, s, "p", retry)
	retryAt := time.Now().Add(time.Hour)
	loser := &store.StateCommit{Reads: map[string]int64{"n": seen}, Writes: []store.StateWrite{put("n", "2 from second"), put("other", "x")}, RetryAt: &retryAt}
	complete(t, s,
		success(first, &store.StateCommit{Reads: map[string]int64{"n": seen}, Writes: []store.StateWrite{put("n", "2 from first")}}),
		success(second, loser))
	if v, _ := stateOf(t, s, "p", "n"); v != "2 from first" {
		t.Errorf("n = %q, want the first commit's", v)
	}
	if _, version := stateOf(t, s, "p", "other"); version != 0 {
		t.Error("the conflicting call's other write was applied")
	}
	if !strings.Contains(loser.Failed, `state conflict on key "n"`) {
		t.Errorf("Failed = %q, want the conflict on n", loser.Failed)
	}
	h := history(t, s, second.ID)
	if len(h) != 1 || !strings.HasPrefix(h[0], "failed") || !strings.Contains(h[0], `state conflict on key "n"`) {
		t.Errorf("history of the loser = %v, want failed with the conflict", h)
	}
	if c, err := s.Get(ctx, second.ID); err != nil || c.ClaimedBy != "" || c.RunAt.Sub(retryAt).Abs() > time.Millisecond {
		t.Errorf("the loser = %+v, %v; want it back in the schedule at its RetryAt %v", c, err, retryAt)
	}

	// A key read as absent conflicts once another call gives it a value.
	third, fourth := claimOne(t, s, "p", store.Retry{}), claimOne(t, s, "p", store.Retry{})
	complete(t, s, success(third, &store.StateCommit{Writes: []store.StateWrite{put("fresh", "third")}}))
	late := &store.StateCommit{Reads: map[string]int64{"fresh": 0}, Writes: []store.StateWrite{put("fresh", "fourth")}}
	complete(t, s, success(fourth, late))
	if v, _ := stateOf(t, s, "p", "fresh"); v != "third" || late.Failed == "" {
		t.Errorf("fresh = %q, Failed = %q; want third, and the late reader failed", v, late.Failed)
	}
	if h := history(t, s, fourth.ID); len(h) != 1 || !strings.HasPrefix(h[0], "failed") {
		t.Errorf("history = %v, want failed without a retry", h)
	}
}

// TestStateKeyLimit: writes that would bring a plugin over its key limit fail the call
// at commit and apply nothing; overwrites and deletes within it commit.
func TestStateKeyLimit(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	writes := func(n int) []store.StateWrite {
		var w []store.StateWrite
		for i := range n {
			w = append(w, put(fmt.Sprintf("k%02d", i), "v"))
		}
		return w
	}
	complete(t, s, success(claimOne(t, s, "p", store.Retry{}), &store.StateCommit{Writes: writes(3), KeyLimit: 3}))
	over := &store.StateCommit{Writes: writes(4), KeyLimit: 3}
	complete(t, s, success(claimOne(t, s, "p", store.Retry{}), over))
	if !strings.Contains(over.Failed, "state key limit") || !strings.Contains(over.Failed, "4 keys, over its limit of 3") {
		t.Errorf("Failed = %q, want the key limit", over.Failed)
	}
	if _, version := stateOf(t, s, "p", "k03"); version != 0 {
		t.Error("the call over the limit wrote k03")
	}
	// Replace one key by another: the count stays at 3.
	swap := &store.StateCommit{Writes: []store.StateWrite{{Key: "k00", Delete: true}, put("k01", "new"), put("k09", "v")}, KeyLimit: 3}
	complete(t, s, success(claimOne(t, s, "p", store.Retry{}), swap))
	if n, err := s.StateKeys(ctx, "p"); swap.Failed != "" || err != nil || n != 3 {
		t.Errorf("after a swap: %d keys (%v), Failed %q; want 3 keys", n, err, swap.Failed)
	}
}

// TestAStaleAttemptCommitsNoState: an attempt whose claim was reaped commits none of
// its writes, even with the next attempt of the same call holding the claim and
// recorded in the same batch.
func TestAStaleAttemptCommitsNoState(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	c := newCall(time.Now().Add(-time.Second), "")
	c.Retry = store.Retry{MaxAttempts: 3}
	if _, err := s.Schedule(ctx, c); err != nil {
		t.Fatal(err)
	}
	first, err := s.Claim(ctx, "h", 1, 10*time.Millisecond, []string{"example"})
	if err != nil || len(first) != 1 {
		t.Fatalf("first claim: %+v %v", first, err)
	}
	reapWhenExpired(t, s, 1)
	second, err := s.Claim(ctx, "h", 1, time.Minute, []string{"example"})
	if err != nil || len(second) != 1 || second[0].Attempt != 2 {
		t.Fatalf("second claim: %+v %v", second, err)
	}
	stale := &store.StateCommit{Writes: []store.StateWrite{put("k", "stale"), put("only-stale", "x")}}
	live := &store.StateCommit{Writes: []store.StateWrite{put("k", "live")}}
	lost, err := s.Complete(ctx, "h", []store.Outcome{success(first[0], stale), success(second[0], live)})
	if err != nil || len(lost) != 1 || lost[0].Attempt != 1 {
		t.Fatalf("Complete: lost %v, %v; want attempt 1", lost, err)
	}
	if v, _ := stateOf(t, s, "example", "k"); v != "live" {
		t.Errorf("k = %q, want live", v)
	}
	if _, version := stateOf(t, s, "example", "only-stale"); version != 0 {
		t.Error("the stale attempt wrote only-stale")
	}
}

// TestListState: pages in key order, bounded by rows and bytes, with a cursor, and a
// cursor of another listing is refused.
func TestListState(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	var writes []store.StateWrite
	for i := range 5 {
		writes = append(writes, put(fmt.Sprintf("key-%d", 4-i), strings.Repeat("v", 1000*(i+1))))
	}
	complete(t, s, success(claimOne(t, s, "p", store.Retry{}), &store.StateCommit{Writes: writes}))
	complete(t, s, success(claimOne(t, s, "other", store.Retry{}), &store.StateCommit{Writes: []store.StateWrite{put("key-0", "not p's")}}))

	var keys []string
	page := store.Page{Limit: 2}
	for pages := 0; ; pages++ {
		entries, next, err := s.ListState(ctx, "p", page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			keys = append(keys, e.Key)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3 of at most 2", pages+1)
			}
			break
		}
		page.Cursor = next
	}
	if got := strings.Join(keys, ","); got != "key-0,key-1,key-2,key-3,key-4" {
		t.Errorf("keys = %s, want p's five in order", got)
	}
	// A 6000-byte budget holds key-0's value (5000 bytes as base64 would be 6667: alone).
	entries, next, err := s.ListState(ctx, "p", store.Page{MaxBytes: 6000})
	if err != nil || len(entries) != 1 || next == "" || len(entries[0].Value) != 5000 {
		t.Errorf("a small page: %d entries, next %q, %v; want the first alone, with a cursor", len(entries), next, err)
	}
	if _, _, err := s.ListState(ctx, "p", store.Page{Cursor: "bm90LWEtY3Vyc29y"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("a foreign cursor: %v, want ErrBadCursor", err)
	}
}

// FuzzStateKey: any key the host functions accept (abi.CheckStateKey) commits with any
// value, reads back byte for byte, and pages from a cursor made of it; anything else
// is what the host functions refuse. A made-up cursor is refused, never a crash.
func FuzzStateKey(f *testing.F) {
	s := testdb.Store(f, store.Options{})
	f.Add("user-42", []byte(`{"sent": true}`), "")
	f.Add("ключ/🔑 with spaces", []byte{0, 0xff}, "c2E")
	f.Add(strings.Repeat("k", 256), []byte{}, "not base64!")
	f.Add("a\x00b", []byte("x"), "cw")
	f.Fuzz(func(t *testing.T, key string, value []byte, cursor string) {
		if _, _, err := s.ListState(ctx, "fuzz", store.Page{Cursor: cursor}); err != nil && !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("cursor %q: %v, want a page or ErrBadCursor", cursor, err)
		}
		if abi.CheckStateKey(key) != nil {
			return
		}
		c := claimOne(t, s, "fuzz", store.Retry{})
		state := &store.StateCommit{Writes: []store.StateWrite{{Key: key, Value: value}}}
		complete(t, s, success(c, state))
		if state.Failed != "" {
			t.Fatalf("key %q: %s", key, state.Failed)
		}
		if got, version := stateOf(t, s, "fuzz", key); got != string(value) || version == 0 {
			t.Fatalf("key %q reads back %q (v%d), want %q", key, got, version, value)
		}
		entries, _, err := s.ListState(ctx, "fuzz", store.Page{Cursor: base64.RawURLEncoding.EncodeToString([]byte("s" + key))})
		if err != nil {
			t.Fatalf("a cursor at key %q: %v", key, err)
		}
		for _, e := range entries {
			if e.Key <= key {
				t.Fatalf("the page after %q holds %q", key, e.Key)
			}
		}
	})
}
