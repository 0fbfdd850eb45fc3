package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var ctx = context.Background()

// rig is a database and the plugins the executors of a test share.
type rig struct {
	url     string
	store   *store.Store
	catalog *catalog.Catalog
}

func newRig(t testing.TB, limits plugin.Limits) *rig {
	t.Helper()
	return newRigAt(t, testdb.URL(t), limits)
}

// newRigAt is newRig on the database at url.
func newRigAt(t testing.TB, url string, limits plugin.Limits) *rig {
	t.Helper()
	s := openStore(t, url, time.Minute)
	dir := testplugins.DirWith(t, testplugins.Path(t, "probe"), testplugins.Path(t, "noop"), testplugins.Path(t, "state"),
		testplugins.Path(t, "thumbs"), testplugins.Path(t, "gallery"))
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(t), Defaults: limits}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(ctx) })
	if len(reg.Problems()) > 0 {
		t.Fatal(reg.Problems())
	}
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{url: url, store: s, catalog: cat}
}

func openStore(t testing.TB, url string, notifyWithin time.Duration) *store.Store {
	t.Helper()
	s, err := store.Open(ctx, url, store.Options{MaxConns: 20, NotifyWithin: notifyWithin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// start runs an executor as host until the test ends. Each executor has its own
// connection pool, as a separate host process would.
func (r *rig) start(t testing.TB, host string, opts executor.Options) {
	t.Helper()
	r.run(t, host, opts, false)
}

// startSignalled is start, with the executor's test signals switched on.
func (r *rig) startSignalled(t testing.TB, host string, opts executor.Options) *executor.Signals {
	t.Helper()
	return r.run(t, host, opts, true)
}

func (r *rig) run(t testing.TB, host string, opts executor.Options, signalled bool) *executor.Signals {
	t.Helper()
	if opts.Store == nil {
		opts.Store = openStore(t, r.url, time.Minute)
	}
	if opts.Catalog == nil {
		opts.Catalog = r.catalog
	}
	if opts.Plugins == nil {
		opts.Plugins = r.catalog
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(prometheus.NewRegistry())
	}
	opts.Host = host
	if opts.ScanInterval == 0 {
		opts.ScanInterval = 100 * time.Millisecond
	}
	if opts.Lease == 0 {
		opts.Lease = time.Minute
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	opts.ShutdownGrace = 5 * time.Second
	e := executor.New(opts)
	var signals *executor.Signals
	if signalled {
		signals = executor.EnableSignals(e)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(runCtx); err != nil {
			t.Errorf("executor %s: %v", host, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return signals
}

// nothingClaimed waits for three scans of each executor and fails the test if any
// claimed a call. The first may have started before the call: two at least start
// after it.
func nothingClaimed(t *testing.T, what string, executors ...*executor.Signals) {
	t.Helper()
	for i, s := range executors {
		for _, n := range s.Scans(t, 3) {
			if n != 0 {
				t.Errorf("%s: executor %d claimed %d calls", what, i, n)
			}
		}
	}
}

func (r *rig) schedule(t testing.TB, calls ...store.NewCall) []store.Call {
	t.Helper()
	stored, err := r.store.ScheduleBatch(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func probe(method, args string, at time.Time) store.NewCall {
	return store.NewCall{Plugin: "probe", Method: method, Args: json.RawMessage(args), RunAt: at}
}

// waitFor polls the database until query returns want, or fails the test.
func (r *rig) waitFor(t testing.TB, what string, want int, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got int
	for time.Now().Before(deadline) {
		if err := r.store.Pool().QueryRow(ctx, query, args...).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %d, want %d", what, got, want)
}

func (r *rig) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := r.store.Pool().QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTwoHostsRunEveryCallExactlyOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	const n = 2000
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = probe("record", fmt.Sprintf(`{"label":"%d"}`, i), time.Now())
	}
	r.schedule(t, calls...)
	r.start(t, "host-a", executor.Options{Concurrency: 4})
	r.start(t, "host-b", executor.Options{Concurrency: 4})

	// Each record call's effect is a follow-up echo call with its own identifier, which
	// runs too. Both must happen exactly once per label.
	r.waitFor(t, "echo calls run", n, "SELECT count(*) FROM future_call_history WHERE method = 'echo' AND outcome = 'succeeded'")
	r.waitFor(t, "calls left", 0, "SELECT count(*) FROM future_call")
	if dup := r.count(t, `SELECT count(*) FROM (SELECT identifier FROM future_call_history WHERE method = 'echo'
		GROUP BY identifier HAVING count(*) <> 1) d`); dup != 0 {
		t.Errorf("%d effects happened more than once", dup)
	}
	if distinct := r.count(t, "SELECT count(DISTINCT identifier) FROM future_call_history WHERE method = 'echo'"); distinct != n {
		t.Errorf("%d distinct effects, want %d", distinct, n)
	}
	if runs := r.count(t, "SELECT count(*) FROM future_call_history WHERE method = 'record' AND outcome = 'succeeded'"); runs != n {
		t.Errorf("%d record runs, want %d", runs, n)
	}
	if hosts := r.count(t, "SELECT count(DISTINCT host) FROM future_call_history"); hosts != 2 {
		t.Errorf("%d hosts ran calls, want both", hosts)
	}
}

// gauge wraps the real invoker and records the most calls running at once.
type gauge struct {
	executor.Invoker
	now, max atomic.Int64
}

func (g *gauge) Invoke(ctx context.Context, p string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	n := g.now.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			break
		}
	}
	defer g.now.Add(-1)
	return g.Invoker.Invoke(ctx, p, env, host, log)
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int
		calls       int
		sleepMS     int
		wantMax     int64
	}{
		{"limit 1 (the default)", 1, 6, 300, 1},
		{"limit 3", 3, 12, 300, 3},
		// Long calls, so that all have started before the first ends.
		{"unlimited", -1, 16, 3000, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, plugin.Limits{})
			calls := make([]store.NewCall, tt.calls)
			for i := range calls {
				calls[i] = probe("sleep", fmt.Sprintf(`{"ms":%d}`, tt.sleepMS), time.Now())
			}
			r.schedule(t, calls...)
			g := &gauge{Invoker: r.catalog}
			r.start(t, "h", executor.Options{Concurrency: tt.concurrency, Plugins: g})
			r.waitFor(t, "finished", tt.calls, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'")
			if got := g.max.Load(); got != tt.wantMax {
				t.Errorf("at most %d calls ran at once, want %d", got, tt.wantMax)
			}
		})
	}
}

func TestACallDueBeforeTheNextScanWakesTheExecutor(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	// The scan interval is a minute: only the wake-up can start the call in time.
	signals := r.startSignalled(t, "h", executor.Options{ScanInterval: time.Minute, Store: openStore(t, r.url, time.Minute)})
	signals.Scanned(t) // the executor is idle, waiting for its next scan
	runAt := time.Now().Add(500 * time.Millisecond)
	call := r.schedule(t, probe("echo", `{"text":"soon"}`, runAt))[0]
	r.waitFor(t, "ran", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1", call.ID)
	var lateness time.Duration
	if err := r.store.Pool().QueryRow(ctx, "SELECT (extract(epoch FROM started_at - scheduled_at) * 1e9)::bigint FROM future_call_history WHERE call_id = $1", call.ID).Scan(&lateness); err != nil {
		t.Fatal(err)
	}
	if lateness < 0 || lateness > 10*time.Second {
		t.Errorf("started %v after its run time: it waited for a scan instead of waking up", lateness)
	}
}

func TestRetriesBackOffAndStopAtMaxAttempts(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	c := probe("fail", `{"message":"flaky"}`, time.Now())
	c.Retry = store.Retry{MaxAttempts: 3, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	call := r.schedule(t, c)[0]
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "attempts", 3, "SELECT count(*) FROM future_call_history WHERE call_id = $1", call.ID)
	r.waitFor(t, "calls left", 0, "SELECT count(*) FROM future_call")

	rows, err := r.store.Pool().Query(ctx, `SELECT attempt, outcome, error, started_at, finished_at, retry_at
		FROM future_call_history WHERE call_id = $1 ORDER BY attempt`, call.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prevFinished time.Time
	var prevRetry *time.Time
	for i := 1; rows.Next(); i++ {
		var attempt int
		var outcome abi.Outcome
		var msg string
		var started, finished time.Time
		var retryAt *time.Time
		if err := rows.Scan(&attempt, &outcome, &msg, &started, &finished, &retryAt); err != nil {
			t.Fatal(err)
		}
		if attempt != i || outcome != abi.OutcomeFailed || msg != "failed: flaky" {
			t.Errorf("attempt %d: %d %s %q", i, attempt, outcome, msg)
		}
		if (retryAt == nil) != (i == 3) {
			t.Errorf("attempt %d: retry_at %v; only the last attempt has none", i, retryAt)
		}
		if prevRetry != nil {
			if started.Before(*prevRetry) {
				t.Errorf("attempt %d started at %v, before its retry time %v", i, started, *prevRetry)
			}
			// Backoff 100 ms then 200 ms, each ±25 %.
			gap := prevRetry.Sub(prevFinished)
			want := 100 * time.Millisecond << (i - 2)
			if gap < want*3/4 || gap > want*5/4 {
				t.Errorf("backoff before attempt %d = %v, want %v ±25%%", i, gap, want)
			}
		}
		prevFinished, prevRetry = finished, retryAt
	}
}

func TestExpiredClaimIsRecordedAsInterruptedOrRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	once := probe("echo", `{"text":"once"}`, time.Now().Add(-time.Second))
	again := probe("echo", `{"text":"again"}`, time.Now().Add(-time.Second))
	again.Retry = store.Retry{MaxAttempts: 2}
	stored := r.schedule(t, once, again)
	// A host claims both and dies: its 50 ms lease runs out with no outcome.
	if claimed, err := r.store.Claim(ctx, "dead-host", 10, 50*time.Millisecond, []string{"probe"}); err != nil || len(claimed) != 2 {
		t.Fatal(claimed, err)
	}
	r.start(t, "survivor", executor.Options{})
	r.waitFor(t, "interrupted", 2, "SELECT count(*) FROM future_call_history WHERE outcome = 'interrupted'")
	r.waitFor(t, "retried and succeeded", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'succeeded' AND attempt = 2", stored[1].ID)
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE call_id = $1", stored[0].ID); n != 1 {
		t.Errorf("the call without retries has %d history rows, want only its interruption", n)
	}
	r.waitFor(t, "calls left", 0, "SELECT count(*) FROM future_call")
}

func TestFollowUpsOfAFailingCallNeverAppear(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	followUp := `{"method":"echo","args":{"text":"ghost"},"identifier":"ghost","delay":"1h"}`
	kept := `{"method":"echo","args":{"text":"kept"},"identifier":"kept","delay":"1h"}`
	r.schedule(t,
		probe("scheduleThenFail", `{"request":`+followUp+`}`, time.Now()),
		probe("schedule", `{"request":`+kept+`}`, time.Now()))
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "finished", 2, "SELECT count(*) FROM future_call_history")
	if n := r.count(t, "SELECT count(*) FROM future_call WHERE identifier = 'ghost'"); n != 0 {
		t.Errorf("the failing call's follow-up was stored")
	}
	if n := r.count(t, "SELECT count(*) FROM future_call WHERE identifier = 'kept' AND run_at > now() + interval '50 minutes'"); n != 1 {
		t.Errorf("the succeeding call's follow-up: %d rows, want 1 due in an hour", n)
	}
}

func TestRecurringChainRunsExactlyNTimes(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	c := probe("chain", `{"left":4}`, time.Now())
	c.Identifier = "series"
	r.schedule(t, c)
	a := r.startSignalled(t, "a", executor.Options{})
	b := r.startSignalled(t, "b", executor.Options{})
	r.waitFor(t, "chain runs", 5, "SELECT count(*) FROM future_call_history WHERE method = 'chain' AND outcome = 'succeeded' AND identifier = 'series'")
	r.waitFor(t, "calls left", 0, "SELECT count(*) FROM future_call")
	nothingClaimed(t, "after the fifth run", a, b) // a sixth run would be claimed by now
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE method = 'chain'"); n != 5 {
		t.Errorf("chain ran %d times, want 5", n)
	}
}

func TestRefusedFollowUpsAndBrokenCalls(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	stored := r.schedule(t,
		// fc.schedule refuses arguments that do not fit: the call fails with the reason.
		probe("schedule", `{"request":{"method":"echo","args":{"text":7}}}`, time.Now()),
		// A misspelt field is refused, not read as "run now".
		probe("schedule", `{"request":{"method":"echo","args":{"text":"x"},"dealy":"1h"}}`, time.Now()),
		// A call whose plugin this host does not have waits for a host that has it (a
		// rolling deploy must not destroy calls); the start-up check reports it.
		store.NewCall{Plugin: "gone", Method: "x", Args: json.RawMessage(`{}`), RunAt: time.Now(), Retry: store.Retry{MaxAttempts: 3}},
		// Arguments that no longer fit the signature: broken, guest code never runs.
		probe("echo", `{"txt":"old name"}`, time.Now()),
	)
	signals := r.startSignalled(t, "h", executor.Options{})
	r.waitFor(t, "finished", 3, "SELECT count(*) FROM future_call_history")
	want := map[int64]abi.Outcome{stored[0].ID: abi.OutcomeFailed, stored[1].ID: abi.OutcomeFailed, stored[3].ID: abi.OutcomeBroken}
	for id, outcome := range want {
		var got abi.Outcome
		var msg string
		if err := r.store.Pool().QueryRow(ctx, "SELECT outcome, error FROM future_call_history WHERE call_id = $1", id).Scan(&got, &msg); err != nil {
			t.Fatal(err)
		}
		if got != outcome {
			t.Errorf("call %d: %s (%s), want %s", id, got, msg, outcome)
		}
		t.Logf("call %d: %s: %s", id, got, msg)
	}
	nothingClaimed(t, "the missing plugin's call", signals) // it stays
	left, _, err := r.store.List(ctx, store.Filter{}, store.Page{})
	if err != nil || len(left) != 1 || left[0].ID != stored[2].ID || left[0].ClaimedBy != "" || left[0].Attempt != 0 {
		t.Errorf("calls left = %+v (%v): want only the missing plugin's call, never claimed; a failed follow-up request must not be stored", left, err)
	}
}

func TestShutdownInterruptsCallsBeyondTheGrace(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	call := r.schedule(t, probe("busy", `{"ms":20000}`, time.Now()))[0]
	s := openStore(t, r.url, time.Minute)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	inv := &started{Invoker: r.catalog, ch: make(chan int64, 1)}
	e := executor.New(executor.Options{Store: s, Catalog: r.catalog, Plugins: inv, Metrics: metrics.New(prometheus.NewRegistry()),
		Host: "h", Concurrency: 1, ScanInterval: 50 * time.Millisecond, Lease: time.Minute, ShutdownGrace: 200 * time.Millisecond})
	signals := executor.EnableSignals(e)
	go func() {
		defer close(done)
		_ = e.Run(runCtx)
	}()
	if claimed := signals.Claimed(t); len(claimed) != 1 || claimed[0].ID != call.ID {
		t.Fatalf("claimed %+v, want the busy call", claimed)
	}
	<-inv.ch // a call claimed and not started would be handed back instead
	cancel() // the call has started: it runs until the grace is over
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its grace period")
	}
	var outcome abi.Outcome
	if err := r.store.Pool().QueryRow(ctx, "SELECT outcome FROM future_call_history WHERE call_id = $1", call.ID).Scan(&outcome); err != nil {
		t.Fatalf("no history for the interrupted call: %v", err)
	}
	if outcome != abi.OutcomeInterrupted {
		t.Errorf("outcome %s, want interrupted", outcome)
	}
	if n := r.count(t, "SELECT count(*) FROM future_call WHERE claimed_by IS NOT NULL"); n != 0 {
		t.Errorf("%d calls left claimed by a stopped host", n)
	}
}

func TestIntervalSeriesRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	start := time.Now().Add(200 * time.Millisecond).Truncate(time.Microsecond) // as stored
	c := probe("echo", `{"text":"tick"}`, start)
	c.Identifier = "ticks"
	c.Series = &store.Series{Every: time.Second, Anchor: start}
	r.schedule(t, c)
	a := r.startSignalled(t, "a", executor.Options{})
	b := r.startSignalled(t, "b", executor.Options{})
	r.waitFor(t, "occurrences", 3, "SELECT least(count(*), 3) FROM future_call_history WHERE identifier = 'ticks' AND outcome = 'succeeded'")
	if _, _, err := r.store.CancelIdentifier(ctx, "ticks", "test"); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "waiting occurrences", 0, "SELECT count(*) FROM future_call")
	ran := r.count(t, "SELECT count(*) FROM future_call_history WHERE identifier = 'ticks' AND outcome = 'succeeded'")
	// The schedule is empty, claimed occurrences included: an occurrence leaves it in
	// the transaction that inserts its successor, so none can come. The executors keep
	// scanning and find nothing.
	nothingClaimed(t, "the cancelled series", a, b)
	if n := r.count(t, "SELECT count(*) FROM future_call"); n != 0 {
		t.Errorf("%d occurrences of the cancelled series scheduled", n)
	}
	if again := r.count(t, "SELECT count(*) FROM future_call_history WHERE identifier = 'ticks' AND outcome = 'succeeded'"); again != ran {
		t.Errorf("the cancelled series ran %d more times", again-ran)
	}
	// Every occurrence ran on the anchor's grid, once.
	rows, err := r.store.Pool().Query(ctx, "SELECT scheduled_at FROM future_call_history WHERE identifier = 'ticks' AND outcome = 'succeeded' ORDER BY scheduled_at")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		if off := at.Sub(start) % time.Second; off.Abs() > time.Millisecond {
			t.Errorf("occurrence at %v is off the anchor's grid by %v", at, off)
		}
		if !prev.IsZero() && !at.After(prev) {
			t.Errorf("occurrence at %v ran twice", at)
		}
		prev = at
	}
}

func TestAPluginSchedulesARecurringCall(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	req := `{"method":"echo","args":{"text":"nightly"},"cron":"0 3 * * *","timezone":"Asia/Tokyo","identifier":"nightly"}`
	noID := `{"method":"echo","args":{"text":"x"},"every":"1h"}`
	stored := r.schedule(t, probe("schedule", `{"request":`+req+`}`, time.Now()), probe("schedule", `{"request":`+noID+`}`, time.Now()))
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "finished", 2, "SELECT count(*) FROM future_call_history")
	calls, _, err := r.store.List(ctx, store.Filter{Identifier: "nightly"}, store.Page{})
	if err != nil || len(calls) != 1 || calls[0].Series == nil || calls[0].Series.Cron != "0 3 * * *" || calls[0].Series.TimeZone != "Asia/Tokyo" {
		t.Fatalf("series scheduled by the plugin: %+v (%v)", calls, err)
	}
	if h := calls[0].RunAt.In(time.FixedZone("JST", 9*3600)); h.Hour() != 3 || h.Minute() != 0 {
		t.Errorf("next run %v is not 03:00 in Tokyo", calls[0].RunAt)
	}
	var outcome abi.Outcome
	var msg string
	if err := r.store.Pool().QueryRow(ctx, "SELECT outcome, error FROM future_call_history WHERE call_id = $1", stored[1].ID).Scan(&outcome, &msg); err != nil {
		t.Fatal(err)
	}
	if outcome != abi.OutcomeFailed || !strings.Contains(msg, `needs an "identifier"`) {
		t.Errorf("a recurring follow-up without identifier: %s: %s", outcome, msg)
	}
}
