package executor_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// BenchmarkDueNow schedules calls of the WAT no-op due at once, through the store as
// the API does (an insert and its wake-up in one round trip), at a steady rate for 2 s,
// each from a goroutine of its own (open loop), to a running executor (scan interval
// 5 s: calls are found by notification), at concurrency 8 without and with prefetch
// (Options.Prefetch -1 and its default) and unlimited. It reports
// the latency from each call's scheduling to its start (the history's started_at −
// scheduled_at): bench P6 without the API, to tell the executor's share. Run it with
// -benchtime 1x.
func BenchmarkDueNow(b *testing.B) {
	for _, rate := range []int{200, 2000} {
		for _, v := range []struct {
			name                  string
			concurrency, prefetch int
		}{{"concurrency=8/no-prefetch", 8, -1}, {"concurrency=8/prefetch", 8, 0}, {"unlimited", -1, 0}} {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, v.name), func(b *testing.B) {
				for b.Loop() {
					r := newRig(b, plugin.Limits{})
					r.start(b, "h", executor.Options{Concurrency: v.concurrency, Prefetch: v.prefetch, ScanInterval: 5 * time.Second})
					n := 2 * rate
					tick := time.NewTicker(time.Second / time.Duration(rate))
					var wg sync.WaitGroup
					for i := range n {
						<-tick.C
						wg.Add(1)
						go func() {
							defer wg.Done()
							c := store.NewCall{Plugin: "noop", Method: "noop", Args: json.RawMessage("{}"), RunAt: time.Now(),
								Identifier: fmt.Sprint("due-", i)}
							if _, err := r.store.Schedule(ctx, c); err != nil {
								b.Error(err)
							}
						}()
					}
					tick.Stop()
					wg.Wait()
					r.waitFor(b, "calls run", n, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'")
					all := r.durations(b, "SELECT extract(epoch FROM started_at - scheduled_at) * 1e6 FROM future_call_history")
					b.ReportMetric(float64(percentile(all, 0.5).Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
				}
			})
		}
	}
}
