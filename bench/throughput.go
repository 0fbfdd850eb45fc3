package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/store"
)

// unlimited is the concurrency "no limit" (the host's negative concurrencyLimit).
const unlimited = -1

// scanInterval is the host's default scan interval (futureCall.scanInterval), which is
// also the window in which scheduling a call wakes the executors.
const scanInterval = 5 * time.Second

// drain is one system's drains of n due calls at one concurrency, one per round.
type drain struct {
	system      string // the row's label
	concurrency int
	calls       int
	took        []time.Duration
}

// rates returns the rate of each round, sorted.
func (d drain) rates() []float64 {
	r := make([]float64, len(d.took))
	for i, t := range d.took {
		r[i] = float64(d.calls) / t.Seconds()
	}
	slices.Sort(r)
	return r
}

// rate is the median rate of the rounds.
func (d drain) rate() float64 {
	r := d.rates()
	if len(r)%2 == 1 {
		return r[len(r)/2]
	}
	return (r[len(r)/2-1] + r[len(r)/2]) / 2
}

// drainRun is one system to measure: run drains n calls from the database at url.
type drainRun struct {
	system string
	run    func(ctx context.Context, url string) (time.Duration, error)
}

// throughput is P1: n due no-op calls drained at each concurrency, by a bare SQL loop,
// by the store's own statements, by River, by Graphile Worker (its settings for the
// concurrency, graphileSettings) and by the futurecalls executor with each no-op
// plugin, one fresh database each, all on the same server. Each round runs every system
// once, in turn, so that a change in the machine's load falls on all of them; the report
// gives the median of the rounds and their spread.
func (e *env) throughput(ctx context.Context, n, rounds int, concurrencies []int) ([]drain, error) {
	var out []*drain
	for round := range rounds {
		for _, c := range concurrencies {
			runs := []drainRun{
				{"bare SQL", func(ctx context.Context, url string) (time.Duration, error) { return e.drainSQL(ctx, url, n, c) }},
				{"store loop", func(ctx context.Context, url string) (time.Duration, error) { return drainStore(ctx, url, n, c) }},
				{"River", func(ctx context.Context, url string) (time.Duration, error) { return drainRiver(ctx, url, n, c) }},
			}
			for _, g := range graphileSettings(c) {
				runs = append(runs, drainRun{g.system(), func(ctx context.Context, url string) (time.Duration, error) {
					return e.drainGraphile(ctx, url, g, n)
				}})
			}
			for _, p := range []benchPlugin{watNoop, cNoop, goNoop} {
				runs = append(runs, drainRun{"futurecalls, " + p.label, func(ctx context.Context, url string) (time.Duration, error) {
					return e.drainExecutor(ctx, url, p, n, c)
				}})
			}
			for _, r := range runs {
				if !e.systems.MatchString(r.system) {
					continue
				}
				took, err := e.drainOnce(ctx, r, c, round)
				if err != nil {
					return nil, fmt.Errorf("%s at concurrency %s: %w", r.system, concurrencyName(c), err)
				}
				e.log.Info("P1 throughput", slog.Int("round", round+1), slog.String("system", r.system),
					slog.String("concurrency", concurrencyName(c)), slog.Duration("took", took),
					slog.Float64("calls/s", float64(n)/took.Seconds()))
				i := slices.IndexFunc(out, func(d *drain) bool { return d.system == r.system && d.concurrency == c })
				if i < 0 {
					out = append(out, &drain{system: r.system, concurrency: c, calls: n})
					i = len(out) - 1
				}
				out[i].took = append(out[i].took, took)
			}
		}
	}
	drains := make([]drain, len(out))
	for i, d := range out {
		drains[i] = *d
	}
	return drains, nil
}

// drainOnce runs one drain on a fresh database, profiled when asked.
func (e *env) drainOnce(ctx context.Context, r drainRun, concurrency, round int) (time.Duration, error) {
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return 0, err
	}
	defer drop()
	var took time.Duration
	err = e.profiled(fmt.Sprintf("p1-%s-%s-%d", slug(r.system), concurrencyName(concurrency), round+1), func() error {
		var err error
		took, err = r.run(ctx, url)
		return err
	})
	return took, err
}

// claimBatch is the executor's largest claim at a concurrency limit: the limit, or
// 256 when unlimited.
func claimBatch(concurrency int) int {
	if concurrency <= 0 {
		return 256
	}
	return concurrency
}

// loadCalls stores n calls of plugin.method, all due (an hour ago, a microsecond apart),
// and vacuums the table, as autovacuum would have long since on a live schedule.
func loadCalls(ctx context.Context, pool *pgxpool.Pool, plugin, method string, n int) error {
	if _, err := pool.Exec(ctx, `
		INSERT INTO future_call (plugin, method, args, run_at)
		SELECT $1, $2, '{}', now() - interval '1 hour' + i * interval '1 microsecond'
		FROM generate_series(1, $3::int) AS i`, plugin, method, n); err != nil {
		return fmt.Errorf("load %d calls: %w", n, err)
	}
	_, err := pool.Exec(ctx, "VACUUM (ANALYZE) future_call")
	return err
}

// drainSQL is the practical limit: one loop that claims and deletes due rows of the
// same table in batches of the executor's claim size (the concurrency limit, or 256
// when unlimited), reading them as the executor does, with no WebAssembly, no history
// and no bookkeeping.
func (e *env) drainSQL(ctx context.Context, url string, n, concurrency int) (time.Duration, error) {
	pool, err := openPool(ctx, url, concurrency)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if err := loadCalls(ctx, pool, "noop", "noop", n); err != nil {
		return 0, err
	}
	batch := claimBatch(concurrency)
	start := time.Now()
	done := 0
	for {
		rows, err := pool.Query(ctx, `
			DELETE FROM future_call WHERE id IN (
				SELECT id FROM future_call
				WHERE claimed_by IS NULL AND run_at <= now()
				ORDER BY run_at, id
				LIMIT $1
				FOR UPDATE SKIP LOCKED)
			RETURNING id, plugin, method, args, run_at`, batch)
		if err != nil {
			return 0, err
		}
		got := 0
		for rows.Next() {
			got++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if got == 0 {
			break
		}
		done += got
	}
	took := time.Since(start)
	if done != n {
		return 0, fmt.Errorf("drained %d calls, want %d", done, n)
	}
	return took, nil
}

// drainStore runs the executor's own SQL with nothing around it: one loop that claims
// due calls with store.Claim in batches of the executor's claim size and records each
// batch as succeeded with store.Complete (into the history), no WebAssembly, no
// goroutines. Between bare SQL and the executor, it splits the gap into what the
// schema's writes cost (a claim, then a delete into the history) and what the host adds.
func drainStore(ctx context.Context, url string, n, concurrency int) (time.Duration, error) {
	st, err := openStore(ctx, url, concurrency, scanInterval)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := loadCalls(ctx, st.Pool(), "noop", "noop", n); err != nil {
		return 0, err
	}
	batch := claimBatch(concurrency)
	start := time.Now()
	done := 0
	for {
		calls, err := st.Claim(ctx, "bench", batch, 2*time.Minute, []string{"noop"})
		if err != nil {
			return 0, err
		}
		if len(calls) == 0 {
			break
		}
		now := time.Now()
		outcomes := make([]store.Outcome, len(calls))
		for i, c := range calls {
			outcomes[i] = store.Outcome{ID: c.ID, Attempt: c.Attempt, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}
		}
		lost, err := st.Complete(ctx, "bench", outcomes)
		if err != nil {
			return 0, err
		}
		done += len(calls) - len(lost)
	}
	took := time.Since(start)
	if done != n {
		return 0, fmt.Errorf("drained %d calls, want %d", done, n)
	}
	return took, nil
}

// drainExecutor runs the futurecalls executor, configured as the host configures it,
// over n due no-op calls of p until every outcome is recorded in the history.
func (e *env) drainExecutor(ctx context.Context, url string, p benchPlugin, n, concurrency int) (time.Duration, error) {
	cat, _, closePlugins, err := e.registry(ctx, p.file)
	if err != nil {
		return 0, err
	}
	defer closePlugins()
	st, err := openStore(ctx, url, concurrency, scanInterval)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := loadCalls(ctx, st.Pool(), p.name, p.method, n); err != nil {
		return 0, err
	}
	ex := newExecutor(st, cat, concurrency)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ex.Run(runCtx) }()
	err = waitHistory(ctx, st, n, stopped)
	took := time.Since(start)
	stop()
	if err != nil {
		return 0, err
	}
	if err := <-stopped; err != nil {
		return 0, err
	}
	var succeeded int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'").Scan(&succeeded); err != nil {
		return 0, err
	}
	if succeeded != n {
		return 0, fmt.Errorf("%d of %d calls succeeded", succeeded, n)
	}
	return took, nil
}

// newExecutor makes an executor as the host's run command does, with the default scan
// interval.
func newExecutor(st *store.Store, cat *catalog.Catalog, concurrency int) *executor.Executor {
	return executor.New(executor.Options{Store: st, Catalog: cat, Plugins: cat,
		Metrics: metrics.New(prometheus.NewRegistry()), Logger: hostLog(), Host: "bench",
		Concurrency: concurrency, ScanInterval: scanInterval, Lease: 2 * time.Minute, ShutdownGrace: 10 * time.Second})
}

// waitHistory waits until n outcomes are in the history.
func waitHistory(ctx context.Context, st *store.Store, n int, stopped <-chan error) error {
	return waitHistoryAfter(ctx, st, 0, n, stopped)
}
