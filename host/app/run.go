package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/dashboard"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/reload"
)

// Run runs the host in cfg.Role until ctx ends (monolith, serverless) or the check is
// done (maintenance). It logs to log.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	host := HostID()
	log.Info("starting", slog.String("host", host), slog.String("role", cfg.Role))

	st, closeStore, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer closeStore()

	reg, cat, err := LoadPlugins(ctx, cfg, cfg.Plugins.Dir, log)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = reg.Close(ctx)
	}()

	// The maintenance role exists to run the check: it does unless told never to.
	setting := cfg.CheckBrokenCalls
	if cfg.Role == config.RoleMaintenance && setting == nil {
		always := true
		setting = &always
	}
	if _, _, err := check.AtStartup(ctx, log, setting, check.Options{Store: st, Signatures: cat,
		Delete: cfg.DeleteBrokenCalls, DeleteUnavailable: cfg.DeleteUnavailableCalls, Host: host}); err != nil {
		return err
	}
	if cfg.Role == config.RoleMaintenance {
		log.Info("maintenance done")
		return nil
	}

	registry := prometheus.NewRegistry()
	m := metrics.New(registry)
	reloader := reload.New(reload.Options{Dir: cfg.Plugins.Dir, Registry: reg, Catalog: cat, Store: st, Metrics: m,
		Logger: log, OnBreaking: reload.Policy(cfg.Plugins.Reload.OnBreaking), Settle: cfg.Plugins.Reload.Settle.D(), Host: host})
	plugins := loadedPlugins{reg, reloader}
	server := api.New(api.Options{Store: st, Catalog: cat, PluginSource: plugins, Reloader: reloader, Metrics: m, Registry: registry,
		Logger: log, Tokens: cfg.API.Tokens, BodyLimit: int64(cfg.API.BodyLimit),
		PageBytes: int64(cfg.API.PageBytes), Host: host, Dashboard: dashboard.Handler()})
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", cfg.API.Listen, err)
	}
	log.Info("API listening", slog.String("address", "http://"+ln.Addr().String()), slog.Int("plugins", len(reg.Plugins())))

	// The API and the executor stop together: when ctx ends, or when one fails.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := server.Serve(ctx, ln); err != nil {
			cancel(err)
		}
	}()

	// Plugins are reloaded when their directory changes and on SIGHUP.
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	defer signal.Stop(hangup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := reloader.Watch(ctx, cfg.Plugins.Reload.Watch, hangup); err != nil {
			cancel(err)
		}
	}()

	execute := cfg.Role == config.RoleMonolith && cfg.FutureCallExecutionEnabled
	if execute {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex := executor.New(executor.Options{Store: st, Catalog: cat, Plugins: cat, Metrics: m, Logger: log, Host: host,
				Concurrency: cfg.FutureCall.Concurrency(), Prefetch: cfg.FutureCall.PrefetchLimit(), ScanInterval: time.Duration(cfg.FutureCall.ScanInterval) * time.Millisecond,
				Lease:         longestTimeout(cfg) + cfg.FutureCall.ClaimLeaseMargin.D(),
				ShutdownGrace: cfg.FutureCall.ShutdownGrace.D(), HistoryRetention: cfg.FutureCall.HistoryRetention.D(),
				Throttles: throttles(cfg.Sandbox)})
			if err := ex.Run(ctx); err != nil {
				cancel(err)
			}
		}()
	} else {
		log.Info("future call execution is off on this host: calls are scheduled here and run by other hosts",
			slog.String("role", cfg.Role), slog.Bool("futureCallExecutionEnabled", cfg.FutureCallExecutionEnabled))
	}

	<-ctx.Done()
	log.Info("shutting down")
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// LoadPlugins loads the plugins of dir with the configured sandbox limits and grants
// (secrets read now) and builds their catalog. Modules that fail to load are logged and
// skipped.
func LoadPlugins(ctx context.Context, cfg config.Config, dir string, log *slog.Logger) (*plugin.Registry, *catalog.Catalog, error) {
	overrides := map[string]plugin.Limits{}
	for name := range cfg.Sandbox.Plugins {
		overrides[name] = pluginLimits(cfg.Sandbox.Plugins[name]) // zero fields take the defaults
	}
	granted, err := grants(cfg)
	if err != nil {
		return nil, nil, err
	}
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: cfg.Plugins.CacheDir,
		Defaults: pluginLimits(cfg.Sandbox.Limits), Overrides: overrides, Grants: granted}, log)
	if err != nil {
		return nil, nil, fmt.Errorf("load plugins: %w", err)
	}
	cat, err := catalog.New(reg, catalog.RetryPolicies{
		Default: retry(cfg.Sandbox.Retry),
		Override: func(name string) (abi.Retry, bool) {
			r, ok := cfg.Sandbox.PluginRetry(name)
			return retry(r), ok
		},
	})
	if err != nil {
		_ = reg.Close(ctx)
		return nil, nil, err
	}
	return reg, cat, nil
}

func pluginLimits(l config.Limits) plugin.Limits {
	return plugin.Limits{MemoryLimit: int64(l.MemoryLimit), TableLimit: l.TableLimit, StackLimit: int64(l.StackLimit),
		Timeout: l.Timeout.D(), OutputLimit: int64(l.OutputLimit), MaxFollowUps: l.MaxFollowUps, BufferLimit: int64(l.BufferLimit),
		StateValueLimit: int64(l.State.ValueLimit), StateWriteLimit: int64(l.State.WriteLimit), StateKeyLimit: l.State.KeyLimit,
		MaxStateReads: l.State.MaxReads, Fresh: l.Fresh, PoolSize: l.PoolSize, RecycleAbove: int64(l.RecycleAbove),
		HTTPMaxRequests: l.HTTP.MaxRequests, HTTPRequestLimit: int64(l.HTTP.RequestLimit), HTTPResponseLimit: int64(l.HTTP.ResponseLimit)}
}

func retry(r config.Retry) abi.Retry {
	return abi.Retry{MaxAttempts: r.MaxAttempts, Backoff: r.Backoff.D(), MaxBackoff: r.MaxBackoff.D()}
}

// longestTimeout is the longest time limit any plugin may have: the default's, or an
// override's. Plugins are added while the host runs, so the loaded ones do not say.
func longestTimeout(cfg config.Config) time.Duration {
	d := pluginLimits(cfg.Sandbox.Limits).Timeout
	for name := range cfg.Sandbox.Plugins {
		d = max(d, pluginLimits(cfg.Sandbox.Plugins[name]).Timeout)
	}
	return d
}

// loadedPlugins are the plugins the API shows: the registry's, with the candidates the
// reloader refused.
type loadedPlugins struct {
	reg      *plugin.Registry
	reloader *reload.Reloader
}

func (l loadedPlugins) Plugins() (uint64, []api.Plugin) {
	gen := l.reloader.Generation()
	loaded := l.reg.Plugins()
	out := make([]api.Plugin, 0, len(loaded))
	for _, p := range loaded {
		ap := api.Plugin{Manifest: p.Manifest, File: p.File, LoadedAt: p.LoadedAt, SHA256: p.SHA256}
		if c, ok := l.reloader.Refused(p.Name); ok {
			ap.Refused = &c
		}
		out = append(out, ap)
	}
	return gen, out
}

// PreDeploy checks the stored calls against the plugins in candidateDir, without
// migrating the database or touching the running plugins, writes the JSON report to
// w, and returns the exit code of check.ExitCode.
func PreDeploy(ctx context.Context, cfg config.Config, candidateDir string, w io.Writer, log *slog.Logger) int {
	st, closeStore, err := openStore(ctx, cfg, log, false)
	if err != nil {
		log.Error("pre-deploy check", slog.Any("error", err))
		return check.ExitError
	}
	defer closeStore()
	reg, cat, err := LoadPlugins(ctx, cfg, candidateDir, log)
	if err != nil {
		log.Error("pre-deploy check", slog.Any("error", err))
		return check.ExitError
	}
	defer func() { _ = reg.Close(context.Background()) }()
	r, err := check.PreDeploy(ctx, st, cat, w)
	if err != nil {
		log.Error("pre-deploy check", slog.Any("error", err))
	}
	return check.ExitCode(r, err)
}

// throttles are the per-plugin limits of the executor: sandbox.plugins.<name>.concurrency,
// .rate and .burst.
func throttles(s config.Sandbox) map[string]executor.Throttle {
	out := map[string]executor.Throttle{}
	for name, l := range s.Plugins {
		if l.Concurrency > 0 || l.Rate > 0 {
			out[name] = executor.Throttle{Concurrency: l.Concurrency, Rate: l.Rate, Burst: l.Burst}
		}
	}
	return out
}
