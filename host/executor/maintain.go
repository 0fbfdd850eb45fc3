package executor

import (
	"context"
	"log/slog"
	"time"
)

// maintain reaps expired claims every scan interval and trims the history hourly, on
// a goroutine of its own: a trim of millions of rows takes minutes (store.TrimHistory
// paces itself), and reaping must not wait for it.
func (e *Executor) maintain(ctx context.Context) {
	trimmed := make(chan struct{})
	go func() { defer close(trimmed); e.trimHourly(ctx) }()
	defer func() { <-trimmed }()
	reap := time.NewTicker(e.opts.ScanInterval)
	defer reap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reap.C:
			e.reap(ctx)
		}
	}
}

// trimHourly trims the history now and then every hour, until ctx ends.
func (e *Executor) trimHourly(ctx context.Context) {
	trim := time.NewTicker(time.Hour)
	defer trim.Stop()
	for {
		e.trimHistory(ctx)
		select {
		case <-ctx.Done():
			return
		case <-trim.C:
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
	n, err = e.opts.Store.TrimMessages(ctx, time.Now().Add(-e.opts.HistoryRetention))
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("trimming the messages failed", slog.Any("error", err))
		}
		return
	}
	if n > 0 {
		e.log.Info("trimmed the messages", slog.Int64("messages", n), slog.Duration("retention", e.opts.HistoryRetention))
	}
}
