package executor_test

import (
	"context"
	"encoding/json"
	"log/slog"
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

// BenchmarkStatePut measures what one fc.state_put costs a call end to end, claimed,
// run and recorded by an executor: b.N calls of state.put (one blind write of a new
// key, committed with the outcome) against b.N calls of noop.noop in the same run, on the same
// database and executor, in alternating rounds. put/noop is the ratio of their times
// per call.
func BenchmarkStatePut(b *testing.B) {
	s := testdb.Store(b, store.Options{MaxConns: 20})
	dir := testplugins.DirWith(b, testplugins.Path(b, "noop"), testplugins.Path(b, "state"))
	// Each call writes a new key (up to 65536 per instance): no key limit.
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(b), Defaults: plugin.Limits{StateKeyLimit: 1 << 30}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close(ctx) })
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		b.Fatal(err)
	}
	e := executor.New(executor.Options{Store: s, Catalog: cat, Plugins: cat, Metrics: metrics.New(prometheus.NewRegistry()),
		Host: "bench", Concurrency: 4, ScanInterval: 100 * time.Millisecond, Lease: time.Minute, ShutdownGrace: time.Second})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(runCtx) }()
	b.Cleanup(func() { cancel(); <-done })

	// run runs n calls of plugin.method and returns how long they took, from their
	// scheduling to the last outcome recorded.
	run := func(pluginName, method string, n int) time.Duration {
		calls := make([]store.NewCall, n)
		for i := range calls {
			calls[i] = store.NewCall{Plugin: pluginName, Method: method, Args: json.RawMessage("{}"), RunAt: time.Now()}
		}
		start := time.Now()
		for len(calls) > 0 {
			k := min(len(calls), 5000)
			if _, err := s.ScheduleBatch(ctx, calls[:k]); err != nil {
				b.Fatal(err)
			}
			calls = calls[k:]
		}
		for {
			var left int
			if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call").Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				return time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	// Rounds alternate, so that a change in the machine's load weighs on both alike.
	const rounds = 4
	var noop, put time.Duration
	for r := range rounds {
		n := b.N / rounds
		if r < b.N%rounds {
			n++ // every call of b.N runs once
		}
		if n > 0 {
			noop += run("noop", "noop", n)
			put += run("state", "put", n)
		}
	}
	noop, put = noop/time.Duration(b.N), put/time.Duration(b.N)
	var failed int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'").Scan(&failed); err != nil || failed != 0 {
		b.Fatalf("%d calls did not succeed (%v)", failed, err)
	}
	b.ReportMetric(float64(noop.Nanoseconds()), "noop-ns/call")
	b.ReportMetric(float64(put.Nanoseconds()), "put-ns/call")
	b.ReportMetric(float64(put)/float64(noop), "put/noop")
}
