package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// finish claims every due call and records outcome for each.
func finish(t *testing.T, s *store.Store, outcome abi.Outcome) []store.Call {
	t.Helper()
	claimed, err := s.Claim(ctx, "h", 1000, time.Minute, []string{"example"})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := make([]store.Outcome, len(claimed))
	for i, c := range claimed {
		now := time.Now()
		outcomes[i] = store.Outcome{ID: c.ID, Attempt: c.Attempt, Kind: outcome, StartedAt: now, FinishedAt: now}
		if outcome != abi.OutcomeSucceeded {
			outcomes[i].Error = "boom"
		}
	}
	if lost, err := s.Complete(ctx, "h", outcomes); err != nil || len(lost) != 0 {
		t.Fatalf("complete: lost %v, %v", lost, err)
	}
	return claimed
}

func TestListHistoryPagesNewestFirst(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 95, time.Now().Add(-time.Hour), "x")
	finish(t, s, abi.OutcomeSucceeded)

	seen := map[int64]bool{}
	var lastID int64
	cursor, pages := "", 0
	for {
		entries, next, err := s.ListHistory(ctx, store.HistoryFilter{}, store.Page{Cursor: cursor, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, h := range entries {
			if seen[h.ID] {
				t.Fatalf("entry %d returned twice", h.ID)
			}
			if lastID != 0 && h.ID >= lastID {
				t.Fatalf("entry %d after %d: not newest first", h.ID, lastID)
			}
			if h.Outcome != abi.OutcomeSucceeded || h.Host != "h" || h.StartedAt == nil || h.Attempt != 1 ||
				h.FinishedAt.Location() != time.UTC || string(h.Args) != `{"data": "x"}` || h.Identifier != "x" {
				t.Fatalf("entry = %+v", h)
			}
			seen[h.ID], lastID = true, h.ID
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 95 || pages != 5 {
		t.Fatalf("saw %d entries in %d pages, want 95 in 5", len(seen), pages)
	}
	// Entries recorded while paging come before the first page, not in the middle.
	first, next, err := s.ListHistory(ctx, store.HistoryFilter{}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	scheduleN(t, s, 3, time.Now().Add(-time.Hour), "y")
	finish(t, s, abi.OutcomeFailed)
	second, _, err := s.ListHistory(ctx, store.HistoryFilter{}, store.Page{Cursor: next, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if second[0].ID != first[9].ID-1 {
		t.Errorf("second page starts at %d, want %d", second[0].ID, first[9].ID-1)
	}
}

func TestListHistoryFilters(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	past := time.Now().Add(-time.Hour)
	ran := scheduleN(t, s, 2, past, "ran")
	finish(t, s, abi.OutcomeFailed)
	c := newCall(time.Now().Add(time.Hour), "gone")
	c.Method = "doWork"
	cancelled, err := s.Schedule(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Now()
	if err := s.Cancel(ctx, cancelled.ID, "api-host"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		f    store.HistoryFilter
		want int
	}{
		{"all", store.HistoryFilter{}, 3},
		{"call", store.HistoryFilter{CallID: ran[1].ID}, 1},
		{"plugin", store.HistoryFilter{Plugin: "example"}, 3},
		{"other plugin", store.HistoryFilter{Plugin: "drip"}, 0},
		{"method", store.HistoryFilter{Method: "doWork"}, 1},
		{"identifier", store.HistoryFilter{Identifier: "ran"}, 2},
		{"outcome failed", store.HistoryFilter{Outcome: abi.OutcomeFailed}, 2},
		{"outcome cancelled", store.HistoryFilter{Outcome: abi.OutcomeCancelled, Identifier: "gone"}, 1},
		{"finished before", store.HistoryFilter{FinishedBefore: &mid}, 2},
		{"finished after", store.HistoryFilter{FinishedAfter: &mid}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.ListHistory(ctx, tc.f, store.Page{})
			if err != nil || next != "" {
				t.Fatalf("next %q, err %v", next, err)
			}
			if len(got) != tc.want {
				t.Errorf("%d entries, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
	got, _, err := s.ListHistory(ctx, store.HistoryFilter{Outcome: abi.OutcomeCancelled}, store.Page{})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if h := got[0]; h.CallID != cancelled.ID || h.Host != "api-host" || h.StartedAt != nil || h.Error != "" ||
		!h.ScheduledAt.Equal(cancelled.RunAt) || h.Method != "doWork" {
		t.Errorf("cancelled entry = %+v", h)
	}
}

func TestListHistoryRefusesForeignCursors(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 3, time.Now().Add(time.Hour), "")
	_, listCursor, err := s.List(ctx, store.Filter{}, store.Page{Limit: 1})
	if err != nil || listCursor == "" {
		t.Fatal(listCursor, err)
	}
	for _, c := range []string{listCursor, "garbage!", "aA", "aHg"} {
		if _, _, err := s.ListHistory(ctx, store.HistoryFilter{}, store.Page{Cursor: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
}
