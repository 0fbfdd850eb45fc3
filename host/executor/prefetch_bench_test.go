package executor_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// BenchmarkPrefetch drains 20,000 due calls of the WAT no-op at concurrency 8, by an
// executor that claims no more than its free slots (Prefetch -1) and by one that
// prefetches (the default: as many calls as its concurrency), in alternating rounds on
// the same database, each executor started once the calls are stored. It reports each
// one's calls per second, from the executor's start to the last call recorded, and
// their ratio. Run it with -benchtime 1x (rounds are set by b.N: -benchtime 3x runs three).
func BenchmarkPrefetch(b *testing.B) {
	const n, concurrency = 20_000, 8
	r := newRig(b, plugin.Limits{})
	s, cat := r.store, r.catalog
	drain := func(prefetch int) time.Duration {
		calls := make([]store.NewCall, n)
		for i := range calls {
			calls[i] = store.NewCall{Plugin: "noop", Method: "noop", Args: json.RawMessage("{}"), RunAt: time.Now()}
		}
		for len(calls) > 0 {
			k := min(len(calls), 5000)
			if _, err := s.ScheduleBatch(ctx, calls[:k]); err != nil {
				b.Fatal(err)
			}
			calls = calls[k:]
		}
		e := executor.New(executor.Options{Store: s, Catalog: cat, Plugins: cat, Metrics: metrics.New(prometheus.NewRegistry()),
			Host: "bench", Concurrency: concurrency, Prefetch: prefetch, ScanInterval: time.Second, Lease: time.Minute,
			ShutdownGrace: time.Second})
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); _ = e.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		for {
			var left int
			if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call").Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				return time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var without, with time.Duration
	for b.Loop() {
		without += drain(-1)
		with += drain(0)
	}
	var failed int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'").Scan(&failed); err != nil || failed != 0 {
		b.Fatalf("%d calls did not succeed (%v)", failed, err)
	}
	rate := func(d time.Duration) float64 { return float64(b.N*n) / d.Seconds() }
	b.ReportMetric(rate(without), "no-prefetch-calls/s")
	b.ReportMetric(rate(with), "prefetch-calls/s")
	b.ReportMetric(float64(without)/float64(with), "prefetch/no-prefetch")
	b.ReportMetric(0, "ns/op")
}
