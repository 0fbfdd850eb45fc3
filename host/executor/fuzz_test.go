package executor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// FuzzFollowUp is FuzzSchedule of the REST API for the other way in: a plugin's
// fc.schedule request, random bytes. The host either refuses it as invalid (fc.schedule
// returns -1, never -3: the request's content is no host error) or keeps it; the call
// that made it then succeeds with its follow-up stored, arguments that fit their
// signature, or (when the database refuses what the checks let through) fails with the
// reason. Its outcome is recorded either way, never lost to an interruption. The seed
// corpus is in testdata/fuzz/FuzzFollowUp.
func FuzzFollowUp(f *testing.F) {
	ctx := context.Background()
	s := testdb.Store(f, store.Options{})
	// The plugins of the API's FuzzSchedule, whose seeds this target shares in shape.
	dir := testplugins.DirWith(f, testplugins.Path(f, "probe"), testplugins.Example(f, "example"), testplugins.Example(f, "drip"))
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(f)}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = reg.Close(ctx) })
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		f.Fatal(err)
	}
	e := New(Options{Store: s, Catalog: cat, Metrics: metrics.New(prometheus.NewRegistry()), Host: "fuzz",
		Lease: time.Minute, Logger: slog.New(slog.DiscardHandler)})

	f.Add([]byte(`{"method": "echo", "args": {"text": "hi"}, "delay": "1h", "identifier": "x"}`))
	f.Fuzz(func(t *testing.T, request []byte) {
		parents, err := s.ScheduleBatch(ctx, []store.NewCall{{Plugin: "probe", Method: "echo",
			Args: json.RawMessage(`{"text": "parent"}`), RunAt: time.Now().Add(-time.Second)}})
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := s.Claim(ctx, "fuzz", 1, time.Minute, []string{"probe"})
		if err != nil || len(claimed) != 1 || claimed[0].ID != parents[0].ID {
			t.Fatalf("claim the parent call: %v %v", claimed, err)
		}
		parent := claimed[0]
		h := &effects{e: e, call: parent}
		if err := h.Schedule(ctx, request); err != nil && !errors.Is(err, plugin.ErrInvalidRequest) {
			t.Fatalf("fc.schedule(%q) failed as a host error (-3), want it refused as invalid (-1) or kept: %v", request, err)
		}
		now := time.Now()
		e.record([]store.Outcome{{ID: parent.ID, Attempt: parent.Attempt, Kind: abi.OutcomeSucceeded,
			StartedAt: now, FinishedAt: now, Effects: h.list}})

		var outcome abi.Outcome
		var reason string
		if err := s.Pool().QueryRow(ctx, `SELECT outcome, coalesce(error, '') FROM future_call_history WHERE call_id = $1`,
			parent.ID).Scan(&outcome, &reason); err != nil {
			t.Fatalf("the outcome of the call that asked %q was not recorded: %v", request, err)
		}
		var stored []store.Call
		rows, err := s.Pool().Query(ctx, `SELECT id FROM future_call`)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			c, err := s.Get(ctx, id)
			if err != nil {
				t.Fatalf("read back follow-up %d: %v", id, err)
			}
			stored = append(stored, c)
		}
		switch {
		case outcome == abi.OutcomeSucceeded && len(stored) != len(h.list):
			t.Fatalf("the call succeeded with %d follow-ups kept, %d stored", len(h.list), len(stored))
		case outcome == abi.OutcomeFailed && (len(h.list) == 0 || len(stored) != 0 || reason == ""):
			t.Fatalf("the call failed (%q) with %d follow-ups kept, %d stored", reason, len(h.list), len(stored))
		case outcome != abi.OutcomeSucceeded && outcome != abi.OutcomeFailed:
			t.Fatalf("the call that asked %q ended %s: %s", request, outcome, reason)
		}
		for _, c := range stored {
			sig, _, err := cat.Method(c.Plugin, c.Method)
			if err != nil {
				t.Fatalf("stored follow-up %s.%s: %v", c.Plugin, c.Method, err)
			}
			if err := sig.Validate(c.Args); err != nil {
				t.Fatalf("stored follow-up %d: its arguments %s do not fit: %v", c.ID, c.Args, err)
			}
			if c.RunAt.Location() != time.UTC {
				t.Fatalf("stored follow-up %d: run time %v not in UTC", c.ID, c.RunAt)
			}
		}
		if _, err := s.Pool().Exec(ctx, `DELETE FROM future_call`); err != nil {
			t.Fatal(err)
		}
	})
}
