package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

func TestEachArgsReadsEveryCallOnceAcrossPages(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	// More than two pages of the walk, with arguments that differ per call.
	const n = 45_001
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = store.NewCall{Plugin: fmt.Sprintf("p%d", i%3), Method: fmt.Sprintf("m%d", i%7),
			Args: json.RawMessage(fmt.Sprintf(`{"n": %d, "s": "x\"%d"}`, i, i)), RunAt: time.Now().Add(time.Hour)}
	}
	stored, err := s.ScheduleBatch(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]store.Call{}
	for _, c := range stored {
		want[c.ID] = c
	}
	var ids []int64
	err = s.EachArgs(ctx, func(c store.CallArgs) error {
		w, ok := want[c.ID]
		switch {
		case !ok:
			return fmt.Errorf("unexpected call %d", c.ID)
		case string(c.Plugin) != w.Plugin || string(c.Method) != w.Method || string(c.Args) != string(w.Args):
			return fmt.Errorf("call %d = %s %s %s, want %s %s %s", c.ID, c.Plugin, c.Method, c.Args, w.Plugin, w.Method, w.Args)
		}
		ids = append(ids, c.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(ids)) != n {
		t.Errorf("read %d calls (sorted: %v), want each of %d once, in id order", len(ids), slices.IsSorted(ids), n)
	}
}

func TestEachArgsStopsAtTheCallbacksError(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	scheduleN(t, s, 10, time.Now(), "")
	stop := errors.New("stop")
	seen := 0
	err := s.EachArgs(ctx, func(store.CallArgs) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3 {
		t.Errorf("err = %v after %d calls, want %v after 3", err, seen, stop)
	}
}

func TestDeleteBrokenRecordsEachCallInTheHistory(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	stored := scheduleN(t, s, 2500, time.Now().Add(-time.Hour), "series")
	// The oldest call is being run by another host: it must stay.
	claimed, err := s.Claim(ctx, "runner", 1, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 1 || claimed[0].ID != stored[0].ID {
		t.Fatalf("claim = %v, %v: want call %d", claimed, err, stored[0].ID)
	}
	keep := stored[len(stored)-1]
	var broken []store.BrokenCall
	for _, c := range stored[:len(stored)-1] {
		broken = append(broken, store.BrokenCall{ID: c.ID, Reason: fmt.Sprintf("reason %d", c.ID)})
	}
	// A call that no longer exists and a duplicate are passed over.
	broken = append(broken, store.BrokenCall{ID: keep.ID + 1000, Reason: "gone"}, broken[5])

	removed, err := s.DeleteBroken(ctx, broken, "checker")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(stored) - 2); removed != want {
		t.Errorf("removed %d calls, want %d", removed, want)
	}
	left, err := s.CountUpTo(ctx, 10)
	if err != nil || left != 2 {
		t.Errorf("%d calls left (%v), want the claimed one and the one kept", left, err)
	}
	for _, id := range []int64{claimed[0].ID, keep.ID} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("call %d: %v, want it kept", id, err)
		}
	}

	var rows, distinct int
	err = s.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT call_id) FROM future_call_history
		WHERE outcome = 'deleted_broken' AND host = 'checker' AND error = 'reason ' || call_id
			AND plugin = 'example' AND method = 'doOtherWork' AND args = '{"data": "x"}' AND identifier = 'series'`).Scan(&rows, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if int64(rows) != removed || distinct != rows {
		t.Errorf("history has %d matching rows for %d calls, want one per removed call (%d)", rows, distinct, removed)
	}
	var total int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history").Scan(&total); err != nil || total != rows {
		t.Errorf("history has %d rows in all (%v), want %d", total, err, rows)
	}
	got := history(t, s, stored[1].ID)
	if want := []string{fmt.Sprintf("%s:reason %d", abi.OutcomeDeletedBroken, stored[1].ID)}; !slices.Equal(got, want) {
		t.Errorf("history of call %d = %v, want %v", stored[1].ID, got, want)
	}
}

func TestDeleteBrokenOfNothing(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	removed, err := s.DeleteBroken(ctx, nil, "checker")
	if err != nil || removed != 0 {
		t.Errorf("DeleteBroken(nil) = %d, %v; want 0, nil", removed, err)
	}
}
