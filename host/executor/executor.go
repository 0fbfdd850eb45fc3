// Package executor runs due calls. It claims them from the store in batches
// (FOR UPDATE SKIP LOCKED, so hosts sharing the database split the work and a call runs
// once across all of them), runs each in its plugin's sandbox, and records every
// outcome in the history.
//
// Under a concurrency limit it claims a little ahead: up to Options.Prefetch calls
// beyond its running ones wait in a queue for a free slot, so that the next batch is
// claimed while the current one runs and a slot that frees does not wait for a round
// trip to the database. A prefetched call is claimed like a running one: its attempt
// is counted and its lease is held and renewed by the heartbeat, so no other host runs
// it meanwhile. When Run ends, the prefetched calls that never started are handed back
// (Store.Release): unclaimed, their attempt restored, no history row, and other hosts
// woken to claim them at once. If the host dies with calls prefetched, nothing hands
// them back: like its running calls, they are found when their lease runs out and
// recorded as interrupted (a history row names the host), then retried if their policy
// has attempts left. A worker does not start a prefetched call whose lease ran out
// while it waited (the heartbeat could not reach the database), since another host may
// have reaped it. So a prefetched call is never run twice; it costs at most one attempt,
// visibly, as a call the host had started would. A throttled plugin's calls
// are never prefetched: they are claimed only into slots free to start them at once,
// within the plugin's room. The outcomes waiting to be recorded hold back the start of
// prefetched calls as they hold back claims (Options.UnrecordedBytes).
//
// It wakes up every scan interval, and also when a call is due sooner: a timer follows
// the earliest due call it knows of, and PostgreSQL LISTEN/NOTIFY tells it of calls
// scheduled by any host. A call scheduled a second ahead therefore starts on time, not
// at the next scan.
//
// Guarantees: a call is run at most once unless its retry policy asks for more
// attempts. A failed attempt is recorded and, with attempts left, retried after an
// exponential backoff with jitter. The follow-up calls and cancellations a call asks
// for (fc.schedule, fc.cancel) and its writes to its plugin's state (fc.state_put,
// fc.state_delete) are committed in the same transaction as its success, and dropped
// if it fails; a success whose state writes conflict with another call's is recorded
// as failed, and retried by its policy. A call claimed by a host that died is found when its lease
// runs out, and recorded as interrupted (or retried, if it has attempts left). While
// this host lives, a heartbeat renews the leases of the calls it runs and of the
// outcomes it has yet to record, so a long database outage does not turn finished calls
// into interrupted ones.
//
// A call's path through the package, a file per step: claim.go (the loop that claims
// due calls), work.go (the workers), run.go (one call in its sandbox, with effects.go
// serving its fc.schedule and fc.cancel and state.go its fc.state_*), complete.go
// (outcomes recorded in batches, state committed with them). Beside it: listen.go (wake-ups by NOTIFY), heartbeat.go (leases renewed) and
// maintain.go (expired claims reaped, history trimmed).
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package executor

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

// Invoker runs one call in a plugin's sandbox; host/catalog implements it over the plugin
// registry.
type Invoker interface {
	// Names lists the plugins this host can run: it claims only their calls, and leaves
	// the others to hosts that have them. It is asked before every claim, since
	// plugins come and go as they are reloaded.
	Names() []string
	// Invoke runs env's method in the named plugin, with host serving the call's
	// fc.schedule and fc.cancel requests. It returns the plugin version the call ran
	// on, and nil on success.
	Invoke(ctx context.Context, plugin string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error)
	// Classify names the outcome of a failed Invoke: abi.OutcomeFailed,
	// OutcomeTimedOut, OutcomeInterrupted or OutcomeBroken.
	Classify(err error) abi.Outcome
	// Limits returns the named plugin's limits (zero when it is not loaded): the
	// executor applies the key limit of its state when a call's writes commit.
	Limits(plugin string) plugin.Limits
}

// Options configure an Executor.
type Options struct {
	Store   *store.Store
	Catalog request.Catalog
	Plugins Invoker
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Host identifies this host in claims and in the history.
	Host string
	// Concurrency caps the calls running at once; negative means unlimited.
	Concurrency int
	// Prefetch is how many claimed calls may wait for a free slot beyond the
	// Concurrency running ones, so that claims overlap with running calls. Negative
	// means none: claims no more than the free slots. Unused when Concurrency is
	// unlimited, where every claimed call starts at once. Defaults to Concurrency.
	Prefetch int
	// ScanInterval is the time between scans for due calls.
	ScanInterval time.Duration
	// Lease is how long a claim holds: longer than any call's time limit, so that a
	// claim outliving it means the host died.
	Lease time.Duration
	// ShutdownGrace is how long running calls may finish once Run's context ends.
	ShutdownGrace time.Duration
	// HistoryRetention is how long history rows are kept; 0 keeps them.
	HistoryRetention time.Duration
	// Throttles limit the calls of some plugins on this host, by plugin name.
	Throttles map[string]Throttle
	// UnrecordedBytes caps the memory of the outcomes waiting to be recorded (their
	// follow-ups' arguments, mostly): past it, claims wait for the completer. 0 means
	// DefaultUnrecordedBytes.
	UnrecordedBytes int64
}

// unlimitedBatch caps one claim when concurrency is unlimited.
const unlimitedBatch = 256

// maxBatch caps the outcomes recorded in one statement, and maxUnrecorded the outcomes
// waiting to be recorded: past it, claims wait for the completer, which at unlimited
// concurrency nothing else would make them do.
const (
	maxBatch      = 512
	maxUnrecorded = 2 * maxBatch
)

// claimTimeout bounds one claim statement.
const claimTimeout = 30 * time.Second

// idleWorker is how long a worker goroutine waits for another call before it exits.
const idleWorker = 5 * time.Second

// gatherWait is how long a saturated executor waits, once a slot is free, for the other
// slots to free before it claims: a moment, so that one claim fills them all.
const gatherWait = time.Millisecond

// Executor runs due calls. Create it with New and start it with Run.
type Executor struct {
	opts Options
	log  *slog.Logger
	// slots holds one token per claimed call not yet finished, running or waiting in
	// ready (Concurrency + prefetch of them); nil when unlimited.
	slots chan struct{}
	// prefetch is how many of the slots are for calls waiting to start.
	prefetch int
	// ready holds the claimed calls waiting for a worker under a concurrency limit;
	// nil when unlimited. workers counts the workers serving it.
	ready     chan store.Call
	workersMu sync.Mutex
	workers   int
	// wake is signalled when a call may be due before the timer: a notification,
	// a slot set free.
	wake chan struct{}
	// mu guards next.
	mu   sync.Mutex
	next time.Time // earliest due time heard of by notification
	done chan<- store.Outcome
	// jobs hands a claimed call to an idle worker when unlimited: a send succeeds
	// only when one waits.
	jobs chan store.Call
	// quit tells idle workers to exit once Run stops claiming.
	quit chan struct{}
	// unrecorded counts outcomes sent to the completer and not yet recorded, and
	// unrecordedBytes their size (outcomeBytes); held is set while claims wait for them
	// to fall under maxUnrecorded and Options.UnrecordedBytes.
	unrecorded      atomic.Int64
	unrecordedBytes atomic.Int64
	held            atomic.Bool
	// caughtUp is closed, and replaced, whenever outcomes leave the completer's
	// queue: a worker holding a prefetched call waits on it while the completer is
	// behind, as claims do.
	caughtUpMu sync.Mutex
	caughtUp   chan struct{}
	// leases are the claims this host holds, renewed by the heartbeat.
	leases *leases
	// throttles hold the running calls and rate limiters of the throttled plugins.
	throttles *throttles
	// testSignals are off but in tests.
	testSignals testSignals
}

// New creates an executor.
func New(opts Options) *Executor {
	e := &Executor{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), jobs: make(chan store.Call),
		quit: make(chan struct{}), caughtUp: make(chan struct{}), leases: newLeases(), throttles: newThrottles(opts.Throttles)}
	if e.opts.UnrecordedBytes <= 0 {
		e.opts.UnrecordedBytes = DefaultUnrecordedBytes
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency > 0 {
		e.prefetch = max(0, cmp.Or(opts.Prefetch, opts.Concurrency))
		e.slots = make(chan struct{}, opts.Concurrency+e.prefetch)
		e.ready = make(chan store.Call, opts.Concurrency+e.prefetch)
	}
	return e
}

// Run claims and runs due calls until ctx ends, then stops claiming, lets running calls
// finish within the shutdown grace, interrupts the rest, records every outcome and
// returns.
func (e *Executor) Run(ctx context.Context) error {
	// Calls run under their own context, cancelled only after the grace period.
	callCtx, interrupt := context.WithCancel(context.WithoutCancel(ctx))
	defer interrupt()

	outcomes := make(chan store.Outcome, maxUnrecorded)
	e.done = outcomes
	completerDone := make(chan struct{})
	go func() {
		defer close(completerDone)
		e.complete(outcomes)
	}()
	// The heartbeat outlives the claim loop: outcomes are recorded after it ends.
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		e.heartbeat(completerDone)
	}()

	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); e.listen(ctx) }()
	go func() { defer bg.Done(); e.maintain(ctx) }()

	var running sync.WaitGroup
	e.loop(ctx, callCtx, &running)
	close(e.quit)

	// Shutdown: no more claims, and the calls waiting for a slot go back. Give running
	// calls their grace, then interrupt them.
	e.handBack()
	finished := make(chan struct{})
	go func() { running.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.opts.ShutdownGrace):
		e.log.Warn("shutdown grace over: interrupting running calls", slog.Duration("grace", e.opts.ShutdownGrace))
		interrupt()
		<-finished
	}
	close(outcomes)
	<-completerDone
	<-heartbeatDone
	bg.Wait()
	return nil
}
