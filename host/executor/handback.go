package executor

import (
	"context"
	"log/slog"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// handBackTimeout bounds the statement that hands prefetched calls back at shutdown.
const handBackTimeout = 10 * time.Second

// handBack returns to the schedule the prefetched calls that never started, once Run
// stops claiming: their claims are cleared and their attempts restored, so that other
// hosts claim them at once, as the same attempt. When the database cannot be reached
// they stay claimed by this host, and are reaped as interrupted when their lease runs
// out, as they would be had the host died.
func (e *Executor) handBack() {
	if e.ready == nil {
		return
	}
	var calls []store.Call
	for waiting := true; waiting; {
		select {
		case c := <-e.ready:
			calls = append(calls, c)
		default:
			waiting = false
		}
	}
	e.release(calls)
}

// release hands calls back, claimed and never started: see handBack.
func (e *Executor) release(calls []store.Call) {
	if len(calls) == 0 {
		return
	}
	claims := make([]store.Attempt, len(calls))
	for i, c := range calls {
		claims[i] = store.Attempt{ID: c.ID, Attempt: c.Attempt}
	}
	ctx, cancel := context.WithTimeout(context.Background(), handBackTimeout)
	released, err := e.opts.Store.Release(ctx, e.opts.Host, claims)
	cancel()
	if err != nil {
		e.log.Error("handing back calls claimed and never started failed; they are reaped as interrupted when their lease runs out",
			slog.Int("calls", len(calls)), slog.Any("error", err))
		return
	}
	for i, c := range calls {
		e.leases.release(claims[i])
		e.throttles.finished(c.Plugin)
		<-e.slots
	}
	e.log.Info("handed back calls claimed and never started", slog.Int("calls", released))
}
