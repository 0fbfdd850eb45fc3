// Command bench measures futurecalls against its anchors and writes BENCHMARKS.md:
//
//	make bench                 # builds what it needs, then: cd bench && go run . -repo ..
//
// Scenarios, all in one run against one PostgreSQL server (DATABASE_URL, or a private
// durable cluster started from the machine's binaries, as the host's embedded default):
//
//   - P1 throughput: due no-op calls drained at concurrency 8 and unlimited, by a bare
//     SQL claim-and-delete loop (the practical limit), by River working as many no-op
//     jobs, by Graphile Worker (Node.js, bench/graphile) draining as many no-op jobs
//     queued by one add_jobs call, in the settings of issue 16's table, and by the
//     futurecalls executor with a WAT, a C and a Go no-op plugin.
//   - P2 lateness: calls scheduled 1 s ahead at a steady rate; start − run time.
//   - P3 broken-call check: host/check's 1,000,000-call benchmark.
//   - P4 scheduling: the REST API, single calls from concurrent clients and batches,
//     against the store's own rate.
//   - P5 footprint: RSS of a real host process with 10 plugins loaded and 64 calls in
//     flight.
//   - P6 due now: calls scheduled with no delay through a real host's REST API at 200
//     and 2,000 requests/s (open loop); request → start of the call, against a bare Go
//     HTTP handler with an INSERT + NOTIFY and a LISTEN-woken claim loop.
//   - P7 big tables (only with -only p7: loading takes minutes): the executor, the claim,
//     scheduling and history retention with 10,000,000 stored calls and history rows,
//     against empty tables; disk per million rows; autovacuum settings of future_call.
//
// Each figure is reported with a baseline measured in the same run, since absolute
// times drift on a shared machine. The module is separate from the product's, so River
// never becomes a dependency of futurecalls.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	repo := flag.String("repo", "..", "the futurecalls repository (plugins, bin/host, host/check)")
	out := flag.String("out", "", "the report to write (default: BENCHMARKS.md in the repository)")
	calls := flag.Int("calls", 100_000, "P1: calls drained per run")
	rounds := flag.Int("rounds", 3, "P1: rounds, each running every system once; the report gives their median")
	only := flag.String("only", "", "run only these scenarios (comma-separated: p1,p2,p3,p4,p5,p6,p7; p7 runs only when named); the report then holds just those")
	bigRows := flag.Int("bigrows", 10_000_000, "P7: calls stored for the future, and history rows, loaded")
	profile := flag.String("profile", "", "write CPU profiles of the in-process runs into this directory")
	match := flag.String("match", "", "P1: run only the systems whose label matches this regular expression (to profile one)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	root, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(root, "BENCHMARKS.md")
	}
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			return err
		}
	}
	want := func(s string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), s) }

	cache, err := os.MkdirTemp("", "futurecalls-bench-cache-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(cache) }()
	srv, err := startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	systems, err := regexp.Compile(*match)
	if err != nil {
		return fmt.Errorf("-match: %w", err)
	}
	e := &env{repo: root, srv: srv, cache: cache, profile: *profile, systems: systems, log: log}

	r := &report{started: time.Now(), machine: readMachine(), postgres: srv.version, args: os.Args[1:]}
	if want("p1") {
		if r.p1, err = e.throughput(ctx, *calls, *rounds, []int{8, unlimited}); err != nil {
			return fmt.Errorf("P1: %w", err)
		}
		if slices.ContainsFunc(r.p1, drain.isGraphile) {
			if r.graphile, err = e.graphileVersions(ctx); err != nil {
				return fmt.Errorf("P1: %w", err)
			}
		}
	}
	if want("p2") {
		if r.p2, err = e.measureLateness(ctx, 200, 15*time.Second, time.Second, 8); err != nil {
			return fmt.Errorf("P2: %w", err)
		}
	}
	if want("p3") {
		if r.p3, err = e.measureCheck(ctx); err != nil {
			return fmt.Errorf("P3: %w", err)
		}
	}
	if want("p4") {
		if r.p4, err = e.measureScheduling(ctx); err != nil {
			return fmt.Errorf("P4: %w", err)
		}
	}
	if want("p5") {
		if r.p5, err = e.measureFootprint(ctx); err != nil {
			return fmt.Errorf("P5: %w", err)
		}
	}
	if want("p6") {
		if r.p6, err = e.measureDueNow(ctx); err != nil {
			return fmt.Errorf("P6: %w", err)
		}
	}
	if *only != "" && want("p7") {
		if r.p7, err = e.measureBigTables(ctx, *bigRows, *calls, *rounds); err != nil {
			return fmt.Errorf("P7: %w", err)
		}
	}
	r.finished = time.Now()
	r.loadEnd = loadAverage()
	return r.write(*out)
}
