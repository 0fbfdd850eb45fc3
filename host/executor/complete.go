package executor

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
)

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
		e.countStateOutcomes(batch, lost)
		e.recorded(batch)
		e.testSignals.recorded.signal(len(batch))
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
	e.caughtUpMu.Lock()
	close(e.caughtUp)
	e.caughtUp = make(chan struct{})
	e.caughtUpMu.Unlock()
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
		if o.Kind != abi.OutcomeSucceeded || slices.Contains(lost, store.Attempt{ID: o.ID, Attempt: o.Attempt}) {
			continue
		}
		for _, f := range o.Effects {
			if f.Schedule != nil {
				e.opts.Metrics.Scheduled.WithLabelValues(f.Schedule.Plugin, f.Schedule.Method, "plugin").Inc()
			}
		}
	}
}

// countStateOutcomes counts the outcomes of the recorded successes that wrote state,
// which run left uncounted: as failed when their writes could not commit (the
// attempt was recorded so), else as succeeded. An attempt whose claim was lost
// committed nothing and is not counted: the host that reaped it records it.
func (e *Executor) countStateOutcomes(batch []store.Outcome, lost []store.Attempt) {
	for _, o := range batch {
		if o.State == nil || o.Kind != abi.OutcomeSucceeded || slices.Contains(lost, store.Attempt{ID: o.ID, Attempt: o.Attempt}) {
			continue
		}
		kind := abi.OutcomeSucceeded
		if o.State.Failed != "" {
			kind = abi.OutcomeFailed
			e.log.Warn("call failed", slog.String("plugin", o.Plugin), slog.String("method", o.Method),
				slog.Int64("call", o.ID), slog.Int("attempt", o.Attempt), slog.String("outcome", string(kind)),
				slog.String("error", o.State.Failed), slog.Bool("retry", o.State.RetryAt != nil))
		}
		e.opts.Metrics.Outcomes.WithLabelValues(o.Plugin, o.Method, string(kind)).Inc()
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
	if len(o.Effects) == 0 && o.State == nil {
		e.log.Error("the database refused an outcome; its claim will expire and be recorded as interrupted",
			slog.Int64("call", o.ID), slog.Any("error", err))
		e.recorded(batch)
		return nil
	}
	failed := o
	failed.Kind, failed.Effects, failed.State, failed.RetryAt = abi.OutcomeFailed, nil, nil, nil
	what := "its follow-up calls"
	switch {
	case o.State != nil && len(o.Effects) > 0:
		what = "its follow-up calls and state writes"
	case o.State != nil:
		what = "its state writes"
	}
	failed.Error = what + " could not be stored: " + err.Error()
	if o.State != nil && o.Kind == abi.OutcomeSucceeded { // run left it uncounted
		e.opts.Metrics.Outcomes.WithLabelValues(o.Plugin, o.Method, string(abi.OutcomeFailed)).Inc()
	}
	e.log.Warn("a call's follow-ups were refused by the database; recording it as failed", slog.Int64("call", o.ID), slog.Any("error", err))
	// The queue counted the outcome with its effects: count the smaller one instead.
	e.unrecordedBytes.Add(outcomeBytes(failed) - outcomeBytes(o))
	return e.record([]store.Outcome{failed})
}
