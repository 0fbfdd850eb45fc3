package executor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// start hands c to a worker: through the ready queue under a concurrency limit, else
// to an idle worker, or a new one when none is idle.
func (e *Executor) start(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	if e.ready != nil {
		e.ready <- c // never blocks: the queue holds as many calls as there are slots
		e.workersMu.Lock()
		defer e.workersMu.Unlock()
		if e.workers < e.opts.Concurrency {
			e.workers++
			running.Add(1)
			go e.serve(ctx, running)
		}
		return
	}
	select {
	case e.jobs <- c:
	default:
		running.Add(1)
		go e.work(ctx, c, running)
	}
}

// serve is a worker under a concurrency limit: it runs the calls of the ready queue in
// turn until it has waited idleWorker for one or Run stops claiming. There are at most
// Options.Concurrency of them, so the calls prefetched beyond that wait in the queue.
// Once Run stops claiming, a worker takes no new call: those left in the queue never
// started, and are handed back (handBack).
func (e *Executor) serve(ctx context.Context, running *sync.WaitGroup) {
	defer running.Done()
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		select {
		case <-e.quit:
			return
		default:
		}
		select {
		case c := <-e.ready:
			e.launch(ctx, c)
			idle.Reset(idleWorker)
		case <-idle.C:
			// Leave only if no call is waiting: start counts the workers under the
			// same lock after queueing its call, so one of the two sees the other.
			e.workersMu.Lock()
			if len(e.ready) > 0 {
				e.workersMu.Unlock()
				idle.Reset(idleWorker)
				continue
			}
			e.workers--
			e.workersMu.Unlock()
			return
		case <-e.quit:
			return
		}
	}
}

// work runs c, then the calls handed to it while it waits, until it has waited
// idleWorker or Run stops claiming: the worker of an executor without a concurrency
// limit. A worker keeps the stack it grew running guest code: with a new goroutine per
// call, copying growing stacks took a sixth of the host's CPU time.
func (e *Executor) work(ctx context.Context, c store.Call, running *sync.WaitGroup) {
	defer running.Done()
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		e.finish(c, e.run(ctx, c))
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

// launch runs a call taken from the ready queue, once the completer has caught up:
// the outcomes waiting to be recorded hold prefetched calls back as they hold claims.
// A call whose lease ran out meanwhile is abandoned, and one still waiting when Run
// stops claiming is handed back.
func (e *Executor) launch(ctx context.Context, c store.Call) {
	if !e.waitForCompleter() {
		e.release([]store.Call{c})
		return
	}
	if e.leases.expired(store.Attempt{ID: c.ID, Attempt: c.Attempt}, time.Now()) {
		e.abandon(c)
		return
	}
	e.finish(c, e.run(ctx, c))
}

// waitForCompleter waits while the outcomes waiting to be recorded are too many or too
// big (behind); it returns false if Run stops claiming first.
func (e *Executor) waitForCompleter() bool {
	for {
		e.caughtUpMu.Lock()
		caughtUp := e.caughtUp
		e.caughtUpMu.Unlock()
		if !e.behind() {
			return true
		}
		select {
		case <-caughtUp:
		case <-e.quit:
			return false
		}
	}
}

// abandon drops a prefetched call whose lease ran out while it waited (the heartbeat
// could not renew it: the database was out of reach): another host may have reaped it
// already, and it must not run twice. Its claim is left to the reapers, which record
// it as interrupted.
func (e *Executor) abandon(c store.Call) {
	e.log.Warn("not starting a prefetched call: its lease ran out while it waited; it will be reaped as interrupted",
		slog.Int64("call", c.ID), slog.Int("attempt", c.Attempt))
	e.leases.release(store.Attempt{ID: c.ID, Attempt: c.Attempt})
	e.throttles.finished(c.Plugin)
	<-e.slots
	e.signal()
}

// finish sends c's outcome o to the completer and frees its slot and its plugin's room,
// waking the claim loop when that lets it claim more.
func (e *Executor) finish(c store.Call, o store.Outcome) {
	e.unrecorded.Add(1)
	e.unrecordedBytes.Add(outcomeBytes(o))
	e.done <- o
	roomFreed := e.throttles.finished(c.Plugin)
	if e.slots != nil {
		<-e.slots
		e.signal()
	} else if roomFreed {
		e.signal()
	}
}
