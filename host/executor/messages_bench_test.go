package executor_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// BenchmarkPublishToDelivery publishes 200 messages to "image.uploaded" (three
// subscribers: gallery in C, probe in Go, thumbs in WAT), one every 10 ms, as POST
// /v1/messages does (request.PrepareMessage, store.Publish), to a running executor
// (concurrency 8, scan interval 5 s: deliveries are woken by notification). It
// reports the latency from each message's commit to the start of each of its
// deliveries (the history's started_at − the message's created_at). Run it with
// -benchtime 1x.
func BenchmarkPublishToDelivery(b *testing.B) {
	const n = 200
	for b.Loop() {
		r := newRig(b, plugin.Limits{})
		r.start(b, "h", executor.Options{Concurrency: 8, ScanInterval: 5 * time.Second})
		payload := json.RawMessage(`{"imageId": 7, "path": "in/7.png"}`)
		for i := range n {
			r.publish(b, abi.PublishRequest{Topic: "image.uploaded", Payload: payload, Identifier: fmt.Sprintf("latency-%d", i)})
			time.Sleep(10 * time.Millisecond)
		}
		r.waitFor(b, "deliveries run", 3*n, "SELECT count(*) FROM future_call_history WHERE identifier LIKE 'latency-%'")
		all := r.durations(b, `SELECT extract(epoch FROM h.started_at - m.created_at) * 1e6
			FROM future_call_history h JOIN message_delivery d ON d.call_id = h.call_id JOIN message m ON m.id = d.message_id`)
		b.ReportMetric(float64(percentile(all, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
	}
}

// BenchmarkBurstLateness measures the lateness of a no-op plugin's calls, due every
// 20 ms for a second, while a burst of 300 slow probe calls (20 ms each) is due, with
// and without probe limited to 2 at once; the baseline is the same no-op calls just
// before the burst. Host concurrency 8. Run it with -benchtime 1x.
func BenchmarkBurstLateness(b *testing.B) {
	for _, c := range []struct {
		name      string
		throttles map[string]executor.Throttle
	}{{"unthrottled", nil}, {"probe-concurrency-2", map[string]executor.Throttle{"probe": {Concurrency: 2}}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r := newRig(b, plugin.Limits{})
				r.start(b, "h", executor.Options{Concurrency: 8, ScanInterval: 50 * time.Millisecond, Throttles: c.throttles})
				baseline := r.noopLateness(b, "baseline", 20*time.Millisecond, time.Second)
				calls := make([]store.NewCall, 300)
				for i := range calls {
					calls[i] = probe("sleep", `{"ms": 20}`, time.Now())
				}
				r.schedule(b, calls...)
				during := r.noopLateness(b, "during", 20*time.Millisecond, time.Second)
				b.ReportMetric(float64(percentile(baseline, 0.99).Microseconds())/1000, "baseline-p99-ms")
				b.ReportMetric(float64(percentile(during, 0.5).Microseconds())/1000, "burst-p50-ms")
				b.ReportMetric(float64(percentile(during, 0.99).Microseconds())/1000, "burst-p99-ms")
			}
		})
	}
}

// durations reads one column of microseconds, sorted.
func (r *rig) durations(t testing.TB, query string, args ...any) []time.Duration {
	t.Helper()
	rows, err := r.store.Pool().Query(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var micros float64
		if err := rows.Scan(&micros); err != nil {
			t.Fatal(err)
		}
		out = append(out, time.Duration(micros)*time.Microsecond)
	}
	slices.Sort(out)
	return out
}
