package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// noopArgs are the arguments of River's no-op job.
type noopArgs struct{}

// Kind names the job kind.
func (noopArgs) Kind() string { return "noop" }

// noopWorker works a no-op job: it does nothing.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

// Work does nothing.
func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// drainRiver works n available no-op River jobs in the database at url, with River's
// schema migrated there, until River has recorded every one as completed.
//
// River's queue runs MaxWorkers = concurrency (River's maximum, 10,000, for unlimited).
// FetchCooldown is River's 1 ms minimum rather than its 100 ms default: with the default,
// a fetch of at most MaxWorkers jobs every 100 ms caps 8 workers near 80 jobs/s, so the
// comparison gives River its fastest setting. Everything else is River's default.
func drainRiver(ctx context.Context, url string, n, concurrency int) (time.Duration, error) {
	pool, err := openPool(ctx, url, concurrency)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return 0, err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return 0, fmt.Errorf("migrate River: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	maxWorkers := concurrency
	if maxWorkers <= 0 {
		maxWorkers = river.QueueNumWorkersMax
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:       workers,
		FetchCooldown: river.FetchCooldownMin,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return 0, err
	}
	if err := insertRiverJobs(ctx, client, n); err != nil {
		return 0, err
	}
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) river_job"); err != nil {
		return 0, err
	}

	completed, cancel := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: n + 1, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer cancel()
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return 0, err
	}
	deadline := time.After(30 * time.Minute)
	for done := 0; done < n; {
		select {
		case <-completed:
			done++
		case <-deadline:
			return 0, fmt.Errorf("river: completed %d of %d jobs in 30 minutes", done, n)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	took := time.Since(start)
	stopCtx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	if err := client.Stop(stopCtx); err != nil {
		return 0, err
	}
	var completedRows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE state = 'completed'").Scan(&completedRows); err != nil {
		return 0, err
	}
	if completedRows != n {
		return 0, fmt.Errorf("river: recorded %d of %d jobs as completed", completedRows, n)
	}
	return took, nil
}

// insertRiverJobs inserts n available no-op jobs, in chunks.
func insertRiverJobs(ctx context.Context, client *river.Client[pgx.Tx], n int) error {
	const chunk = 10_000
	params := make([]river.InsertManyParams, 0, chunk)
	for left := n; left > 0; left -= len(params) {
		params = params[:0]
		for range min(left, chunk) {
			params = append(params, river.InsertManyParams{Args: noopArgs{}})
		}
		inserted, err := client.InsertManyFast(ctx, params)
		if err != nil {
			return fmt.Errorf("insert River jobs: %w", err)
		}
		if inserted != len(params) {
			return errors.New("river: inserted fewer jobs than asked")
		}
	}
	return nil
}
