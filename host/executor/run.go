package executor

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
)

// run runs one claimed call and returns its outcome.
func (e *Executor) run(ctx context.Context, c store.Call) store.Outcome {
	started := time.Now()
	o := store.Outcome{ID: c.ID, Attempt: c.Attempt, Plugin: c.Plugin, Method: c.Method, StartedAt: started}
	m := e.opts.Metrics
	m.Lateness.WithLabelValues(c.Plugin).Observe(started.Sub(c.RunAt).Seconds())
	host := &effects{e: e, call: c, state: newState(e.opts.Store, c.Plugin)}
	env := abi.Envelope{Method: c.Method, Args: c.Args, Call: abi.CallInfo{ID: c.ID, Plugin: c.Plugin,
		ScheduledAt: c.RunAt, Identifier: c.Identifier, Attempt: c.Attempt, MaxAttempts: c.Retry.MaxAttempts,
		MessageID: c.MessageID}}
	m.Running.WithLabelValues(c.Plugin).Inc()
	version, err := e.opts.Plugins.Invoke(ctx, c.Plugin, env, host, e.log)
	o.PluginVersion = version
	m.Running.WithLabelValues(c.Plugin).Dec()
	o.FinishedAt = time.Now()
	o.HTTPRequests = host.httpRequests
	m.Duration.WithLabelValues(c.Plugin, c.Method).Observe(o.FinishedAt.Sub(started).Seconds())

	if err == nil {
		o.Kind, o.Effects = abi.OutcomeSucceeded, host.list
		var retryAt *time.Time
		if c.Attempt < c.Retry.MaxAttempts {
			at := o.FinishedAt.Add(backoff(c.Retry, c.Attempt))
			retryAt = &at
		}
		o.State = host.commit(e.opts.Plugins.Limits(c.Plugin).StateKeyLimit, retryAt)
	} else {
		// The plugin checks the arguments against its current signature first: a
		// newer version dropped in since the call was scheduled fails it as broken,
		// without running guest code. A broken call is not retried.
		o.Kind, o.Error = e.opts.Plugins.Classify(err), err.Error()
		if c.Attempt < c.Retry.MaxAttempts && o.Kind != abi.OutcomeBroken {
			at := o.FinishedAt.Add(backoff(c.Retry, c.Attempt))
			o.RetryAt = &at
		}
		e.log.Warn("call failed", slog.String("plugin", c.Plugin), slog.String("method", c.Method),
			slog.Int64("call", c.ID), slog.Int("attempt", c.Attempt), slog.String("outcome", string(o.Kind)), slog.String("error", o.Error),
			slog.Bool("retry", o.RetryAt != nil))
	}
	if o.State == nil { // else counted once its state commits, or not (complete.go)
		m.Outcomes.WithLabelValues(c.Plugin, c.Method, string(o.Kind)).Inc()
	}
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
