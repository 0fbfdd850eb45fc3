package plugin_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// candidate loads the named test plugin as a candidate of reg.
func candidate(t *testing.T, reg *plugin.Registry, name string) *plugin.Plugin {
	t.Helper()
	file := testplugins.Path(t, name)
	bin, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := reg.Candidate(context.Background(), file, bin)
	if err != nil {
		t.Fatalf("Candidate(%s): %v", name, err)
	}
	return p
}

// TestInstall swaps a new version in while a call runs on the old one: the running
// call finishes on the old version, the next runs on the new, and the old version is
// closed once its call ended.
func TestInstall(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "ticker")
	v1 := mustPlugin(t, reg, "ticker")
	if v1.SHA256 == "" || v1.LoadedAt.IsZero() {
		t.Errorf("loaded plugin without its hash or load time: %q, %v", v1.SHA256, v1.LoadedAt)
	}

	type result struct {
		version string
		err     error
	}
	slow := make(chan result, 1)
	go func() {
		v, err := reg.Invoke(context.Background(), "ticker", envelope("ticker", "slow", `{}`), nil, nil)
		slow <- result{v, err}
	}()
	time.Sleep(300 * time.Millisecond) // slow sleeps 1.5 s: it runs now

	v2 := candidate(t, reg, "ticker_v2")
	if p, _ := reg.Plugin("ticker"); p != v1 {
		t.Fatalf("a candidate replaced the running version before Install")
	}
	if old := reg.Install(v2); old != v1 {
		t.Fatalf("Install returned %v, want the old version", old)
	}
	if v, err := reg.Invoke(context.Background(), "ticker", envelope("ticker", "tock", `{}`), nil, nil); err != nil || v != "2.0.0" {
		t.Errorf("a call after the swap ran on %q (%v), want 2.0.0", v, err)
	}
	if r := <-slow; r.err != nil || r.version != "1.0.0" {
		t.Errorf("the call running at the swap ran on %q (%v), want 1.0.0", r.version, r.err)
	}
	// The old version is drained and closed: a call on it directly is refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := v1.Invoke(context.Background(), envelope("ticker", "tick", `{"n": 1}`), nil, nil)
		if errors.Is(err, plugin.ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old version still runs calls after its last one ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRemove takes a plugin out: it is no longer listed, calls claimed before still run
// on it, and a plugin never loaded fails its calls as broken.
func TestRemove(t *testing.T) {
	t.Parallel()
	reg := loadPlugins(t, plugin.Limits{}, "ticker", "noop")
	if _, ok := reg.Remove("ticker"); !ok {
		t.Fatal("Remove(ticker) found no plugin")
	}
	if _, ok := reg.Plugin("ticker"); ok || len(reg.Plugins()) != 1 {
		t.Errorf("ticker is still listed after Remove: %v", reg.Plugins())
	}
	if v, err := reg.Invoke(context.Background(), "ticker", envelope("ticker", "tick", `{"n": 1}`), nil, nil); err != nil || v != "1.0.0" {
		t.Errorf("a call claimed before the removal ran on %q (%v), want 1.0.0", v, err)
	}
	_, err := reg.Invoke(context.Background(), "gone", envelope("gone", "x", `{}`), nil, nil)
	wantKind(t, err, plugin.KindBroken, "plugin gone is not loaded")
}

func TestIsModuleFile(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"ticker.wasm": true, ".ticker.wasm": false, ".ticker.wasm.tmp": false, "ticker.wasm.part": false,
		"ticker.wasm~": false, "ticker": false,
	} {
		if got := plugin.IsModuleFile(name); got != want {
			t.Errorf("IsModuleFile(%q) = %v, want %v", name, got, want)
		}
	}
}
