package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// schedulingRate is one P4 row: calls scheduled per second through the REST API, and
// through the store directly (the database's share) in the same run.
type schedulingRate struct {
	mode     string // "single" or "batch of 1000"
	clients  int
	calls    int
	api      time.Duration
	store    time.Duration
	perBatch int
}

// measureScheduling runs the real API (api.New on a loopback listener, the real store
// and plugin catalog) and schedules calls of the WAT no-op plugin an hour ahead with
// the Go client (sdk/client): single calls from concurrent clients, and batches. The
// same calls are then stored with store.Schedule and store.ScheduleBatch directly, from
// as many goroutines, on a fresh database: the ratio is what HTTP, JSON and validation
// add to the database's work.
func (e *env) measureScheduling(ctx context.Context) ([]schedulingRate, error) {
	modes := []schedulingRate{
		{mode: "single", clients: 32, calls: 20_000, perBatch: 1},
		{mode: "batch of 1000", clients: 4, calls: 200_000, perBatch: api.MaxBatch},
	}
	for i := range modes {
		m := &modes[i]
		var err error
		if err := e.profiled("p4-api-"+slug(m.mode), func() error {
			m.api, err = e.scheduleThroughAPI(ctx, *m)
			return err
		}); err != nil {
			return nil, fmt.Errorf("%s through the API: %w", m.mode, err)
		}
		if m.store, err = e.scheduleThroughStore(ctx, *m); err != nil {
			return nil, fmt.Errorf("%s through the store: %w", m.mode, err)
		}
		e.log.Info("P4 scheduling", slog.String("mode", m.mode), slog.Float64("api calls/s", float64(m.calls)/m.api.Seconds()),
			slog.Float64("store calls/s", float64(m.calls)/m.store.Seconds()))
	}
	return modes, nil
}

// inParallel runs batches of m.perBatch calls from m.clients goroutines until m.calls
// are done, and returns the time taken.
func inParallel(ctx context.Context, m schedulingRate, batch func(ctx context.Context, n int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, m.clients)
	start := time.Now()
	for c := range m.clients {
		wg.Go(func() {
			for next.Add(int64(m.perBatch)) <= int64(m.calls) {
				if err := batch(ctx, m.perBatch); err != nil {
					errs[c] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

func (e *env) scheduleThroughAPI(ctx context.Context, m schedulingRate) (time.Duration, error) {
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return 0, err
	}
	defer drop()
	return e.scheduleThroughAPIInto(ctx, url, m, 0)
}

// scheduleThroughAPIInto schedules m's calls through the API into the database at url,
// which already stores the given number of calls, and checks that they all arrived.
func (e *env) scheduleThroughAPIInto(ctx context.Context, url string, m schedulingRate, stored int) (time.Duration, error) {
	cat, reg, closePlugins, err := e.registry(ctx, watNoop.file)
	if err != nil {
		return 0, err
	}
	defer closePlugins()
	st, err := openStore(ctx, url, 1, scanInterval)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var plugins []api.Plugin
	for _, p := range reg.Plugins() {
		plugins = append(plugins, api.Plugin{Manifest: p.Manifest, File: p.File})
	}
	server := api.New(api.Options{Store: st, Catalog: cat, Plugins: plugins, Logger: slog.New(slog.DiscardHandler), Host: "bench"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Serve(serveCtx, ln) }()
	defer func() { stop(); <-served }() //nolint:errcheck // the server's end after stop says nothing

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: m.clients, MaxConnsPerHost: m.clients}}
	cl, err := client.New("http://"+ln.Addr().String(), client.WithHTTPClient(hc))
	if err != nil {
		return 0, err
	}
	req := abi.ScheduleRequest{Plugin: watNoop.name, Method: watNoop.method, Delay: "1h"}
	reqs := make([]abi.ScheduleRequest, m.perBatch)
	for i := range reqs {
		reqs[i] = req
	}
	took, err := inParallel(ctx, m, func(ctx context.Context, n int) error {
		if n == 1 {
			_, err := cl.Schedule(ctx, req)
			return err
		}
		_, err := cl.ScheduleBatch(ctx, reqs[:n])
		return err
	})
	if err != nil {
		return 0, err
	}
	return took, countCalls(ctx, st, stored+m.calls)
}

func (e *env) scheduleThroughStore(ctx context.Context, m schedulingRate) (time.Duration, error) {
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return 0, err
	}
	defer drop()
	st, err := openStore(ctx, url, 1, scanInterval)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	took, err := inParallel(ctx, m, func(ctx context.Context, n int) error {
		calls := make([]store.NewCall, n)
		at := time.Now().Add(time.Hour)
		for i := range calls {
			calls[i] = store.NewCall{Plugin: watNoop.name, Method: watNoop.method, RunAt: at}
		}
		_, err := st.ScheduleBatch(ctx, calls)
		return err
	})
	if err != nil {
		return 0, err
	}
	return took, countCalls(ctx, st, m.calls)
}

// countCalls checks that want calls are stored.
func countCalls(ctx context.Context, st *store.Store, want int) error {
	var n int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call").Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%d calls stored, want %d", n, want)
	}
	return nil
}
