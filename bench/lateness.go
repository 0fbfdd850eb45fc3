package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// lateness is P2: how late calls start, against how late a bare Go timer fires for the
// same instants in the same run (the floor the machine's scheduling sets).
type lateness struct {
	rate        int // calls scheduled per second
	calls       int
	ahead       time.Duration
	concurrency int
	calls50     time.Duration
	calls99     time.Duration
	callsMax    time.Duration
	timer50     time.Duration
	timer99     time.Duration
	timerMax    time.Duration
}

// measureLateness schedules calls of the WAT no-op plugin, each ahead of now, at a
// steady rate through the store (as the API and fc.schedule do: one transaction and
// one wake-up notification each), with an executor running as the host runs it (scan
// interval 5 s, the default). Lateness is the history's started_at − scheduled_at.
// Meanwhile a Go timer per call, set for the same instant, gives the baseline.
func (e *env) measureLateness(ctx context.Context, rate int, duration, ahead time.Duration, concurrency int) (*lateness, error) {
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	cat, _, closePlugins, err := e.registry(ctx, watNoop.file)
	if err != nil {
		return nil, err
	}
	defer closePlugins()
	st, err := openStore(ctx, url, concurrency, scanInterval)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	ex := newExecutor(st, cat, concurrency)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	stopped := make(chan error, 1)
	go func() { stopped <- ex.Run(runCtx) }()
	time.Sleep(200 * time.Millisecond) // let it start listening

	n := int(duration.Seconds() * float64(rate))
	var timers sync.WaitGroup
	var mu sync.Mutex
	timerLate := make([]time.Duration, 0, n)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for range n {
		<-tick.C
		at := time.Now().Add(ahead)
		if _, err := st.Schedule(ctx, store.NewCall{Plugin: watNoop.name, Method: watNoop.method, RunAt: at}); err != nil {
			return nil, err
		}
		timers.Go(func() {
			time.Sleep(time.Until(at))
			late := time.Since(at)
			mu.Lock()
			timerLate = append(timerLate, late)
			mu.Unlock()
		})
	}
	timers.Wait()
	if err := waitHistory(ctx, st, n, stopped); err != nil {
		return nil, err
	}
	stop()
	if err := <-stopped; err != nil {
		return nil, err
	}

	rows, err := st.Pool().Query(ctx, `SELECT started_at - scheduled_at FROM future_call_history WHERE outcome = 'succeeded'`)
	if err != nil {
		return nil, err
	}
	callLate := make([]time.Duration, 0, n)
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, err
		}
		callLate = append(callLate, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(callLate) != n {
		return nil, fmt.Errorf("%d of %d calls succeeded", len(callLate), n)
	}
	if len(timerLate) != n {
		return nil, errors.New("a baseline timer is missing")
	}
	l := &lateness{rate: rate, calls: n, ahead: ahead, concurrency: concurrency}
	l.calls50, l.calls99, l.callsMax = percentiles(callLate)
	l.timer50, l.timer99, l.timerMax = percentiles(timerLate)
	e.log.Info("P2 lateness", slog.Int("calls", n), slog.Duration("p50", l.calls50), slog.Duration("p99", l.calls99),
		slog.Duration("max", l.callsMax), slog.Duration("timer p99", l.timer99))
	return l, nil
}

// percentiles returns the median, the 99th percentile and the maximum of ds (nearest
// rank), sorting ds.
func percentiles(ds []time.Duration) (p50, p99, maxD time.Duration) {
	slices.Sort(ds)
	rank := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return rank(0.50), rank(0.99), ds[len(ds)-1]
}
