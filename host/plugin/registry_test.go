package plugin_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// TestLoad loads every test plugin: the good ones load, each bad one is refused with its
// reason, and nothing stops the others from loading.
func TestLoad(t *testing.T) {
	t.Parallel()
	capt, log := newCapture()
	reg := load(t, plugin.Config{Dir: testplugins.Dir(t)}, log)

	var names []string
	for _, p := range reg.Plugins() {
		names = append(names, p.Name)
	}
	if want := []string{"bufferbomb", "cancelbad", "fetch", "gallery", "gofetch", "hostile", "liar", "membomb", "noop", "probe", "recurse", "state", "tablebomb", "thumbs", "ticker", "tightloop"}; !slices.Equal(names, want) {
		t.Errorf("Plugins() = %q, want %q", names, want)
	}

	refused := map[string]string{ // file → part of the reason
		"badabi.wasm":         "abi: version 2 is not supported (this host knows version 1)",
		"badimport.wasm":      "imports fc.log as (i32) -> (), want (i32, i32, i32) -> ()",
		"badmanifest.wasm":    "not a valid JSON manifest",
		"badschema.wasm":      "calls[0] (a): params[0] (p): schema does not compile",
		"bigmem.wasm":         "compile: ",
		"command.wasm":        "exports _start: it was built as a command",
		"fcunknown.wasm":      "imports fc.sleep, which the host does not offer",
		"foreign.wasm":        "imports env.now: only fc and wasi_snapshot_preview1 may be imported",
		"initfail.wasm":       "instantiate: ",
		"invalid.wasm":        "compile: ",
		"memimport.wasm":      "imports memory env.memory: a plugin must export its own memory",
		"noexport.wasm":       "does not export fc_invoke (i32, i32) -> (i64)",
		"wrongtype.wasm":      "exports fc_invoke as (i32) -> (i32), want (i32, i32) -> (i64)",
		"noop_duplicate.wasm": `plugin name "noop" is claimed by both noop.wasm and noop_duplicate.wasm: noop_duplicate.wasm refused`,
		"cannotrun.wasm":      "does not export fc_invoke (i32, i32) -> (i64)",
		"probe_v2.wasm":       `plugin name "probe" is claimed by both probe.wasm and probe_v2.wasm: probe_v2.wasm refused`,
		"ticker_v2.wasm":      `plugin name "ticker" is claimed by both ticker.wasm and ticker_v2.wasm: ticker_v2.wasm refused`,
		"ticker_v3.wasm":      `plugin name "ticker" is claimed by both ticker.wasm and ticker_v3.wasm: ticker_v3.wasm refused`,
	}
	problems := map[string]string{}
	for _, p := range reg.Problems() {
		problems[filepath.Base(p.File)] = p.Err.Error()
	}
	for file, want := range refused {
		got, ok := problems[file]
		switch {
		case !ok:
			t.Errorf("%s: loaded, want it refused with %q", file, want)
		case !strings.Contains(got, want):
			t.Errorf("%s: refused with %q, want %q", file, got, want)
		default:
			t.Logf("%s: %s", file, got)
		}
		if len(capt.find("plugin not loaded")) == 0 {
			t.Errorf("problems are not logged")
		}
	}
	for file, reason := range problems {
		if _, ok := refused[file]; !ok {
			t.Errorf("%s: refused unexpectedly: %s", file, reason)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := testplugins.DirWith(t, testplugins.Path(t, "noop"))
	tests := []struct {
		name string
		cfg  plugin.Config
		want string
	}{
		{"missing directory", plugin.Config{Dir: filepath.Join(dir, "nope")}, "read the plugins directory"},
		{"invalid defaults", plugin.Config{Dir: dir, Defaults: plugin.Limits{Timeout: -time.Second}},
			"timeout -1s: want a positive duration"},
		{"invalid override", plugin.Config{Dir: dir, Overrides: map[string]plugin.Limits{"noop": {MemoryLimit: 1}}},
			"limits of plugin noop: memory limit 1 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, err := plugin.Load(context.Background(), tt.cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = reg.Close(context.Background())
				t.Fatalf("Load succeeded, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadExamples(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "example:example", "example:drip")
	example := mustPlugin(t, reg, "example")
	if example.Manifest.Version != "1.0.0" || len(example.Manifest.Calls) != 2 {
		t.Errorf("example manifest = %+v", example.Manifest)
	}
	if _, ok := example.Method("doOtherWork"); !ok {
		t.Error("example has no doOtherWork")
	}
	drip := mustPlugin(t, reg, "drip")
	welcome, ok := drip.Method("welcome")
	if !ok {
		t.Fatal("drip has no welcome")
	}
	if def := welcome.Def(); len(def.Params) != 2 || def.Params[0].Name != "signup" || !def.Params[1].Optional {
		t.Errorf("welcome = %+v", def)
	}
	if example.File == "" || filepath.Base(example.File) != "example.wasm" {
		t.Errorf("File = %q", example.File)
	}
}

func TestLimitsOverride(t *testing.T) {
	t.Parallel()
	dir := testplugins.DirWith(t, testplugins.Path(t, "noop"), testplugins.Path(t, "hostile"))
	reg := load(t, plugin.Config{
		Dir:       dir,
		Defaults:  plugin.Limits{Timeout: time.Minute},
		Overrides: map[string]plugin.Limits{"hostile": {MemoryLimit: 8 << 20, Fresh: true}},
	}, nil)
	noop, hostile := mustPlugin(t, reg, "noop"), mustPlugin(t, reg, "hostile")
	want := plugin.DefaultLimits()
	want.Timeout = time.Minute
	want.RecycleAbove = 2 * 128 << 10 // twice a fresh instance's memory: both modules start with two 64 KiB pages
	if noop.Limits != want {
		t.Errorf("noop limits = %+v, want %+v", noop.Limits, want)
	}
	want.MemoryLimit, want.Fresh = 8<<20, true
	if hostile.Limits != want {
		t.Errorf("hostile limits = %+v, want %+v", hostile.Limits, want)
	}
	// The override's memory cap is the one that holds.
	err := hostile.Invoke(context.Background(), envelope("hostile", "grow", "{}"), nil, nil)
	ce := wantKind(t, err, plugin.KindMemory, "memory limit of 8388608 bytes reached")
	t.Log(ce)
}

func TestCompilationCacheDir(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	dir := testplugins.DirWith(t, testplugins.Path(t, "noop"))
	for range 2 { // the second load reads the cache
		reg := load(t, plugin.Config{Dir: dir, CacheDir: cache}, nil)
		invokeOK(t, mustPlugin(t, reg, "noop"), "noop", "{}", nil, nil)
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) == 0 {
		t.Fatalf("cache directory holds %d entries (%v), want some", len(entries), err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	reg, err := plugin.Load(context.Background(), plugin.Config{Dir: testplugins.DirWith(t, testplugins.Path(t, "probe")), CacheDir: testplugins.CacheDir(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlugin(t, reg, "probe")
	// A call in flight may finish while Close waits.
	done := make(chan error)
	go func() { done <- p.Invoke(context.Background(), envelope("probe", "sleep", `{"ms": 200}`), nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	if err := reg.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("call in flight during Close: %v", err)
	}
	err = p.Invoke(context.Background(), envelope("probe", "echo", `{"text": "x"}`), nil, nil)
	wantKind(t, err, plugin.KindCancelled, "plugin registry closed")
}

func TestCloseCutsOffLongCalls(t *testing.T) {
	t.Parallel()
	reg, err := plugin.Load(context.Background(), plugin.Config{Dir: testplugins.DirWith(t, testplugins.Path(t, "hostile")), CacheDir: testplugins.CacheDir(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlugin(t, reg, "hostile")
	done := make(chan error)
	go func() { done <- p.Invoke(context.Background(), envelope("hostile", "loop", "{}"), nil, nil) }()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := reg.Close(ctx); err == nil || !strings.Contains(err.Error(), "calls still running") {
		t.Errorf("Close: %v, want an error about the running call", err)
	}
	select {
	case err := <-done:
		wantKind(t, err, plugin.KindCancelled, "plugin registry closed")
	case <-time.After(10 * time.Second):
		t.Fatal("the looping call survived Close")
	}
}
