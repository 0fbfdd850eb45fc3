package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
)

// historyRetention is the host's default futureCall.historyRetention: P7's history is
// older than it, so that retention deletes every loaded row.
const historyRetention = 720 * time.Hour

// bigTables is P7: what the executor, the claim, scheduling and retention cost with
// rows calls stored for the future and rows history rows (10,000,000 by default),
// against the same on empty tables in the same run.
type bigTables struct {
	rows                   int
	loadCalls, loadHistory time.Duration // one INSERT … SELECT generate_series each
	vacuum                 time.Duration // VACUUM (ANALYZE) of both tables after loading
	sizes                  []tableSize
	drains                 []drain          // the WAT no-op executor, "empty" and "loaded" rows
	claims                 []claimTiming    // store.Claim's latency, empty and loaded
	scheduling             []schedulingRate // P4 single: api on the loaded tables, store on empty ones
	autovacuum             []vacuumPhase
	retention              *retentionRun
}

// tableSize is the disk a loaded table takes: everything (indexes and TOAST included),
// the table alone (heap, TOAST, free space and visibility maps) and its indexes.
type tableSize struct {
	table                string
	rows                 int
	total, heap, indexes int64
}

// claimTiming is the latency of every store.Claim of a serial claim-and-complete loop
// (store loop) draining calls in batches of batch.
type claimTiming struct {
	tables string // "empty" or "loaded"
	batch  int
	claims int
	took   time.Duration // the whole loop, claims and completes
	latencies
}

// vacuumPhase is one autovacuum setting of future_call under repeated drains with no
// manual VACUUM: each drain's claim latency, the dead rows before it, and how many
// times autovacuum had processed the table when it finished.
type vacuumPhase struct {
	setting string
	drains  []vacuumDrain
}

type vacuumDrain struct {
	claim       claimTiming
	deadBefore  int64
	autovacuums int64
}

// retentionRun is history retention (store.TrimHistory) of the loaded rows while the
// executor drains calls: the executor's rate in drains that ran wholly during retention
// against drains before and after it.
type retentionRun struct {
	deleted         int64
	took            time.Duration
	without, during []float64 // calls/s of each drain
	concurrency     int
}

// measureBigTables runs P7 on one database loaded with rows future calls and rows
// history rows, each measurement interleaved with the same on a fresh empty database.
func (e *env) measureBigTables(ctx context.Context, rows, n, rounds int) (*bigTables, error) {
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	pool, err := openPool(ctx, url, 1)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	b := &bigTables{rows: rows}
	if err := b.load(ctx, pool); err != nil {
		return nil, err
	}
	e.log.Info("P7 loaded", slog.Int("rows", rows), slog.Duration("calls", b.loadCalls),
		slog.Duration("history", b.loadHistory), slog.Duration("vacuum", b.vacuum))
	if b.sizes, err = tableSizes(ctx, pool, rows); err != nil {
		return nil, err
	}
	if b.drains, err = e.bigDrains(ctx, url, n, rounds); err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	if b.claims, err = e.bigClaims(ctx, url, n); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if b.scheduling, err = e.bigScheduling(ctx, url, pool, rounds); err != nil {
		return nil, fmt.Errorf("scheduling: %w", err)
	}
	if b.autovacuum, err = e.autovacuumPhases(ctx, url, pool, n); err != nil {
		return nil, fmt.Errorf("autovacuum: %w", err)
	}
	if b.retention, err = e.retentionUnderLoad(ctx, url, n, 8); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return b, nil
}

// load fills each table with b.rows rows, one INSERT … SELECT generate_series each:
// calls of the WAT no-op with a small argument, due from a day ahead, four a second;
// history rows of succeeded attempts finished from 60 days ago, four a second (10M rows
// end 31 days ago, older than the default retention). Then VACUUM (ANALYZE), as
// autovacuum would have long since.
func (b *bigTables) load(ctx context.Context, pool *pgxpool.Pool) error {
	start := time.Now()
	if _, err := pool.Exec(ctx, `
		INSERT INTO future_call (plugin, method, args, run_at)
		SELECT $1, $2, jsonb_build_object('n', i), now() + interval '1 day' + i * interval '250 milliseconds'
		FROM generate_series(1, $3::int) AS i`, watNoop.name, watNoop.method, b.rows); err != nil {
		return fmt.Errorf("load calls: %w", err)
	}
	b.loadCalls = time.Since(start)
	start = time.Now()
	if _, err := pool.Exec(ctx, `
		INSERT INTO future_call_history (call_id, plugin, method, args, scheduled_at, started_at, finished_at, attempt, outcome, host)
		SELECT i, $1, $2, jsonb_build_object('n', i), t, t, t, 1, 'succeeded', 'bench'
		FROM (SELECT i, now() - interval '60 days' + i * interval '250 milliseconds' AS t
			FROM generate_series(1, $3::int) AS i) AS s`, watNoop.name, watNoop.method, b.rows); err != nil {
		return fmt.Errorf("load history: %w", err)
	}
	b.loadHistory = time.Since(start)
	start = time.Now()
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) future_call, future_call_history"); err != nil {
		return err
	}
	b.vacuum = time.Since(start)
	return nil
}

// tableSizes measures the disk of both tables, each holding rows rows.
func tableSizes(ctx context.Context, pool *pgxpool.Pool, rows int) ([]tableSize, error) {
	var sizes []tableSize
	for _, t := range []string{"future_call", "future_call_history"} {
		s := tableSize{table: t, rows: rows}
		if err := pool.QueryRow(ctx, "SELECT pg_total_relation_size($1), pg_table_size($1), pg_indexes_size($1)", t).
			Scan(&s.total, &s.heap, &s.indexes); err != nil {
			return nil, err
		}
		sizes = append(sizes, s)
	}
	return sizes, nil
}

// bigDrains drains n due WAT no-op calls with the executor at concurrency 8 and
// unlimited, on a fresh empty database and on the loaded one in turn, rounds times.
func (e *env) bigDrains(ctx context.Context, url string, n, rounds int) ([]drain, error) {
	var out []drain
	add := func(system string, c int, took time.Duration) {
		e.log.Info("P7 executor", slog.String("tables", system), slog.String("concurrency", concurrencyName(c)),
			slog.Float64("calls/s", float64(n)/took.Seconds()))
		for i := range out {
			if out[i].system == system && out[i].concurrency == c {
				out[i].took = append(out[i].took, took)
				return
			}
		}
		out = append(out, drain{system: system, concurrency: c, calls: n, took: []time.Duration{took}})
	}
	for round := range rounds {
		for _, c := range []int{8, unlimited} {
			took, err := e.drainOnce(ctx, drainRun{"P7 empty", func(ctx context.Context, url string) (time.Duration, error) {
				return e.drainExecutor(ctx, url, watNoop, n, c)
			}}, c, round)
			if err != nil {
				return nil, err
			}
			add("empty", c, took)
			if took, err = e.drainExecutorInto(ctx, url, n, c); err != nil {
				return nil, err
			}
			add("loaded", c, took)
		}
	}
	return out, nil
}

// drainExecutorInto is drainExecutor on a database that already holds calls and
// history: it stores n due calls of the WAT no-op and runs the executor until their n
// outcomes are in the history.
func (e *env) drainExecutorInto(ctx context.Context, url string, n, concurrency int) (time.Duration, error) {
	cat, _, closePlugins, err := e.registry(ctx, watNoop.file)
	if err != nil {
		return 0, err
	}
	defer closePlugins()
	st, err := openStore(ctx, url, concurrency, scanInterval)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var last int64
	if err := st.Pool().QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM future_call_history").Scan(&last); err != nil {
		return 0, err
	}
	if err := loadCalls(ctx, st.Pool(), watNoop.name, watNoop.method, n); err != nil {
		return 0, err
	}
	ex := newExecutor(st, cat, concurrency)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- ex.Run(runCtx) }()
	err = waitHistoryAfter(ctx, st, last, n, stopped)
	took := time.Since(start)
	stop()
	if err != nil {
		return 0, err
	}
	if err := <-stopped; err != nil {
		return 0, err
	}
	var succeeded int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE id > $1 AND outcome = 'succeeded'", last).
		Scan(&succeeded); err != nil {
		return 0, err
	}
	if succeeded != n {
		return 0, fmt.Errorf("%d of %d calls succeeded", succeeded, n)
	}
	return took, nil
}

// waitHistoryAfter waits until n outcomes with ids above last are in the history. It
// polls the history's newest id, which costs the database one index probe, and counts
// only once that id is n past last.
func waitHistoryAfter(ctx context.Context, st *store.Store, last int64, n int, stopped <-chan error) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Minute)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-stopped:
			return errors.Join(errors.New("the executor stopped early"), err)
		case <-deadline:
			return errors.New("not drained after 30 minutes")
		case <-tick.C:
		}
		var newest int64
		if err := st.Pool().QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM future_call_history").Scan(&newest); err != nil {
			return err
		}
		if newest < last+int64(n) {
			continue
		}
		var count int
		if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM future_call_history WHERE id > $1", last).Scan(&count); err != nil {
			return err
		}
		if count >= n {
			return nil
		}
	}
}

// bigClaims times every store.Claim of a store loop draining n due calls in batches of
// 8 and of 256 (the executor's claim sizes at concurrency 8 and unlimited), on a fresh
// empty database and on the loaded one.
func (e *env) bigClaims(ctx context.Context, url string, n int) ([]claimTiming, error) {
	var out []claimTiming
	for _, batch := range []int{8, 256} {
		emptyURL, drop, err := e.srv.database(ctx)
		if err != nil {
			return nil, err
		}
		empty, err := timeClaims(ctx, emptyURL, n, batch, true)
		drop()
		if err != nil {
			return nil, err
		}
		empty.tables = "empty"
		big, err := timeClaims(ctx, url, n, batch, true)
		if err != nil {
			return nil, err
		}
		big.tables = "loaded"
		for _, t := range []claimTiming{empty, big} {
			e.log.Info("P7 claims", slog.String("tables", t.tables), slog.Int("batch", batch),
				slog.Duration("p50", t.p50), slog.Duration("p99", t.p99), slog.Duration("max", t.max))
		}
		out = append(out, empty, big)
	}
	return out, nil
}

// timeClaims stores n due calls (vacuuming the table first when asked, as loadCalls
// does), then drains them with the store's statements in one serial loop, as
// drainStore does, timing each store.Claim.
func timeClaims(ctx context.Context, url string, n, batch int, vacuum bool) (claimTiming, error) {
	t := claimTiming{batch: batch}
	st, err := openStore(ctx, url, batch, scanInterval)
	if err != nil {
		return t, err
	}
	defer st.Close()
	if vacuum {
		err = loadCalls(ctx, st.Pool(), watNoop.name, watNoop.method, n)
	} else {
		_, err = st.Pool().Exec(ctx, `
			INSERT INTO future_call (plugin, method, args, run_at)
			SELECT $1, $2, '{}', now() - interval '1 hour' + i * interval '1 microsecond'
			FROM generate_series(1, $3::int) AS i`, watNoop.name, watNoop.method, n)
	}
	if err != nil {
		return t, err
	}
	var each []time.Duration
	done := 0
	start := time.Now()
	for {
		before := time.Now()
		calls, err := st.Claim(ctx, "bench", batch, 2*time.Minute, []string{watNoop.name})
		if err != nil {
			return t, err
		}
		each = append(each, time.Since(before))
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
			return t, err
		}
		done += len(calls) - len(lost)
	}
	t.took = time.Since(start)
	if done != n {
		return t, fmt.Errorf("drained %d calls, want %d", done, n)
	}
	t.claims = len(each)
	t.latencies = latenciesOf(each)
	return t, nil
}

// bigScheduling is P4 single (32 clients scheduling single calls through the API) on a
// fresh empty database and on the loaded one in turn, rounds times; the returned rows
// carry the loaded database's time as api and the empty one's as store.
func (e *env) bigScheduling(ctx context.Context, url string, pool *pgxpool.Pool, rounds int) ([]schedulingRate, error) {
	var out []schedulingRate
	for range rounds {
		m := schedulingRate{mode: "single", clients: 32, calls: 20_000, perBatch: 1}
		var err error
		if m.store, err = e.scheduleThroughAPI(ctx, m); err != nil {
			return nil, err
		}
		var stored int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM future_call").Scan(&stored); err != nil {
			return nil, err
		}
		if m.api, err = e.scheduleThroughAPIInto(ctx, url, m, stored); err != nil {
			return nil, err
		}
		e.log.Info("P7 scheduling", slog.Float64("empty calls/s", float64(m.calls)/m.store.Seconds()),
			slog.Float64("loaded calls/s", float64(m.calls)/m.api.Seconds()))
		out = append(out, m)
	}
	return out, nil
}

// autovacuumSettings are the per-table settings P7 compares on future_call: the server's
// defaults (a vacuum once a fifth of the table is dead), and a fixed threshold of dead
// rows, whatever the table's size.
var autovacuumSettings = []struct{ label, sql string }{
	{"default (autovacuum_vacuum_scale_factor 0.2)", "ALTER TABLE future_call RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)"},
	{"autovacuum_vacuum_scale_factor 0, autovacuum_vacuum_threshold 100000",
		"ALTER TABLE future_call SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 100000)"},
}

// autovacuumDrains is how many drains of n calls each setting gets.
const autovacuumDrains = 4

// autovacuumPhases drains n due calls autovacuumDrains times under each setting of
// autovacuumSettings, with no manual VACUUM between drains (only one before each phase),
// timing the claims.
func (e *env) autovacuumPhases(ctx context.Context, url string, pool *pgxpool.Pool, n int) ([]vacuumPhase, error) {
	var out []vacuumPhase
	for _, s := range autovacuumSettings {
		if _, err := pool.Exec(ctx, s.sql); err != nil {
			return nil, err
		}
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) future_call"); err != nil {
			return nil, err
		}
		p := vacuumPhase{setting: s.label}
		for range autovacuumDrains {
			var d vacuumDrain
			if err := pool.QueryRow(ctx, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'future_call'").Scan(&d.deadBefore); err != nil {
				return nil, err
			}
			var err error
			if d.claim, err = timeClaims(ctx, url, n, 8, false); err != nil {
				return nil, err
			}
			if err := pool.QueryRow(ctx, "SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'future_call'").Scan(&d.autovacuums); err != nil {
				return nil, err
			}
			e.log.Info("P7 autovacuum", slog.String("setting", s.label), slog.Int64("dead before", d.deadBefore),
				slog.Int64("autovacuums", d.autovacuums), slog.Duration("claim p50", d.claim.p50), slog.Duration("claim p99", d.claim.p99),
				slog.Float64("calls/s", float64(n)/d.claim.took.Seconds()))
			p.drains = append(p.drains, d)
		}
		out = append(out, p)
	}
	return out, nil
}

// retentionUnderLoad measures the executor's rate at concurrency while store.TrimHistory
// deletes the loaded history (every row older than historyRetention), as the host's
// maintenance does, against drains before and after it.
func (e *env) retentionUnderLoad(ctx context.Context, url string, n, concurrency int) (*retentionRun, error) {
	r := &retentionRun{concurrency: concurrency}
	measure := func() (float64, error) {
		took, err := e.drainExecutorInto(ctx, url, n, concurrency)
		if err != nil {
			return 0, err
		}
		return float64(n) / took.Seconds(), nil
	}
	for range 2 {
		rate, err := measure()
		if err != nil {
			return nil, err
		}
		r.without = append(r.without, rate)
	}
	st, err := openStore(ctx, url, 1, scanInterval)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	trimmed := make(chan error, 1)
	start := time.Now()
	go func() {
		var err error
		r.deleted, err = st.TrimHistory(ctx, time.Now().Add(-historyRetention))
		r.took = time.Since(start)
		trimmed <- err
	}()
	for {
		rate, err := measure()
		if err != nil {
			return nil, err
		}
		select {
		case err := <-trimmed:
			if err != nil {
				return nil, err
			}
			e.log.Info("P7 retention", slog.Int64("deleted", r.deleted), slog.Duration("took", r.took))
			rate, err := measure()
			if err != nil {
				return nil, err
			}
			r.without = append(r.without, rate)
			return r, nil
		default:
			// The drain ran wholly while retention did.
			r.during = append(r.during, rate)
			e.log.Info("P7 retention", slog.Float64("calls/s during", rate))
		}
	}
}
