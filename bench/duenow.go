package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// dueNowConcurrency is the P6 host's concurrency limit: P2's, and P1's bounded one; the
// host also runs unlimited, to tell the limit's share of the latency.
const dueNowConcurrency = 8

// dueNow is one P6 row: calls scheduled with no delay through POST /v1/calls at a
// steady rate, and when each one started.
type dueNow struct {
	system      string
	concurrency int // the host's limit (unlimited: -1); 0 for the baseline
	rate        int // requests sent per second
	calls       int
	cpu         time.Duration // the host process's CPU time per measured call; 0 for the baseline
	// From sending the request to the start of the call; from the 201 to the start
	// (negative when the call started before the answer arrived); from sending the
	// request to the 201.
	send, answer, api latencies
}

// latencies is the median, 99th percentile and maximum of a set of durations.
type latencies struct{ p50, p99, max time.Duration }

func latenciesOf(ds []time.Duration) latencies {
	var l latencies
	l.p50, l.p99, l.max = percentiles(ds)
	return l
}

// A dueNowRequest is one request of the open loop: its call's id, when it was sent and
// when its 201 arrived.
type dueNowRequest struct {
	id             int64
	sent, answered time.Time
}

// dueNowRates are P6's request rates, and how long each is kept up.
var dueNowRates = []struct {
	rate     int
	duration time.Duration
}{{200, 10 * time.Second}, {2_000, 5 * time.Second}}

// measureDueNow is P6: for each rate, a real host (bin/host run, the WAT no-op plugin,
// concurrency 8, on a fresh database) receives POST /v1/calls without a delay, sent on a
// schedule (open loop: a request does not wait for the previous one); the start of each
// call is its history's started_at, taken by the executor just before it enters the
// guest. Then the same requests go to the Go baseline (dueNowBaseline).
func (e *env) measureDueNow(ctx context.Context) ([]dueNow, error) {
	dir, err := e.linkPlugins(watNoop.file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	var out []dueNow
	for _, r := range dueNowRates {
		n := int(r.duration.Seconds() * float64(r.rate))
		bounded, err := e.dueNowHost(ctx, dir, dueNowConcurrency, r.rate, n)
		if err != nil {
			return nil, fmt.Errorf("futurecalls at %d/s: %w", r.rate, err)
		}
		unbounded, err := e.dueNowHost(ctx, dir, unlimited, r.rate, n)
		if err != nil {
			return nil, fmt.Errorf("futurecalls unlimited at %d/s: %w", r.rate, err)
		}
		base, err := e.dueNowBaseline(ctx, r.rate, n)
		if err != nil {
			return nil, fmt.Errorf("baseline at %d/s: %w", r.rate, err)
		}
		for _, d := range []dueNow{bounded, unbounded, base} {
			e.log.Info("P6 due now", slog.String("system", d.system), slog.Int("concurrency", d.concurrency), slog.Int("rate", d.rate),
				slog.Duration("p50", d.send.p50), slog.Duration("p99", d.send.p99), slog.Duration("max", d.send.max))
			out = append(out, d)
		}
	}
	return out, nil
}

// dueNowWarmUp is how many requests each system answers before the measured ones: the
// first requests open connections and fill the pools.
const dueNowWarmUp = 200

// dueNowRequestBody is every P6 request: the WAT no-op, due now.
var dueNowRequestBody = abi.ScheduleRequest{Plugin: watNoop.name, Method: watNoop.method}

func (e *env) dueNowHost(ctx context.Context, pluginsDir string, concurrency, rate, n int) (dueNow, error) {
	d := dueNow{system: "futurecalls, WAT no-op", concurrency: concurrency, rate: rate, calls: n}
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return d, err
	}
	defer drop()
	host, err := e.startHost(ctx, url, pluginsDir, openLoopHTTP(),
		"FC_FUTURECALL_CONCURRENCYLIMIT="+strconv.Itoa(concurrency))
	if err != nil {
		return d, err
	}
	defer host.stop()
	pool, err := openPool(ctx, url, 1)
	if err != nil {
		return d, err
	}
	defer pool.Close()
	if _, err := openLoop(ctx, host.client, rate, dueNowWarmUp); err != nil {
		return d, fmt.Errorf("warm-up: %w", err)
	}
	cpuBefore, err := procCPU(host.cmd.Process.Pid)
	if err != nil {
		return d, err
	}
	reqs, err := openLoop(ctx, host.client, rate, n)
	if err != nil {
		return d, err
	}
	started := make(map[int64]time.Time, n+dueNowWarmUp)
	deadline := time.Now().Add(2 * time.Minute)
	for len(started) < n+dueNowWarmUp {
		if time.Now().After(deadline) {
			return d, fmt.Errorf("%d of %d calls started after 2 minutes", len(started), n+dueNowWarmUp)
		}
		time.Sleep(50 * time.Millisecond)
		rows, err := pool.Query(ctx, "SELECT call_id, started_at FROM future_call_history WHERE outcome = 'succeeded'")
		if err != nil {
			return d, err
		}
		var id int64
		var at time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { started[id] = at; return nil }); err != nil {
			return d, err
		}
	}
	cpuAfter, err := procCPU(host.cmd.Process.Pid)
	if err != nil {
		return d, err
	}
	d.cpu = (cpuAfter - cpuBefore) / time.Duration(n)
	return d.measured(reqs, started)
}

// measured computes the row's latencies from the requests and their calls' starts.
func (d dueNow) measured(reqs []dueNowRequest, started map[int64]time.Time) (dueNow, error) {
	var send, answer, api []time.Duration
	for _, r := range reqs {
		at, ok := started[r.id]
		if !ok {
			return d, fmt.Errorf("call %d never started", r.id)
		}
		send = append(send, at.Sub(r.sent))
		answer = append(answer, at.Sub(r.answered))
		api = append(api, r.answered.Sub(r.sent))
	}
	d.send, d.answer, d.api = latenciesOf(send), latenciesOf(answer), latenciesOf(api)
	return d, nil
}

// openLoopHTTP is an HTTP client for an open loop: enough idle connections kept that a
// burst of requests in flight does not close and reopen them.
func openLoopHTTP() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
}

// openLoop sends n scheduling requests at rate per second, each at its instant of a
// fixed timetable and in a goroutine of its own, whether the earlier ones were
// answered or not (an open loop, as independent webhooks arrive).
func openLoop(ctx context.Context, cl *client.Client, rate, n int) ([]dueNowRequest, error) {
	reqs := make([]dueNowRequest, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		wg.Go(func() {
			r := &reqs[i]
			r.sent = time.Now()
			call, err := cl.Schedule(ctx, dueNowRequestBody)
			r.answered = time.Now()
			r.id, errs[i] = call.ID, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return reqs, nil
}

// baselineChannel is the baseline's LISTEN/NOTIFY channel.
const baselineChannel = "bench_due_now"

// dueNowBaseline is P6's baseline: the same requests, from the same client, to a bare
// Go HTTP handler in the harness that decodes the JSON, inserts a row and notifies in
// one round trip (one implicit transaction, as the store does), and answers 201 with
// the id; a Go loop LISTENing on its own connection wakes, claims up to 8 due rows
// (DELETE … FOR UPDATE SKIP LOCKED … RETURNING) and takes the time of the start. It is
// the same design with nothing else: no validation, no catalog, no WebAssembly, no
// lease, no history. The host's pool size for concurrency 8.
func (e *env) dueNowBaseline(ctx context.Context, rate, n int) (dueNow, error) {
	d := dueNow{system: "Go baseline: HTTP handler, INSERT + NOTIFY, LISTEN loop", rate: rate, calls: n}
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return d, err
	}
	defer drop()
	pool, err := openPool(ctx, url, dueNowConcurrency)
	if err != nil {
		return d, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_due_now (id bigserial PRIMARY KEY, plugin text NOT NULL,
		method text NOT NULL, args jsonb, run_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return d, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, err
	}
	srv := &http.Server{Handler: baselineHandler(pool), ReadHeaderTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { _ = srv.Close(); <-served }() //nolint:errcheck // the server's end after Close says nothing

	var mu sync.Mutex
	started := make(map[int64]time.Time, n+dueNowWarmUp)
	loopCtx, stop := context.WithCancel(ctx)
	listening, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		stopped <- baselineLoop(loopCtx, url, pool, listening, func(id int64, at time.Time) {
			mu.Lock()
			started[id] = at
			mu.Unlock()
		})
	}()
	defer func() { stop(); <-stopped }() //nolint:errcheck // the loop's end after stop says nothing
	select {
	case <-listening:
	case err := <-stopped:
		return d, err
	}

	cl, err := client.New("http://"+ln.Addr().String(), client.WithHTTPClient(openLoopHTTP()))
	if err != nil {
		return d, err
	}
	if _, err := openLoop(ctx, cl, rate, dueNowWarmUp); err != nil {
		return d, fmt.Errorf("warm-up: %w", err)
	}
	reqs, err := openLoop(ctx, cl, rate, n)
	if err != nil {
		return d, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		done := len(started) >= n+dueNowWarmUp
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			return d, errors.New("not every call started after 2 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return d.measured(reqs, started)
}

// baselineHandler is the baseline's POST /v1/calls.
func baselineHandler(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/calls", func(w http.ResponseWriter, r *http.Request) {
		var req abi.ScheduleRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b := &pgx.Batch{}
		var id int64
		b.Queue("INSERT INTO bench_due_now (plugin, method, args) VALUES ($1, $2, $3) RETURNING id",
			req.Plugin, req.Method, req.Args).QueryRow(func(row pgx.Row) error { return row.Scan(&id) })
		b.Queue("SELECT pg_notify($1, '')", baselineChannel)
		if err := pool.SendBatch(r.Context(), b).Close(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(client.Call{ID: id, Plugin: req.Plugin, Method: req.Method})
	})
	return mux
}

// baselineLoop LISTENs on its own connection and, at each wake-up, claims due rows in
// batches of up to 8 until none is left, passing each one's id and the time it got it
// to start.
func baselineLoop(ctx context.Context, url string, pool *pgxpool.Pool, listening chan<- struct{}, start func(id int64, at time.Time)) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+baselineChannel); err != nil {
		return err
	}
	close(listening)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		for {
			rows, err := pool.Query(ctx, `DELETE FROM bench_due_now WHERE id IN (SELECT id FROM bench_due_now
				WHERE run_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id`, dueNowConcurrency)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			now := time.Now()
			for _, id := range ids {
				start(id, now)
			}
			if len(ids) < dueNowConcurrency {
				break
			}
		}
	}
}

// procCPU reads the CPU time (user and system) a process has used so far, from
// /proc/<pid>/stat, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command, which is in parentheses and may hold spaces:
	// state is the first, utime the 12th and stime the 13th.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
