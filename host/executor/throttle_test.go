package executor_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

// noopLateness runs noop calls due every interval for d while the executor runs, and
// returns their lateness (start minus due), sorted, once all have run.
func (r *rig) noopLateness(t testing.TB, identifier string, every, d time.Duration) []time.Duration {
	t.Helper()
	var calls []store.NewCall
	start := time.Now().Add(100 * time.Millisecond)
	for at := start; at.Before(start.Add(d)); at = at.Add(every) {
		calls = append(calls, store.NewCall{Plugin: "noop", Method: "noop", RunAt: at, Identifier: identifier})
	}
	r.schedule(t, calls...)
	r.waitFor(t, identifier+" calls run", len(calls), "SELECT count(*) FROM future_call_history WHERE identifier = $1", identifier)
	return r.durations(t, `SELECT extract(epoch FROM started_at - scheduled_at) * 1e6
		FROM future_call_history WHERE identifier = $1`, identifier)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// TestAThrottledPluginDrainsAtItsLimit: a burst of messages to a slow subscriber
// (probe.sleep, subscribed to "work.slow"), probe limited to 2 at once, while noop calls
// keep coming due. Every delivery runs exactly once, never more than 2 at a time, and
// the burst drains at about its limit; noop's lateness stays near what it is without
// the burst.
func TestAThrottledPluginDrainsAtItsLimit(t *testing.T) {
	r := newRig(t, plugin.Limits{})
	// make soak (E2E_SOAK) runs the burst of 10,000, each delivery shorter so
	// that it drains within the rig's minute.
	burst, sleepMS := 300, 20
	if os.Getenv("E2E_SOAK") != "" {
		burst, sleepMS = 10000, 5
	}
	opts := executor.Options{Concurrency: 8, ScanInterval: 50 * time.Millisecond,
		Throttles: map[string]executor.Throttle{"probe": {Concurrency: 2}}}
	r.start(t, "h", opts)

	baseline := r.noopLateness(t, "baseline", 20*time.Millisecond, 2*time.Second)

	msgs := make([]store.NewMessage, burst)
	for i := range msgs {
		var err error
		msgs[i], err = request.PrepareMessage(r.catalog, abi.PublishRequest{Topic: "work.slow",
			Payload: json.RawMessage(fmt.Sprintf(`{"ms": %d}`, sleepMS))}, "api", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.store.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	during := r.noopLateness(t, "during", 20*time.Millisecond, 2*time.Second)
	r.waitFor(t, "burst drained", burst, "SELECT count(*) FROM future_call_history WHERE plugin = 'probe'")

	if n := r.count(t, `SELECT count(*) FROM message_delivery d WHERE d.plugin = 'probe'
		AND (SELECT count(*) FROM future_call_history h WHERE h.call_id = d.call_id AND h.outcome = 'succeeded') = 1`); n != burst {
		t.Errorf("%d deliveries succeeded once, want each of %d", n, burst)
	}
	// The most probe calls running at once, from the history's intervals.
	most := r.count(t, `SELECT max(n) FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n FROM (
			SELECT started_at AS t, 1 AS d FROM future_call_history WHERE plugin = 'probe'
			UNION ALL SELECT finished_at, -1 FROM future_call_history WHERE plugin = 'probe') e) x`)
	var seconds float64
	if err := r.store.Pool().QueryRow(ctx, `SELECT extract(epoch FROM max(finished_at) - min(started_at))
		FROM future_call_history WHERE plugin = 'probe'`).Scan(&seconds); err != nil {
		t.Fatal(err)
	}
	rate, limit := float64(burst)/seconds, 2*1000.0/float64(sleepMS)
	t.Logf("burst of %d messages to probe.sleep(%d ms) at concurrency 2: drained in %.2fs (%.0f calls/s, limit %.0f/s), at most %d running",
		burst, sleepMS, seconds, rate, limit, most)
	t.Logf("noop lateness without the burst: p50 %v p99 %v max %v; during it: p50 %v p99 %v max %v (%d calls each)",
		percentile(baseline, 0.5), percentile(baseline, 0.99), baseline[len(baseline)-1],
		percentile(during, 0.5), percentile(during, 0.99), during[len(during)-1], len(during))
	if most > 2 {
		t.Errorf("%d probe calls ran at once, want at most 2", most)
	}
	if rate > limit*1.1 {
		t.Errorf("the burst drained at %.0f calls/s, faster than 2 at a time allows", rate)
	}
	if bound := max(10*percentile(baseline, 0.99), 500*time.Millisecond); percentile(during, 0.99) > bound {
		t.Errorf("noop's p99 lateness during the burst is %v, more than %v", percentile(during, 0.99), bound)
	}
}

// TestARateLimitedPluginStartsAtItsRate: 60 calls of a plugin limited to 40 per second
// with a burst of 5 take at least (60-5)/40 s to start.
func TestARateLimitedPluginStartsAtItsRate(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	const n = 60
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = store.NewCall{Plugin: "noop", Method: "noop", RunAt: time.Now()}
	}
	r.schedule(t, calls...)
	r.start(t, "h", executor.Options{Concurrency: 8, Throttles: map[string]executor.Throttle{"noop": {Rate: 40, Burst: 5}}})
	r.waitFor(t, "calls run", n, "SELECT count(*) FROM future_call_history")
	var seconds float64
	if err := r.store.Pool().QueryRow(ctx, `SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM future_call_history`).Scan(&seconds); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls at 40/s, burst 5: started over %.2fs", n, seconds)
	if min := float64(n-5) / 40 * 0.9; seconds < min {
		t.Errorf("the calls started over %.2fs, faster than the rate allows (%.2fs)", seconds, min)
	}
}
