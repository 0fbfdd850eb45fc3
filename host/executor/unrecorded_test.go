package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// counted counts the calls it starts.
type counted struct {
	executor.Invoker
	n atomic.Int64
}

func (c *counted) Invoke(ctx context.Context, p string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	c.n.Add(1)
	return c.Invoker.Invoke(ctx, p, env, host, log)
}

// TestClaimsWaitWhileUnrecordedOutcomesExceedTheirBytes blocks the recording of
// outcomes (the history is locked) and runs calls one at a time: calls whose
// follow-ups exceed Options.UnrecordedBytes hold further claims after the first
// outcome, small ones do not. Once the history is free again, every call is recorded
// with its follow-up.
func TestClaimsWaitWhileUnrecordedOutcomesExceedTheirBytes(t *testing.T) {
	t.Parallel()
	const n = 5
	const capBytes = 64 << 10
	big := strings.Repeat("x", 100<<10) // one follow-up's argument: more than the cap
	tests := []struct {
		name string
		call func(i int) store.NewCall
		// held: only the first call runs while its outcome cannot be recorded.
		held bool
	}{
		{"follow-ups larger than the cap", func(i int) store.NewCall {
			req, _ := json.Marshal(map[string]any{"request": abi.ScheduleRequest{Method: "echo",
				Args: json.RawMessage(fmt.Sprintf(`{"text": %q}`, big)), Identifier: fmt.Sprint("big-", i), Delay: "1h"}})
			return probe("schedule", string(req), time.Now())
		}, true},
		{"small outcomes", func(i int) store.NewCall { return probe("echo", `{"text":"small"}`, time.Now()) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, plugin.Limits{})
			calls := make([]store.NewCall, n)
			for i := range calls {
				calls[i] = tt.call(i)
			}
			r.schedule(t, calls...)

			// Hold the history: recording an outcome waits for this transaction.
			tx, err := r.store.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, "LOCK TABLE future_call_history IN EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			inv := &counted{Invoker: r.catalog}
			r.start(t, "h", executor.Options{Concurrency: 1, ScanInterval: 20 * time.Millisecond, Plugins: inv,
				UnrecordedBytes: capBytes})
			if tt.held {
				// The first outcome waits for the lock: then ten scans claim nothing.
				r.waitFor(t, "outcomes waiting for the history lock", 1, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO future_call_history%'`)
				time.Sleep(10 * 20 * time.Millisecond)
				if got := inv.n.Load(); got != 1 {
					t.Errorf("%d calls started while the first one's outcome (over the byte cap) was unrecorded, want 1", got)
				}
			} else {
				deadline := time.Now().Add(time.Minute)
				for inv.n.Load() < n && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if got := inv.n.Load(); got != n {
					t.Errorf("%d small calls started while outcomes were unrecorded, want all %d", got, n)
				}
			}
			if err := tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
				t.Fatal(err)
			}
			r.waitFor(t, "calls recorded", n, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'")
			if tt.held {
				r.waitFor(t, "follow-ups stored", n, "SELECT count(*) FROM future_call WHERE identifier LIKE 'big-%'")
			}
		})
	}
}
