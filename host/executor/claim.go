package executor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

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
		// take a round trip per call or two. Wait a moment for the others instead;
		// the prefetched calls keep the workers busy meanwhile.
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
		e.testSignals.scanned.signal(claimed)
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
		case claimed >= 0 && len(e.wake) == 0:
			// Look for the next due call only when no wake-up is waiting: one that
			// is (a call scheduled due now, most often) is served first, by a claim,
			// without a round trip before it.
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

// claim takes as many due calls as there are free slots and starts them (those beyond
// the running ones wait for a worker in ready). It returns how many it claimed (-1 on
// error) and whether the batch was full.
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
	var calls []store.Call
	var err error
	// A throttled plugin's calls are claimed only into slots that start them at once:
	// its rate and room are counted when they are claimed, and a wait in the queue
	// would bunch up their starts.
	startable := free - e.prefetch
	for _, g := range e.claimGroups(free, before) {
		limit := min(g.limit, free-len(calls))
		if g.throttled {
			limit = min(limit, startable-len(calls))
			if limit <= 0 {
				continue
			}
		}
		var got []store.Call
		got, err = e.opts.Store.Claim(claimCtx, e.opts.Host, limit, e.opts.Lease, g.plugins)
		if err != nil {
			break
		}
		if g.throttled {
			e.throttles.started(g.plugins[0], len(got), before)
		}
		calls = append(calls, got...)
		if len(calls) == free {
			break
		}
	}
	cancel()
	if err != nil && len(calls) == 0 {
		e.log.Error("claiming due calls failed; retrying at the next scan", slog.Any("error", err))
		return -1, false
	}
	if err != nil {
		e.log.Error("claiming due calls of a throttled plugin failed; retrying at the next scan", slog.Any("error", err))
	}
	e.leases.hold(calls, before.Add(e.opts.Lease))
	if len(calls) > 0 {
		e.testSignals.claimed.signal(calls)
	}
	e.opts.Metrics.Claimed.Add(float64(len(calls)))
	for _, c := range calls {
		if e.slots != nil {
			e.slots <- struct{}{} // never blocks: we claimed no more than the free slots
		}
		e.start(callCtx, c, running)
	}
	return len(calls), len(calls) == free
}

// free is how many calls may be claimed now: as many as there are free slots, running
// and prefetched (a batch when unlimited), or none while the completer is maxUnrecorded outcomes or
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

// untilNextDue returns how long until the earliest waiting call this host can run is
// due, from the store and from notifications.
func (e *Executor) untilNextDue(ctx context.Context) (time.Duration, bool) {
	plugins, throttledWait := e.unthrottled(time.Now())
	wait, ok, err := e.opts.Store.UntilNextDue(ctx, plugins)
	if err != nil {
		return 0, false
	}
	if throttledWait > 0 && (!ok || throttledWait < wait) {
		wait, ok = throttledWait, true
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

// plugins are the plugins whose calls this host claims: those loaded now.
func (e *Executor) plugins() []string {
	if e.opts.Plugins == nil {
		return nil
	}
	return e.opts.Plugins.Names()
}

// signal wakes the loop without blocking.
func (e *Executor) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// claimGroup is one claim statement: up to limit due calls of plugins.
type claimGroup struct {
	plugins   []string
	limit     int
	throttled bool // plugins is one plugin with a Throttle
}

// claimGroups splits a claim of up to free calls: one statement for the plugins without
// throttles, then one per throttled plugin that has room, for no more calls than it may
// start. So a throttled plugin's backlog is never claimed beyond its room, and never
// crowds out the other plugins' calls.
func (e *Executor) claimGroups(free int, now time.Time) []claimGroup {
	groups := []claimGroup{{limit: free}}
	for _, p := range e.plugins() {
		if !e.throttles.throttled(p) {
			groups[0].plugins = append(groups[0].plugins, p)
			continue
		}
		if room, _ := e.throttles.room(p, now); room > 0 {
			groups = append(groups, claimGroup{plugins: []string{p}, limit: min(room, free), throttled: true})
		}
	}
	if len(groups[0].plugins) == 0 {
		groups = groups[1:]
	}
	return groups
}

// unthrottled returns the plugins whose due calls this host may claim now, and when
// the first throttled plugin held back by its rate has room again (0 when none is).
// Throttled plugins wait, too, while no slot is free to start a call at once (a slot
// that frees wakes the loop).
func (e *Executor) unthrottled(now time.Time) ([]string, time.Duration) {
	if len(e.throttles.by) == 0 {
		return e.plugins(), 0
	}
	var plugins []string
	var next time.Duration
	canStart := e.free() > e.prefetch
	for _, p := range e.plugins() {
		if !e.throttles.throttled(p) {
			plugins = append(plugins, p)
			continue
		}
		room, wait := e.throttles.room(p, now)
		switch {
		case room > 0 && !canStart:
		case room > 0:
			plugins = append(plugins, p)
		case wait > 0 && (next == 0 || wait < next):
			next = wait
		}
	}
	return plugins, next
}
