package executor

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// listen wakes the loop on notifications of calls due soon, reconnecting when the
// connection drops. A store without a session for LISTEN (behind a transaction pooler
// without a direct URL) has no wake-ups: the scans alone find due calls.
func (e *Executor) listen(ctx context.Context) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		// Once listening, look for the calls scheduled while we were not (signal).
		err := e.opts.Store.Listen(ctx, e.signal, e.notified)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, store.ErrNoSession) {
			e.log.Warn("wake-ups are off: the database is reached through a transaction pooler and database.listenUrl is not set; due calls are found by the scans every futureCall.scanInterval",
				slog.Duration("scanInterval", e.opts.ScanInterval))
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
