// Package executor runs due calls. It claims them from the store in batches no larger
// than its free concurrency slots (FOR UPDATE SKIP LOCKED, so hosts sharing the
// database split the work and a call runs once across all of them), runs each in its
// plugin's sandbox, and records every outcome in the history.
//
// It wakes up every scan interval, and also when a call is due sooner: a timer follows
// the earliest due call it knows of, and PostgreSQL LISTEN/NOTIFY tells it of calls
// scheduled by any host. A call scheduled a second ahead therefore starts on time, not
// at the next scan.
//
// Guarantees: a call is run at most once unless its retry policy asks for more
// attempts. A failed attempt is recorded and, with attempts left, retried after an
// exponential backoff with jitter. The follow-up calls and cancellations a call asks
// for (fc.schedule, fc.cancel) are committed in the same transaction as its success,
// and dropped if it fails. A call claimed by a host that died is found when its lease
// runs out, and recorded as interrupted (or retried, if it has attempts left). While
// this host lives, a heartbeat renews the leases of the calls it runs and of the
// outcomes it has yet to record, so a long database outage does not turn finished calls
// into interrupted ones.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
	// the others to hosts that have them.
	Names() []string
	// Invoke runs env's method in the named plugin, with host serving the call's
	// fc.schedule and fc.cancel requests. It returns nil on success.
	Invoke(ctx context.Context, plugin string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) error
	// Classify names the outcome of a failed Invoke: store.Failed, store.TimedOut,
	// store.Interrupted or store.Broken.
	Classify(err error) string
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
	// ScanInterval is the time between scans for due calls.
	ScanInterval time.Duration
	// Lease is how long a claim holds: longer than any call's time limit, so that a
	// claim outliving it means the host died.
	Lease time.Duration
	// ShutdownGrace is how long running calls may finish once Run's context ends.
	ShutdownGrace time.Duration
	// HistoryRetention is how long history rows are kept; 0 keeps them.
	HistoryRetention time.Duration
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
	// slots holds one token per running call; nil when unlimited.
	slots chan struct{}
	// wake is signalled when a call may be due before the timer: a notification,
	// a slot set free.
	wake chan struct{}
	// mu guards next.
	mu   sync.Mutex
	next time.Time // earliest due time heard of by notification
	done chan<- store.Outcome
	// jobs hands a claimed call to an idle worker: a send succeeds only when one waits.
	jobs chan store.Call
	// quit tells idle workers to exit once Run stops claiming.
	quit chan struct{}
	// plugins are the plugins whose calls this host claims.
	plugins []string
	// unrecorded counts outcomes sent to the completer and not yet recorded, and
	// unrecordedBytes their size (outcomeBytes); held is set while claims wait for them
	// to fall under maxUnrecorded and Options.UnrecordedBytes.
	unrecorded      atomic.Int64
	unrecordedBytes atomic.Int64
	held            atomic.Bool
	// leases are the claims this host holds, renewed by the heartbeat.
	leases *leases
}

// New creates an executor.
func New(opts Options) *Executor {
	e := &Executor{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), jobs: make(chan store.Call),
		quit: make(chan struct{}), leases: newLeases()}
	if e.opts.UnrecordedBytes <= 0 {
		e.opts.UnrecordedBytes = DefaultUnrecordedBytes
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency > 0 {
		e.slots = make(chan struct{}, opts.Concurrency)
	}
	if opts.Plugins != nil {
		e.plugins = opts.Plugins.Names()
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

	// Shutdown: no more claims. Give running calls their grace, then interrupt them.
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

// loop claims due calls whenever slots are free and calls are due, until ctx ends.
func (e *Executor) loop(ctx, callCtx context.Context, running *sync.WaitGroup) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var saturated bool        // the last claim filled every free slot: more calls are due
	var gatherUntil time.Time // while saturated, when to stop waiting for more free slots
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-e.wake:
		}
		// Saturated, slots free one by one as calls finish: a claim for each would
		// take a round trip per call or two. Wait a moment for the others instead.
		if saturated && e.slots != nil {
			if free := e.free(); free > 0 && free < cap(e.slots) {
				if gatherUntil.IsZero() {
					gatherUntil = time.Now().Add(gatherWait)
				}
				if d := time.Until(gatherUntil); d > 0 {
					resetTimer(timer, d)
					continue
				}
			}
		}
		gatherUntil = time.Time{}
		claimed, full := e.claim(ctx, callCtx, running)
		saturated = full
		if ctx.Err() != nil {
			return
		}
		wait := e.opts.ScanInterval
		switch {
		case full:
			// The batch was full: more calls may be due. Go again at once if there is
			// room, else once a slot frees or the completer catches up (both signal
			// wake).
			if e.free() > 0 {
				wait = 0
			}
		case claimed >= 0:
			if until, ok := e.untilNextDue(ctx); ok {
				wait = min(wait, max(until, time.Millisecond))
			}
		}
		resetTimer(timer, wait)
	}
}

// resetTimer makes t fire after d, whether or not it fired and was read before.
func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

// claim takes as many due calls as there are free slots and starts them. It returns
// how many it claimed (-1 on error) and whether the batch was full.
func (e *Executor) claim(ctx, callCtx context.Context, running *sync.WaitGroup) (int, bool) {
	free := e.free()
	if free == 0 {
		return 0, true
	}
	if ctx.Err() != nil {
		return 0, false
	}
	// A claim that commits must be seen through, even if Run's context ends meanwhile:
	// calls claimed and never started would wait for their lease and be lost.
	claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	before := time.Now() // the database's now() is later: the lease holds at least this long
	calls, err := e.opts.Store.Claim(claimCtx, e.opts.Host, free, e.opts.Lease, e.plugins)
	cancel()
	if err != nil {
		e.log.Error("claiming due calls failed; retrying at the next scan", slog.Any("error", err))
		return -1, false
	}
	e.leases.hold(calls, before.Add(e.opts.Lease))
	e.opts.Metrics.Claimed.Add(float64(len(calls)))
	for _, c := range calls {
		if e.slots != nil {
			e.slots <- struct{}{} // never blocks: we claimed no more than the free slots
		}
		e.start(callCtx, c, running)
	}
	return len(calls), len(calls) == free
}

// free is how many calls may be claimed now: as many as there are free slots (a batch
// when unlimited), or none while the completer is maxUnrecorded outcomes or
// Options.UnrecordedBytes behind.
func (e *Executor) free() int {
	if e.behind() {
		e.held.Store(true)
		// Look again: the completer may have caught up before it could see held.
		if e.behind() {
			return 0
		}
		e.held.Store(false)
	}
	if e.slots == nil {
		return unlimitedBatch
	}
	return cap(e.slots) - len(e.slots)
}

// behind reports whether the outcomes waiting to be recorded are too many or too big
// to claim more calls.
func (e *Executor) behind() bool {
	return e.unrecorded.Load() >= maxUnrecorded || e.unrecordedBytes.Load() >= e.opts.UnrecordedBytes
}

// start runs c on an idle worker, or on a new one when none is idle.
func (e *Executor) start(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	select {
	case e.jobs <- c:
	default:
		running.Add(1)
		go e.work(ctx, c, running)
	}
}

// work runs c, then the calls handed to it while it waits, until it has waited
// idleWorker or Run stops claiming. A worker keeps the stack it grew running guest
// code: with a new goroutine per call, copying growing stacks took a sixth of the
// host's CPU time.
func (e *Executor) work(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	defer running.Done()
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		o := e.run(ctx, c)
		e.unrecorded.Add(1)
		e.unrecordedBytes.Add(outcomeBytes(o))
		e.done <- o
		if e.slots != nil {
			<-e.slots
			e.signal()
		}
		idle.Reset(idleWorker)
		select {
		case c = <-e.jobs:
		case <-idle.C:
			return
		case <-e.quit:
			return
		}
	}
}

// untilNextDue returns how long until the earliest waiting call this host can run is
// due, from the store and from notifications.
func (e *Executor) untilNextDue(ctx context.Context) (time.Duration, bool) {
	wait, ok, err := e.opts.Store.UntilNextDue(ctx, e.plugins)
	if err != nil {
		return 0, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.next.IsZero() {
		if heard := time.Until(e.next); !ok || heard < wait {
			wait, ok = heard, true
		}
	}
	e.next = time.Time{}
	return wait, ok
}

// signal wakes the loop without blocking.
func (e *Executor) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// notified handles a wake-up notification carrying a run time in Unix milliseconds.
func (e *Executor) notified(payload string) {
	ms, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		e.signal()
		return
	}
	at := time.UnixMilli(ms)
	if time.Until(at) > e.opts.ScanInterval {
		return // the regular scan will find it
	}
	e.mu.Lock()
	if e.next.IsZero() || at.Before(e.next) {
		e.next = at
	}
	e.mu.Unlock()
	e.signal()
}

// run runs one claimed call and returns its outcome.
func (e *Executor) run(ctx context.Context, c store.Call) store.Outcome {
	started := time.Now()
	o := store.Outcome{ID: c.ID, Attempt: c.Attempt, StartedAt: started}
	m := e.opts.Metrics
	m.Lateness.WithLabelValues(c.Plugin).Observe(started.Sub(c.RunAt).Seconds())
	host := &effects{e: e, call: c}
	env := abi.Envelope{Method: c.Method, Args: c.Args, Call: abi.CallInfo{ID: c.ID, Plugin: c.Plugin,
		ScheduledAt: c.RunAt, Identifier: c.Identifier, Attempt: c.Attempt, MaxAttempts: c.Retry.MaxAttempts}}
	m.Running.WithLabelValues(c.Plugin).Inc()
	err := e.opts.Plugins.Invoke(ctx, c.Plugin, env, host, e.log)
	m.Running.WithLabelValues(c.Plugin).Dec()
	o.FinishedAt = time.Now()
	m.Duration.WithLabelValues(c.Plugin, c.Method).Observe(o.FinishedAt.Sub(started).Seconds())

	if err == nil {
		o.Kind, o.Effects = store.Succeeded, host.list
	} else {
		// The plugin checks the arguments against its current signature first: a
		// newer version dropped in since the call was scheduled fails it as broken,
		// without running guest code. A broken call is not retried.
		o.Kind, o.Error = e.opts.Plugins.Classify(err), err.Error()
		if c.Attempt < c.Retry.MaxAttempts && o.Kind != store.Broken {
			at := o.FinishedAt.Add(backoff(c.Retry, c.Attempt))
			o.RetryAt = &at
		}
		e.log.Warn("call failed", slog.String("plugin", c.Plugin), slog.String("method", c.Method),
			slog.Int64("call", c.ID), slog.Int("attempt", c.Attempt), slog.String("outcome", o.Kind), slog.String("error", o.Error),
			slog.Bool("retry", o.RetryAt != nil))
	}
	m.Outcomes.WithLabelValues(c.Plugin, c.Method, o.Kind).Inc()
	return o
}

// backoff is the wait before the attempt after attempt n: Backoff·2^(n-1), capped at
// MaxBackoff, with ±25 % jitter.
func backoff(r store.Retry, n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff)
	jitter := time.Duration((rand.Float64()*0.5 - 0.25) * float64(d))
	return d + jitter
}

// complete records outcomes in batches: whatever has arrived while the previous batch
// was being written goes into the next one, so batches grow with the load and add no
// delay when idle. A batch holds at most maxBatch outcomes and maxBatchBytes bytes.
//
// A batch that fails goes to the back of the queue, and is retried after a backoff
// while new outcomes keep arriving, so that one bad batch does not hold up the others.
// An outcome is never given up while it may still be recorded: the heartbeat keeps its
// lease, and the database says when the claim was lost. Only when Run is ending and the
// database stays unreachable past an outcome's lease is it given up (another host's
// reaper then records it as interrupted).
func (e *Executor) complete(in <-chan store.Outcome) {
	var queue []store.Outcome
	wait := retryFirst
	for in != nil || len(queue) > 0 {
		if len(queue) == 0 {
			o, ok := <-in
			if !ok {
				in = nil
				continue
			}
			queue = append(queue, o)
		}
		queue, in = receive(in, queue)
		n := batchLen(queue)
		retry := e.record(queue[:n])
		queue = append(queue[n:], retry...)
		if len(retry) == 0 {
			wait = retryFirst
			continue
		}
		if in == nil {
			// Run is ending: nothing renews a lease that the database cannot confirm.
			queue = e.giveUpExpired(queue)
		}
		timer := time.NewTimer(wait)
		for waiting := true; waiting; {
			select {
			case o, ok := <-in:
				if !ok {
					in = nil
					continue
				}
				queue = append(queue, o)
			case <-timer.C:
				waiting = false
			}
		}
		wait = min(2*wait, retryMost)
	}
}

// receive appends to queue the outcomes that have arrived, without waiting; it returns
// a nil channel once in is closed.
func receive(in <-chan store.Outcome, queue []store.Outcome) ([]store.Outcome, <-chan store.Outcome) {
	for in != nil {
		select {
		case o, ok := <-in:
			if !ok {
				return queue, nil
			}
			queue = append(queue, o)
		default:
			return queue, in
		}
	}
	return queue, in
}

// record writes one batch of outcomes, once, and returns the outcomes to try again:
// the batch when the database could not be reached. A batch the database refused is
// split, so that the outcome at fault does not keep the others from being recorded.
func (e *Executor) record(batch []store.Outcome) (retry []store.Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	lost, err := e.opts.Store.Complete(ctx, e.opts.Host, batch)
	cancel()
	switch {
	case err == nil:
		if len(lost) > 0 {
			e.log.Error("outcomes not recorded: the claims had expired and were taken over as interrupted",
				slog.Any("attempts", lost))
		}
		e.countFollowUps(batch, lost)
		e.recorded(batch)
		return nil
	case store.IsUnavailable(err):
		e.log.Warn("recording outcomes failed; retrying", slog.Int("calls", len(batch)), slog.Any("error", err))
		return batch
	default:
		// The database refused the batch: a value (one call's follow-ups, whatever
		// checks they passed), or a statement it cannot run. Keep one call from
		// failing the others' outcomes.
		return e.isolate(batch, err)
	}
}

// recorded forgets outcomes that left the queue (recorded, lost or given up): their
// claims are no longer renewed, and claims held back for them may resume.
func (e *Executor) recorded(outcomes []store.Outcome) {
	var bytes int64
	for _, o := range outcomes {
		e.leases.release(store.Attempt{ID: o.ID, Attempt: o.Attempt})
		bytes += outcomeBytes(o)
	}
	e.unrecorded.Add(-int64(len(outcomes)))
	e.unrecordedBytes.Add(-bytes)
	if e.held.Swap(false) {
		e.signal()
	}
}

// giveUpExpired drops from queue the outcomes whose lease has run out by this host's
// clock, and returns the rest.
func (e *Executor) giveUpExpired(queue []store.Outcome) []store.Outcome {
	now := time.Now()
	var keep, drop []store.Outcome
	for _, o := range queue {
		if e.leases.expired(store.Attempt{ID: o.ID, Attempt: o.Attempt}, now) {
			drop = append(drop, o)
		} else {
			keep = append(keep, o)
		}
	}
	if len(drop) > 0 {
		e.log.Error("giving up recording outcomes at shutdown; their leases ran out and other hosts will record them as interrupted",
			slog.Int("calls", len(drop)))
		e.recorded(drop)
	}
	return keep
}

// countFollowUps counts the follow-ups stored with the recorded successes of batch.
func (e *Executor) countFollowUps(batch []store.Outcome, lost []store.Attempt) {
	for _, o := range batch {
		if o.Kind != store.Succeeded || slices.Contains(lost, store.Attempt{ID: o.ID, Attempt: o.Attempt}) {
			continue
		}
		for _, f := range o.Effects {
			if f.Schedule != nil {
				e.opts.Metrics.Scheduled.WithLabelValues(f.Schedule.Plugin, f.Schedule.Method, "plugin").Inc()
			}
		}
	}
}

// isolate records the outcomes of a batch the database refused one by one, and returns
// those to try again; an outcome refused on its own loses its effects and is recorded
// as failed, with the reason.
func (e *Executor) isolate(batch []store.Outcome, err error) (retry []store.Outcome) {
	if len(batch) > 1 {
		for _, o := range batch {
			retry = append(retry, e.record([]store.Outcome{o})...)
		}
		return retry
	}
	o := batch[0]
	if len(o.Effects) == 0 {
		e.log.Error("the database refused an outcome; its claim will expire and be recorded as interrupted",
			slog.Int64("call", o.ID), slog.Any("error", err))
		e.recorded(batch)
		return nil
	}
	failed := o
	failed.Kind, failed.Effects, failed.RetryAt = store.Failed, nil, nil
	failed.Error = "its follow-up calls could not be stored: " + err.Error()
	e.log.Warn("a call's follow-ups were refused by the database; recording it as failed", slog.Int64("call", o.ID), slog.Any("error", err))
	// The queue counted the outcome with its effects: count the smaller one instead.
	e.unrecordedBytes.Add(outcomeBytes(failed) - outcomeBytes(o))
	return e.record([]store.Outcome{failed})
}

// listen wakes the loop on notifications of calls due soon, reconnecting when the
// connection drops.
func (e *Executor) listen(ctx context.Context) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := e.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("lost the wake-up channel; scans continue, reconnecting", slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (e *Executor) listenOnce(ctx context.Context) error {
	pooled, err := e.opts.Store.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will be in LISTEN state: take it out of the pool for good.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.DueChannel); err != nil {
		return err
	}
	e.signal() // calls scheduled while we were not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		e.notified(n.Payload)
	}
}

// maintain reaps expired claims every scan interval and trims the history hourly.
func (e *Executor) maintain(ctx context.Context) {
	reap := time.NewTicker(e.opts.ScanInterval)
	defer reap.Stop()
	trim := time.NewTicker(time.Hour)
	defer trim.Stop()
	e.trimHistory(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-reap.C:
			e.reap(ctx)
		case <-trim.C:
			e.trimHistory(ctx)
		}
	}
}

// reap records the expired claims of hosts that died. When the heartbeat is behind (the
// database was away), it renews this host's own claims first: after an outage longer
// than a lease they have run out too, and must not be taken for a dead host's.
func (e *Executor) reap(ctx context.Context) {
	if e.leases.behind(e.renewEvery()) {
		if err := e.renew(); err != nil {
			if ctx.Err() == nil {
				e.log.Warn("not reaping expired claims: renewing this host's own failed", slog.Any("error", err))
			}
			return
		}
	}
	for {
		n, err := e.opts.Store.Reap(ctx, e.opts.Host, 500)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("reaping expired claims failed", slog.Any("error", err))
			}
			return
		}
		if n > 0 {
			e.opts.Metrics.Reaped.Add(float64(n))
			e.log.Warn("recorded calls of a host that died as interrupted (or put them back for a retry)", slog.Int("calls", n))
			e.signal()
		}
		if n < 500 {
			return
		}
	}
}

func (e *Executor) trimHistory(ctx context.Context) {
	if e.opts.HistoryRetention <= 0 {
		return
	}
	n, err := e.opts.Store.TrimHistory(ctx, time.Now().Add(-e.opts.HistoryRetention))
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("trimming the history failed", slog.Any("error", err))
		}
		return
	}
	if n > 0 {
		e.log.Info("trimmed the history", slog.Int64("rows", n), slog.Duration("retention", e.opts.HistoryRetention))
	}
}

// effects collects the fc.schedule and fc.cancel requests of one running call. They
// are applied with its outcome, only if it succeeds.
type effects struct {
	e    *Executor
	call store.Call
	list []store.Effect
}

// Schedule validates a follow-up request and keeps it.
func (h *effects) Schedule(ctx context.Context, raw []byte) error {
	var req abi.ScheduleRequest
	if err := decodeStrict(raw, &req); err != nil {
		return refused{err}
	}
	if req.Plugin == "" {
		req.Plugin = h.call.Plugin
	}
	c, err := request.Prepare(h.e.opts.Catalog, req, time.Now())
	if err != nil {
		return refused{err}
	}
	h.list = append(h.list, store.Effect{Schedule: &c})
	return nil
}

// Cancel keeps a cancellation and returns how many calls carry the identifier now.
func (h *effects) Cancel(ctx context.Context, identifier string) (int64, error) {
	if identifier == "" {
		return 0, refused{errors.New("empty identifier")}
	}
	n, err := h.e.opts.Store.CountIdentifier(ctx, identifier)
	if err != nil {
		return 0, err
	}
	for _, f := range h.list {
		if f.Schedule != nil && f.Schedule.Identifier == identifier {
			n++
		}
	}
	if last := len(h.list) - 1; last < 0 || h.list[last].CancelIdentifier != identifier {
		h.list = append(h.list, store.Effect{CancelIdentifier: identifier}) // a repeat would change nothing
	}
	return n, nil
}

// refused marks a request the plugin made that the host refuses because of its
// content; the guest's fc.schedule or fc.cancel then returns "invalid request".
type refused struct{ err error }

func (r refused) Error() string {
	// The guest's SDK says "invalid request" already, from the code it gets.
	return strings.TrimPrefix(r.err.Error(), request.ErrInvalid.Error()+": ")
}
func (r refused) Unwrap() []error { return []error{plugin.ErrInvalidRequest, r.err} }

// decodeStrict decodes one JSON object, refusing unknown fields (a misspelt "delay"
// must not silently mean "now") and trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed request: data after the JSON object")
	}
	return nil
}
