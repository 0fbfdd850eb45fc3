package reload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/reload"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// bundle is a reloader over a plugins directory of its own and a test database.
type bundle struct {
	dir string
	reg *plugin.Registry
	cat *catalog.Catalog
	st  *store.Store
	r   *reload.Reloader
	mu  sync.Mutex
	log bytes.Buffer
}

func (b *bundle) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.Write(p)
}

// logged counts the log lines holding text.
func (b *bundle) logged(text string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.log.String(), text)
}

// setup starts a bundle whose directory holds the named test plugins, by file name.
func setup(t *testing.T, settle time.Duration, files map[string]string) *bundle {
	t.Helper()
	b := &bundle{dir: t.TempDir()}
	for name, p := range files {
		b.put(t, name, p)
	}
	log := slog.New(slog.NewTextHandler(b, nil))
	var err error
	b.reg, err = plugin.Load(context.Background(), plugin.Config{Dir: b.dir, CacheDir: testplugins.CacheDir(t)}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.reg.Close(context.Background()) })
	if b.cat, err = catalog.New(b.reg, catalog.RetryPolicies{Default: abi.NoRetry}); err != nil {
		t.Fatal(err)
	}
	b.st = testdb.Store(t, store.Options{})
	b.r = reload.New(reload.Options{Dir: b.dir, Registry: b.reg, Catalog: b.cat, Store: b.st, Logger: log, Settle: settle})
	return b
}

// put writes the named test plugin's module as name, through a rename.
func (b *bundle) put(t *testing.T, name, p string) {
	t.Helper()
	bin, err := os.ReadFile(testplugins.Path(t, p))
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(b.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(b.dir, name)); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) reload(t *testing.T) client.Reload {
	t.Helper()
	res, err := b.r.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReloadChanges(t *testing.T) {
	b := setup(t, 10*time.Millisecond, map[string]string{"ticker.wasm": "ticker"})
	if res := b.reload(t); len(res.Added)+len(res.Swapped)+len(res.Removed)+len(res.Refused)+len(res.Failed) != 0 {
		t.Fatalf("a reload of an unchanged directory changed %+v", res)
	}
	gen := b.r.Generation()

	// A stored tick call: the breaking version 3.0.0 is refused, the compatible 2.0.0
	// swapped in, and the refusal forgotten.
	if _, err := b.st.Schedule(context.Background(), store.NewCall{Plugin: "ticker", Method: "tick", Args: json.RawMessage(`{"n": 1}`),
		RunAt: time.Now().Add(time.Hour), Retry: store.Retry{MaxAttempts: 1}}); err != nil {
		t.Fatal(err)
	}
	b.put(t, "ticker.wasm", "ticker_v3")
	res := b.reload(t)
	if len(res.Refused) != 1 || res.Refused[0].Methods[0] != (client.BrokenMethod{Method: "tick", Kind: "args_mismatch", Count: 1,
		Reason: "arguments do not fit the signature of tick: /n: got number, want string"}) {
		t.Fatalf("reload %+v, want ticker 3.0.0 refused for one tick call", res)
	}
	if c, ok := b.r.Refused("ticker"); !ok || c.Version != "3.0.0" {
		t.Errorf("Refused(ticker) = %+v, %v", c, ok)
	}
	if p, _ := b.reg.Plugin("ticker"); p.Manifest.Version != "1.0.0" {
		t.Errorf("running %s after the refusal, want 1.0.0", p.Manifest.Version)
	}
	if b.r.Generation() == gen {
		t.Error("the generation did not move with the refusal")
	}
	// The running version's file back: the refusal is over.
	b.put(t, "ticker.wasm", "ticker")
	if res := b.reload(t); len(res.Refused)+len(res.Swapped) != 0 {
		t.Errorf("reload %+v, want nothing changed", res)
	}
	if c, ok := b.r.Refused("ticker"); ok {
		t.Errorf("Refused(ticker) = %+v after the running version's file came back", c)
	}
	b.put(t, "ticker.wasm", "ticker_v3")
	if res := b.reload(t); len(res.Refused) != 1 {
		t.Fatalf("reload %+v, want 3.0.0 refused again", res)
	}
	b.put(t, "ticker.wasm", "ticker_v2")
	res = b.reload(t)
	if len(res.Swapped) != 1 || res.Swapped[0].PreviousVersion != "1.0.0" || res.Swapped[0].Version != "2.0.0" {
		t.Fatalf("reload %+v, want ticker swapped from 1.0.0 to 2.0.0", res)
	}
	if _, ok := b.r.Refused("ticker"); ok {
		t.Error("the refused candidate is still shown after a version was swapped in")
	}
	if _, _, err := b.cat.Method("ticker", "tock"); err != nil {
		t.Errorf("the catalog does not know the new method: %v", err)
	}
	v, err := b.cat.Invoke(context.Background(), "ticker", abi.Envelope{Method: "tock", Args: json.RawMessage(`{}`)}, nil, nil)
	if err != nil || v != "2.0.0" {
		t.Errorf("Invoke(tock) ran on %q (%v), want 2.0.0", v, err)
	}

	// A second file claiming the name is refused; the plugin keeps running.
	b.put(t, "ticker-copy.wasm", "ticker")
	res = b.reload(t)
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error, `plugin name "ticker" is claimed by both ticker.wasm and ticker-copy.wasm`) {
		t.Errorf("reload %+v, want ticker-copy.wasm refused as a second ticker", res)
	}
	if err := os.Remove(filepath.Join(b.dir, "ticker-copy.wasm")); err != nil {
		t.Fatal(err)
	}

	// Renamed: the same plugin from another file, nothing removed.
	if err := os.Rename(filepath.Join(b.dir, "ticker.wasm"), filepath.Join(b.dir, "ticker-2.wasm")); err != nil {
		t.Fatal(err)
	}
	res = b.reload(t)
	if len(res.Swapped) != 1 || res.Swapped[0].File != "ticker-2.wasm" || len(res.Removed) != 0 {
		t.Errorf("reload after a rename %+v, want ticker from ticker-2.wasm and nothing removed", res)
	}
}

// TestReloadFailedFile: a file that fails to load is reported at every reload but
// loaded (and logged) once per content.
func TestReloadFailedFile(t *testing.T) {
	b := setup(t, 10*time.Millisecond, map[string]string{"noop.wasm": "noop"})
	b.put(t, "bad.wasm", "invalid")
	for range 3 {
		if res := b.reload(t); len(res.Failed) != 1 || res.Failed[0].File != "bad.wasm" {
			t.Fatalf("reload %+v, want bad.wasm failed", res)
		}
	}
	if n := b.logged("plugin candidate not loaded"); n != 1 {
		t.Errorf("the failure was logged %d times, want once", n)
	}
	b.put(t, "bad.wasm", "foreign") // another content: tried again
	if res := b.reload(t); len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error, "imports env.now") {
		t.Errorf("reload %+v, want the foreign import refused", res)
	}
}

// TestReloadPendingFile: a file that changes while the reload waits for it to settle is
// left for the next reload.
func TestReloadPendingFile(t *testing.T) {
	b := setup(t, 500*time.Millisecond, nil)
	bin, err := os.ReadFile(testplugins.Path(t, "ticker"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(b.dir, "ticker.wasm")
	if err := os.WriteFile(file, bin[:len(bin)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan client.Reload, 1)
	go func() {
		res, err := b.r.Reload(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	time.Sleep(100 * time.Millisecond) // the reload read the first half and waits
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bin[len(bin)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if res := <-done; len(res.Pending) != 1 || len(res.Failed)+len(res.Added) != 0 {
		t.Fatalf("reload while the file was written: %+v, want it pending", res)
	}
	if res := b.reload(t); len(res.Added) != 1 || res.Added[0].Version != "1.0.0" {
		t.Errorf("reload once written: %+v, want ticker added", res)
	}
}
