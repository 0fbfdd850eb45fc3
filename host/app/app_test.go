package app_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/app"
	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
)

func TestLoadPluginsAppliesTheSandboxConfiguration(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Plugins.CacheDir = testplugins.CacheDir(t)
	cfg.Sandbox.Timeout = config.Duration(5 * time.Second)
	cfg.Sandbox.Plugins = map[string]config.Limits{
		"noop": {MemoryLimit: 1 << 20, BufferLimit: 64 << 10, RecycleAbove: 512 << 10, Fresh: true, Retry: config.Retry{MaxAttempts: 4},
			HTTP: config.HTTP{ResponseLimit: 64 << 10}, State: config.StateLimits{KeyLimit: 50, MaxReads: 7}},
	}
	cfg.Sandbox.State.ValueLimit = 1 << 10
	dir := testplugins.DirWith(t, testplugins.Path(t, "noop"), testplugins.Path(t, "hostile"))
	reg, cat, err := app.LoadPlugins(context.Background(), cfg, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })

	noop, _ := reg.Plugin("noop")
	hostile, _ := reg.Plugin("hostile")
	if noop == nil || hostile == nil {
		t.Fatalf("plugins not loaded: %v", reg.Problems())
	}
	if l := noop.Limits; l.MemoryLimit != 1<<20 || l.BufferLimit != 64<<10 || l.RecycleAbove != 512<<10 || !l.Fresh || l.Timeout != 5*time.Second ||
		l.StateKeyLimit != 50 || l.MaxStateReads != 7 || l.StateValueLimit != 1<<10 || l.StateWriteLimit != 1<<20 {
		t.Errorf("noop limits = %+v, want its override over the defaults", l)
	}
	if l := noop.Limits; l.HTTPResponseLimit != 64<<10 || l.HTTPMaxRequests != 16 || l.HTTPRequestLimit != 1<<20 {
		t.Errorf("noop HTTP limits = %d requests, %d and %d bytes: want the response limit overridden, the rest default",
			l.HTTPMaxRequests, l.HTTPRequestLimit, l.HTTPResponseLimit)
	}
	if l := hostile.Limits; l.MemoryLimit != int64(cfg.Sandbox.MemoryLimit) || l.BufferLimit != int64(cfg.Sandbox.BufferLimit) ||
		l.Fresh || l.Timeout != 5*time.Second || l.StateKeyLimit != 10000 || l.StateValueLimit != 1<<10 {
		t.Errorf("hostile limits = %+v, want the defaults", l)
	}
	_, retry, err := cat.Method("noop", "noop")
	if err != nil || retry.MaxAttempts != 4 || retry.Backoff != time.Second {
		t.Errorf("noop's retry policy = %+v (%v), want 4 attempts with the default backoff", retry, err)
	}
	_, retry, _ = cat.Method("hostile", "ok")
	if retry.MaxAttempts != 1 {
		t.Errorf("hostile's retry policy = %+v, want none", retry)
	}
}
