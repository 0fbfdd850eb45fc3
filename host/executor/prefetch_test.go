package executor_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// started wraps the real invoker and tells when a call enters it.
type started struct {
	executor.Invoker
	ch chan int64
}

func (s *started) Invoke(ctx context.Context, p string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	s.ch <- env.Call.ID
	return s.Invoker.Invoke(ctx, p, env, host, log)
}

// A host with one slot claims the calls waiting for it too; stopped while the first
// runs, it hands the others back at once: another host, which would not scan for an
// hour, claims them as the same attempt, and the stopped host's history holds only the
// call it ran.
func TestPrefetchedCallsAreHandedBackOnShutdown(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	first := r.schedule(t, probe("sleep", `{"ms":1000}`, time.Now().Add(-time.Second)))[0]
	waiting := r.schedule(t, probe("echo", `{"text":"a"}`, time.Now()), probe("echo", `{"text":"b"}`, time.Now()),
		probe("echo", `{"text":"c"}`, time.Now()))

	inv := &started{Invoker: r.catalog, ch: make(chan int64, 4)}
	s := openStore(t, r.url, time.Minute)
	e := executor.New(executor.Options{Store: s, Catalog: r.catalog, Plugins: inv, Metrics: metrics.New(prometheus.NewRegistry()),
		Host: "host-a", Concurrency: 1, Prefetch: 3, ScanInterval: time.Hour, Lease: time.Minute, ShutdownGrace: 10 * time.Second})
	signals := executor.EnableSignals(e)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	if claimed := signals.Claimed(t); len(claimed) != 4 {
		t.Fatalf("host-a claimed %d calls, want its slot's and the 3 it may prefetch", len(claimed))
	}
	if id := <-inv.ch; id != first.ID {
		t.Fatalf("call %d started first, want the sleeping one, %d", id, first.ID)
	}

	other := r.startSignalled(t, "host-b", executor.Options{ScanInterval: time.Hour})
	if n := other.Scanned(t); n != 0 {
		t.Fatalf("host-b claimed %d calls while host-a held them", n)
	}
	cancel()
	claimed := other.Claimed(t)
	if len(claimed) != len(waiting) {
		t.Fatalf("host-b claimed %d calls, want the %d handed back", len(claimed), len(waiting))
	}
	for _, c := range claimed {
		if c.Attempt != 1 {
			t.Errorf("call %d claimed by host-b as attempt %d, want 1: a call handed back never started", c.ID, c.Attempt)
		}
	}
	<-done
	r.waitFor(t, "calls run", 4, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded' AND attempt = 1")
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE host = 'host-a'"); n != 1 {
		t.Errorf("host-a has %d history rows, want 1: the call it ran", n)
	}
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'succeeded' AND host = 'host-a'", first.ID); n != 1 {
		t.Errorf("the running call has %d successes by host-a, want 1", n)
	}
}

// A host that loses the database with calls prefetched (as if it died) cannot hand
// them back: their leases run out and another host records each as interrupted,
// naming the host, then retries the one whose policy allows it.
func TestPrefetchedCallsOfALostHostAreReapedVisibly(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	r.schedule(t, probe("sleep", `{"ms":3000}`, time.Now().Add(-time.Second)))
	once := probe("echo", `{"text":"once"}`, time.Now())
	again := probe("echo", `{"text":"again"}`, time.Now())
	again.Retry = store.Retry{MaxAttempts: 2}
	waiting := r.schedule(t, once, again)

	inv := &started{Invoker: r.catalog, ch: make(chan int64, 4)}
	lost := openStore(t, r.url, time.Minute)
	signals := r.startSignalled(t, "lost-host", executor.Options{Store: lost, Plugins: inv, Concurrency: 1, Prefetch: 2,
		ScanInterval: time.Hour, Lease: time.Second})
	if claimed := signals.Claimed(t); len(claimed) != 3 {
		t.Fatalf("claimed %d calls, want 3", len(claimed))
	}
	<-inv.ch
	lost.Close() // the database is gone for this host: no renewal, no hand-back

	r.start(t, "survivor", executor.Options{ScanInterval: 50 * time.Millisecond})
	for _, c := range waiting {
		var outcome abi.Outcome
		var msg string
		r.waitFor(t, "reaped", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND attempt = 1", c.ID)
		if err := r.store.Pool().QueryRow(ctx, "SELECT outcome, error FROM future_call_history WHERE call_id = $1 AND attempt = 1",
			c.ID).Scan(&outcome, &msg); err != nil {
			t.Fatal(err)
		}
		if outcome != abi.OutcomeInterrupted || !strings.Contains(msg, "lost-host") {
			t.Errorf("call %d: %s (%q), want interrupted, naming lost-host", c.ID, outcome, msg)
		}
	}
	r.waitFor(t, "retried", 1, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND attempt = 2 AND outcome = 'succeeded'", waiting[1].ID)
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE call_id = $1", waiting[0].ID); n != 1 {
		t.Errorf("the call without retries has %d history rows, want its interruption only", n)
	}
}
