package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// graphileSetting is one configuration of Graphile Worker measured in P1 (issue 16's
// table): how many worker processes, each running how many jobs at once, with which of
// bench/graphile/drain.mjs's settings.
type graphileSetting struct {
	label       string // the row's label, after "Graphile Worker, "
	setting     string // drain.mjs's GRAPHILE_SETTING
	processes   int
	concurrency int // concurrentJobs of each process
}

// system is the P1 row's label.
func (g graphileSetting) system() string {
	return fmt.Sprintf("Graphile Worker, %s (%d×%d)", g.label, g.processes, g.concurrency)
}

// Graphile Worker's settings measured beside futurecalls at concurrency 8 (one process
// running 8 jobs at once), and beside futurecalls unlimited (perfTest's batching, which
// Graphile Worker's own benchmark runs at 24 jobs per process).
var (
	graphileDefaults   = graphileSetting{label: "defaults", setting: "defaults", processes: 1, concurrency: 8}
	graphileLocalQueue = graphileSetting{label: "localQueue = jobs+1", setting: "localqueue", processes: 1, concurrency: 8}
	graphileBatched    = graphileSetting{label: "perfTest batching", setting: "batched", processes: 1, concurrency: 24}
	graphileBatched2   = graphileSetting{label: "perfTest batching", setting: "batched", processes: 2, concurrency: 8}
)

// graphileSettings are the settings run beside futurecalls at a concurrency limit: issue
// 16's table has them at 8 and unlimited only.
func graphileSettings(concurrency int) []graphileSetting {
	switch concurrency {
	case 8:
		return []graphileSetting{graphileDefaults, graphileLocalQueue}
	case unlimited:
		return []graphileSetting{graphileBatched, graphileBatched2}
	}
	return nil
}

// graphileResult is what drain.mjs prints.
type graphileResult struct {
	Ran    int     `json:"ran"`
	TookMS float64 `json:"tookMs"`
}

// graphileDir is where drain.mjs and its node_modules (make deps-graphile) live.
func (e *env) graphileDir() string { return filepath.Join(e.repo, "bench", "graphile") }

// drainGraphile queues n no-op Graphile Worker jobs in the database at url with one
// graphile_worker.add_jobs call, as Graphile Worker's perfTest does, and drains them with
// g's worker processes (bench/graphile/drain.mjs, run by the machine's node). The time
// runs from the workers being told to start (each process has loaded the library) until
// the task has run n times and the jobs table is empty. Graphile Worker deletes a job
// when it completes and keeps no record of it.
func (e *env) drainGraphile(ctx context.Context, url string, g graphileSetting, n int) (time.Duration, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return 0, fmt.Errorf("node is missing, and Graphile Worker runs on Node.js (make deps-node): %w", err)
	}
	dir := e.graphileDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphile-worker")); err != nil {
		return 0, fmt.Errorf("graphile-worker is not installed in %s (make deps-graphile): %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "drain.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, fmt.Sprintf("GRAPHILE_JOBS=%d", n),
		fmt.Sprintf("GRAPHILE_PROCESSES=%d", g.processes), fmt.Sprintf("GRAPHILE_CONCURRENCY=%d", g.concurrency),
		"GRAPHILE_SETTING="+g.setting)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("node drain.mjs: %w\n%s", err, stderr.Bytes())
	}
	var res graphileResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return 0, fmt.Errorf("node drain.mjs printed %q: %w\n%s", stdout.Bytes(), err, stderr.Bytes())
	}
	if res.Ran != n {
		return 0, fmt.Errorf("graphile worker ran the task %d times for %d jobs", res.Ran, n)
	}
	return time.Duration(res.TookMS * float64(time.Millisecond)), graphileQueueEmpty(ctx, url)
}

// graphileQueueEmpty checks, with the harness's own connection, that Graphile Worker left
// no job behind.
func graphileQueueEmpty(ctx context.Context, url string) error {
	pool, err := openPool(ctx, url, 1)
	if err != nil {
		return err
	}
	defer pool.Close()
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM graphile_worker._private_jobs").Scan(&left); err != nil {
		return err
	}
	if left != 0 {
		return fmt.Errorf("graphile worker left %d jobs in its queue", left)
	}
	return nil
}

// graphileVersions names the Graphile Worker and the Node.js the harness runs, for the
// report's header.
func (e *env) graphileVersions(ctx context.Context) (string, error) {
	b, err := os.ReadFile(filepath.Join(e.graphileDir(), "node_modules", "graphile-worker", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", err
	}
	node, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("node --version: %w", err)
	}
	return fmt.Sprintf("Graphile Worker %s on Node.js %s", pkg.Version, bytes.TrimSpace(node)), nil
}
