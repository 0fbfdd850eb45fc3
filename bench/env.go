package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// env is what every scenario shares: the repository, the database server, the plugins'
// compilation cache and the harness's own log.
type env struct {
	repo    string
	srv     *server
	cache   string         // wazero compilation cache of every registry the harness loads
	profile string         // directory for CPU profiles of the in-process runs; empty for none
	systems *regexp.Regexp // P1 runs only the systems whose label matches
	log     *slog.Logger
}

// A benchPlugin is a plugin file the scenarios load, with its no-op method.
type benchPlugin struct {
	label  string // as the tables show it
	file   string // relative to the repository
	name   string // the plugin's name, from its manifest
	method string // a method that does nothing
}

// The no-op plugins: `make testplugins` builds noop.wasm (hand-written WAT, no imports:
// the cheapest possible call); the bench target builds the C and Go plugins of
// bench/plugins.
var (
	watNoop = benchPlugin{"WAT no-op", "host/internal/testplugins/build/noop.wasm", "noop", "noop"}
	cNoop   = benchPlugin{"C no-op", "bench/build/benchc.wasm", "benchc", "noop"}
	goNoop  = benchPlugin{"Go no-op", "bench/build/benchgo.wasm", "benchgo", "noop"}
)

// path returns a file of the repository, failing when it is missing.
func (e *env) path(rel string) (string, error) {
	p := filepath.Join(e.repo, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not built (run make bench): %w", rel, err)
	}
	return p, nil
}

// registry loads a plugins directory holding just the given files, with the default
// limits, and its catalog (no retries). close releases them.
func (e *env) registry(ctx context.Context, files ...string) (cat *catalog.Catalog, reg *plugin.Registry, closeFn func(), err error) {
	dir, err := e.linkPlugins(files...)
	if err != nil {
		return nil, nil, nil, err
	}
	reg, err = plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: e.cache}, hostLog())
	if err != nil {
		return nil, nil, nil, err
	}
	closeFn = func() { _ = reg.Close(context.Background()); _ = os.RemoveAll(dir) }
	if len(reg.Problems()) > 0 {
		closeFn()
		return nil, nil, nil, fmt.Errorf("plugins not loaded: %v", reg.Problems())
	}
	cat, err = catalog.New(reg, catalog.RetryPolicies{Default: abi.Retry{MaxAttempts: 1,
		Backoff: abi.DefaultBackoff, MaxBackoff: abi.DefaultMaxBackoff}})
	if err != nil {
		closeFn()
		return nil, nil, nil, err
	}
	return cat, reg, closeFn, nil
}

// hostLog is the logger the host's default configuration makes (text, level info),
// writing nowhere: what the in-process runs pay for logging is what the host pays.
func hostLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// maxConns is the connection pool the host gives itself for a concurrency limit
// (host/app): 10, plus one per call slot up to 100.
func maxConns(concurrency int) int {
	if concurrency > 0 {
		return 10 + min(concurrency, 100)
	}
	return 10
}

// openStore opens the futurecalls store of a benchmark database as the host does.
func openStore(ctx context.Context, url string, concurrency int, notifyWithin time.Duration) (*store.Store, error) {
	return store.Open(ctx, url, store.Options{MaxConns: maxConns(concurrency), NotifyWithin: notifyWithin})
}

// openPool opens a bare pgx pool of the size the host would use.
func openPool(ctx context.Context, url string, concurrency int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns(concurrency))
	return pgxpool.NewWithConfig(ctx, cfg)
}

// profiled runs fn under a CPU profile written to the profile directory as name.pprof,
// when one was asked for.
func (e *env) profiled(name string, fn func() error) error {
	if e.profile == "" {
		return fn()
	}
	f, err := os.Create(filepath.Join(e.profile, name+".pprof"))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	// The profile is written by the time Close returns: a failed Close is a lost profile.
	return errors.Join(err, f.Close())
}
