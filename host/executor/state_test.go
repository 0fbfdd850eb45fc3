package executor_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

func stateCall(method string, retry store.Retry) store.NewCall {
	return store.NewCall{Plugin: "state", Method: method, Args: []byte("{}"), RunAt: time.Now(), Retry: retry}
}

// value reads the state plugin's committed value of key, "" when it has none.
func (r *rig) value(t *testing.T, key string) string {
	t.Helper()
	v, _, err := r.store.StateGet(ctx, "state", key)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// retries is a retry policy for calls that may lose to conflicts many times over.
var retries = store.Retry{MaxAttempts: 100, Backoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// TestConcurrentIncrementsAreNeverLost: 60 get-then-put increments of one counter, run
// 8 at a time by two hosts, end at 60: a call whose read was overtaken fails with a
// conflict and is retried, never commits a stale count.
func TestConcurrentIncrementsAreNeverLost(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	const n = 60
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = stateCall("incr", retries)
	}
	r.schedule(t, calls...)
	r.start(t, "a", executor.Options{Concurrency: 4})
	r.start(t, "b", executor.Options{Concurrency: 4})
	r.waitFor(t, "increments", n, "SELECT count(*) FROM future_call_history WHERE method = 'incr' AND outcome = 'succeeded'")
	if got := r.value(t, "counter"); got != "60" {
		t.Errorf("counter = %q after %d increments, want 60", got, n)
	}
	conflicts := r.count(t, "SELECT count(*) FROM future_call_history WHERE outcome = 'failed' AND error LIKE 'state conflict on key \"counter\"%'")
	others := r.count(t, "SELECT count(*) FROM future_call_history WHERE outcome = 'failed' AND error NOT LIKE 'state conflict%'")
	t.Logf("%d increments, %d attempts lost to conflicts, at most %d attempts for one", n, conflicts,
		r.count(t, "SELECT max(attempt) FROM future_call_history"))
	if others != 0 {
		t.Errorf("%d attempts failed for another reason than a conflict", others)
	}
}

// holdFirst runs calls for real, but holds the first attempt of call id after it ran
// (its writes buffered, its outcome not yet recorded) until release is closed.
type holdFirst struct {
	executor.Invoker
	id      int64
	ran     chan struct{}
	release chan struct{}
}

func (h *holdFirst) Invoke(ctx context.Context, p string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	version, err := h.Invoker.Invoke(ctx, p, env, host, log)
	if env.Call.ID == h.id && env.Call.Attempt == 1 {
		close(h.ran)
		<-h.release
	}
	return version, err
}

// TestAConflictFailsTheCallAndItsRetrySucceeds: a call that read the counter, held
// while another increment commits, fails with "state conflict on key" when it
// completes, counted as failed in the metrics, and its retry reads the new count.
func TestAConflictFailsTheCallAndItsRetrySucceeds(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	held := r.schedule(t, stateCall("incr", store.Retry{MaxAttempts: 2, Backoff: 10 * time.Millisecond, MaxBackoff: time.Second}))[0]
	h := &holdFirst{Invoker: r.catalog, id: held.ID, ran: make(chan struct{}), release: make(chan struct{})}
	m := metrics.New(prometheus.NewRegistry())
	r.start(t, "h", executor.Options{Concurrency: 2, Plugins: h, Metrics: m})
	<-h.ran
	other := r.schedule(t, stateCall("incr", store.Retry{}))[0]
	r.waitFor(t, "the other increment", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'succeeded'", other.ID)
	close(h.release)
	r.waitFor(t, "the held call's retry", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND attempt = 2 AND outcome = 'succeeded'", held.ID)

	var outcome, msg string
	if err := r.store.Pool().QueryRow(ctx, "SELECT outcome, error FROM future_call_history WHERE call_id = $1 AND attempt = 1", held.ID).
		Scan(&outcome, &msg); err != nil {
		t.Fatal(err)
	}
	if outcome != "failed" || !strings.HasPrefix(msg, `state conflict on key "counter"`) {
		t.Errorf("attempt 1: %s %q, want failed with the conflict on counter", outcome, msg)
	}
	if got := r.value(t, "counter"); got != "2" {
		t.Errorf("counter = %q, want 2", got)
	}
	failed, succeeded := incrOutcomes(t, m, "failed"), incrOutcomes(t, m, "succeeded")
	if failed != 1 || succeeded != 2 {
		t.Errorf("metrics: %v failed, %v succeeded; want the conflict counted as failed, and 2 successes", failed, succeeded)
	}
}

// incrOutcomes reads the outcome metric of state.incr for outcome.
func incrOutcomes(t *testing.T, m *metrics.Metrics, outcome string) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Outcomes.WithLabelValues("state", "incr", outcome).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

// TestWritesOfAFailedCallAreDropped: a call that writes and then fails leaves no
// trace in the state; a call's reads see its own writes; the state of a call refused
// over its limits has only what was accepted, with the call succeeding.
func TestWritesOfAFailedCallAreDropped(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	stored := r.schedule(t, stateCall("doomed", store.Retry{}), stateCall("own", store.Retry{}),
		stateCall("big", store.Retry{}), stateCall("wrong", store.Retry{}))
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "finished", len(stored), "SELECT count(*) FROM future_call_history")
	rows, err := r.store.Pool().Query(ctx, "SELECT method, outcome, coalesce(error, '') FROM future_call_history ORDER BY call_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]string{"doomed": "failed", "own": "succeeded", "big": "succeeded", "wrong": "succeeded"}
	for rows.Next() {
		var method, outcome, msg string
		if err := rows.Scan(&method, &outcome, &msg); err != nil {
			t.Fatal(err)
		}
		if outcome != want[method] {
			t.Errorf("%s: %s (%s), want %s", method, outcome, msg, want[method])
		}
	}
	if n := r.count(t, "SELECT count(*) FROM plugin_state"); n != 0 {
		t.Errorf("the state holds %d keys, want none: doomed failed, own deleted its key, the others were refused", n)
	}
}

// TestKeyLimitFailsTheCallAtCommit: a call whose writes would bring the plugin over
// sandbox.state.keyLimit fails when it commits, with the reason, and writes nothing;
// a call within the limit then commits.
func TestKeyLimitFailsTheCallAtCommit(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{StateKeyLimit: 10})
	many := r.schedule(t, stateCall("many", store.Retry{}))[0]
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "many", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'failed' AND error LIKE 'state key limit%'", many.ID)
	if n := r.count(t, "SELECT count(*) FROM plugin_state"); n != 0 {
		t.Errorf("%d keys written by the call over the limit", n)
	}
	incr := r.schedule(t, stateCall("incr", store.Retry{}))[0]
	r.waitFor(t, "incr", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'succeeded'", incr.ID)
	if got := r.value(t, "counter"); got != "1" {
		t.Errorf("counter = %q, want 1", got)
	}
}

// TestAReapedAttemptCommitsNoState: an attempt whose claim is reaped while it runs is
// retried by the call's next attempt; when the stale attempt finishes, its write is
// dropped, so the counter counts the call once.
func TestAReapedAttemptCommitsNoState(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	call := r.schedule(t, stateCall("incr", store.Retry{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}))[0]
	h := &holdFirst{Invoker: r.catalog, id: call.ID, ran: make(chan struct{}), release: make(chan struct{})}
	signals := r.startSignalled(t, "h", executor.Options{Concurrency: 2, Plugins: h})
	<-h.ran
	// The lease runs out as if the host had lost the database: the reaper takes the
	// claim over and the call's second attempt runs and commits.
	if _, err := r.store.Pool().Exec(ctx, "UPDATE future_call SET lease_until = now() - interval '1 second' WHERE id = $1", call.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := r.store.Reap(ctx, "reaper", 10); err != nil || n != 1 {
		t.Fatalf("Reap = %d, %v; want the held attempt reaped", n, err)
	}
	r.waitFor(t, "attempt 2", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND attempt = 2 AND outcome = 'succeeded'", call.ID)
	signals.Recorded(t) // attempt 2's outcome
	close(h.release)
	signals.Recorded(t) // the stale attempt's, lost
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE call_id = $1", call.ID); n != 2 {
		t.Errorf("%d history rows, want the reaper's and attempt 2's", n)
	}
	if got := r.value(t, "counter"); got != "1" {
		t.Errorf("counter = %q, want 1: the reaped attempt's write must not commit", got)
	}
}
