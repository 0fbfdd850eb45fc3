package executor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// leases tracks the claims this host holds, from claim to recorded outcome: the calls
// it is running and the outcomes it has yet to record. The heartbeat renews them; each
// entry says until when, by this host's clock, its lease is known to hold.
type leases struct {
	mu    sync.Mutex
	until map[store.Attempt]time.Time
	// renewed is when the last renewal succeeded.
	renewed time.Time
}

func newLeases() *leases { return &leases{until: map[store.Attempt]time.Time{}} }

// hold starts tracking the claims of calls, whose leases hold until until.
func (l *leases) hold(calls []store.Call, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range calls {
		l.until[store.Attempt{ID: c.ID, Attempt: c.Attempt}] = until
	}
}

// release stops tracking a claim: its outcome was recorded, or the claim was lost.
func (l *leases) release(a store.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.until, a)
}

// ids lists the calls whose claims are held.
func (l *leases) ids() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]int64, 0, len(l.until))
	for a := range l.until {
		ids = append(ids, a.ID)
	}
	return ids
}

// extend records that a renewal at at succeeded, and that the renewed claims now hold
// until until.
func (l *leases) extend(at time.Time, renewed []store.Attempt, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewed = at
	for _, a := range renewed {
		if _, ok := l.until[a]; ok {
			l.until[a] = until
		}
	}
}

// behind reports whether no renewal has succeeded for longer than d.
func (l *leases) behind(d time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.renewed) > d
}

// expired reports whether a's lease has run out by this host's clock: another host may
// have reaped the call by now.
func (l *leases) expired(a store.Attempt, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.until[a]
	return !ok || now.After(until)
}

// retryFirst and retryMost bound the wait between two tries of a database write that
// failed: the heartbeat's renewals and the completer's outcomes.
const (
	retryFirst = 100 * time.Millisecond
	retryMost  = time.Second
)

// heartbeat renews the leases of the claims this host holds every third of a lease,
// and sooner after a failed renewal, until stop is closed. A call that runs long, or
// whose outcome waits for the database to come back, thus keeps its claim for as long
// as this host lives, instead of being reaped as interrupted when its first lease runs
// out.
func (e *Executor) heartbeat(stop <-chan struct{}) {
	every := e.renewEvery()
	timer := time.NewTimer(every)
	defer timer.Stop()
	wait := retryFirst
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		if err := e.renew(); err != nil {
			e.log.Warn("renewing the leases of running and unrecorded calls failed; retrying", slog.Any("error", err))
			timer.Reset(min(wait, every))
			wait = min(2*wait, retryMost)
			continue
		}
		wait = retryFirst
		timer.Reset(every)
	}
}

// renewEvery is the heartbeat's period: a third of a lease.
func (e *Executor) renewEvery() time.Duration { return e.opts.Lease / 3 }

// renew renews the leases of every claim this host holds, once.
func (e *Executor) renew() error {
	before := time.Now() // the database's now() is later: the lease holds at least this long
	ids := e.leases.ids()
	if len(ids) == 0 {
		e.leases.extend(before, nil, before)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(e.renewEvery(), time.Second))
	defer cancel()
	renewed, err := e.opts.Store.Renew(ctx, e.opts.Host, ids, e.opts.Lease)
	if err != nil {
		return err
	}
	e.leases.extend(before, renewed, before.Add(e.opts.Lease))
	return nil
}
