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
// run and recorded by an executor: b.N calls of state.put (one blind write, committed
// with the outcome) against b.N calls of noop.noop in the same run, on the same
// database and executor. put/noop is the ratio of their times per call.
func BenchmarkStatePut(b *testing.B) {
	s := testdb.Store(b, store.Options{MaxConns: 20})
	dir := testplugins.DirWith(b, testplugins.Path(b, "noop"), testplugins.Path(b, "state"))
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(b)}, slog.New(slog.DiscardHandler))
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

	// perCall runs b.N calls of plugin.method and returns the time per call.
	perCall := func(pluginName, method string) time.Duration {
		calls := make([]store.NewCall, b.N)
		for i := range calls {
			calls[i] = store.NewCall{Plugin: pluginName, Method: method, Args: json.RawMessage("{}"), RunAt: time.Now()}
		}
		start := time.Now()
		for len(calls) > 0 {
			n := min(len(calls), 5000)
			if _, err := s.ScheduleBatch(ctx, calls[:n]); err != nil {
				b.Fatal(err)
			}
			calls = calls[n:]
		}
		for {
			var left int
			if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call").Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				return time.Since(start) / time.Duration(b.N)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	noop := perCall("noop", "noop")
	put := perCall("state", "put")
	var failed int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'").Scan(&failed); err != nil || failed != 0 {
		b.Fatalf("%d calls did not succeed (%v)", failed, err)
	}
	b.ReportMetric(float64(noop.Nanoseconds()), "noop-ns/call")
	b.ReportMetric(float64(put.Nanoseconds()), "put-ns/call")
	b.ReportMetric(float64(put)/float64(noop), "put/noop")
}
