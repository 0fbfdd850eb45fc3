package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/reload"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// reloadedPlugins shows the registry's plugins with the reloader's refused candidates,
// as host/app does.
type reloadedPlugins struct {
	reg *plugin.Registry
	r   *reload.Reloader
}

func (s reloadedPlugins) Plugins() (uint64, []api.Plugin) {
	gen := s.r.Generation()
	var out []api.Plugin
	for _, p := range s.reg.Plugins() {
		ap := api.Plugin{Manifest: p.Manifest, File: p.File, LoadedAt: p.LoadedAt, SHA256: p.SHA256}
		if c, ok := s.r.Refused(p.Name); ok {
			ap.Refused = &c
		}
		out = append(out, ap)
	}
	return gen, out
}

// TestReload: POST /v1/plugins/reload answers what changed, GET /v1/plugins/{name}
// shows the running version's hash and a refused candidate, all in the document's
// shape, and /openapi.json follows the swap.
func TestReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	put := func(name string) string {
		t.Helper()
		bin, err := os.ReadFile(testplugins.Path(t, name))
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, ".ticker.wasm.tmp")
		if err := os.WriteFile(tmp, bin, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "ticker.wasm")); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(bin)
		return hex.EncodeToString(sum[:])
	}
	v1 := put("ticker")
	reg, err := plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(ctx) })
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *api.Options) {
		r := reload.New(reload.Options{Dir: dir, Registry: reg, Catalog: cat, Store: o.Store, Settle: time.Millisecond})
		o.Catalog, o.Plugins, o.PluginSource, o.Reloader = cat, nil, reloadedPlugins{reg, r}, r
	})
	c := newContract(t, e, map[string]bool{})
	get := func(path string, into any) {
		t.Helper()
		resp, body := e.do(t, http.MethodGet, path, "")
		c.checkAnswer(t, http.MethodGet, strings.Replace(path, "/ticker", "/{name}", 1), resp, body)
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatal(err)
		}
	}
	reloadNow := func() client.Reload {
		t.Helper()
		resp, body := e.do(t, http.MethodPost, "/v1/plugins/reload", "")
		c.checkAnswer(t, http.MethodPost, "/v1/plugins/reload", resp, body)
		var r client.Reload
		if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("reload: %d %s", resp.StatusCode, body)
		}
		return r
	}

	if resp, body := e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "ticker", "method": "tick", "args": {"n": 1}, "delay": "1h"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("schedule: %d %s", resp.StatusCode, body)
	}
	put("ticker_v3")
	if r := reloadNow(); len(r.Refused) != 1 || r.Refused[0].Broken != 1 {
		t.Errorf("reload %+v, want ticker 3.0.0 refused", r)
	}
	var p client.Plugin
	get("/v1/plugins/ticker", &p)
	if p.Version != "1.0.0" || p.SHA256 != v1 || p.LoadedAt == nil || p.RefusedCandidate == nil ||
		!strings.Contains(p.RefusedCandidate.Reason, "would break 1 stored calls") {
		t.Errorf("GET /v1/plugins/ticker = %+v (refused %+v), want 1.0.0 with its hash and 3.0.0 refused", p, p.RefusedCandidate)
	}

	v2 := put("ticker_v2")
	if r := reloadNow(); len(r.Swapped) != 1 || r.Swapped[0].SHA256 != v2 {
		t.Errorf("reload %+v, want ticker 2.0.0 swapped in", r)
	}
	var list client.PluginList
	get("/v1/plugins", &list)
	if len(list.Plugins) != 1 || list.Plugins[0].Version != "2.0.0" || list.Plugins[0].RefusedCandidate != nil {
		t.Errorf("GET /v1/plugins = %+v, want ticker 2.0.0 alone", list)
	}
	if _, body := e.do(t, http.MethodGet, "/openapi.json", ""); !strings.Contains(string(body), "ticker.tock.") {
		t.Error("/openapi.json does not describe the method the new version added")
	}
	if r := reloadNow(); len(r.Added)+len(r.Swapped)+len(r.Removed)+len(r.Refused)+len(r.Failed) != 0 {
		t.Errorf("a second reload changed %+v", r)
	}
}
