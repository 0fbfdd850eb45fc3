package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var ctx = context.Background()

// examplePlugins are the example plugins of every language: the API must describe and
// accept each of them.
var examplePlugins = []string{
	"example", "drip", "example_wat", "drip_wat", "example_c", "drip_c",
	"example_rust", "drip_rust", "example_as", "drip_as",
}

var (
	registryOnce    sync.Once
	registry        *plugin.Registry
	registryCatalog *catalog.Catalog
	registryErr     error
)

// plugins loads, once for the test binary, the example plugins and the probe test
// plugin with the real registry. A missing plugin file fails the test.
func plugins(t testing.TB) *plugin.Registry {
	t.Helper()
	registryOnce.Do(func() {
		var files []string
		for _, name := range examplePlugins {
			files = append(files, testplugins.Example(t, name))
		}
		files = append(files, testplugins.Path(t, "probe"))
		// The directory only needs to live while the modules are read and compiled.
		registry, registryErr = plugin.Load(ctx, plugin.Config{Dir: testplugins.DirWith(t, files...), CacheDir: testplugins.CacheDir(t)},
			slog.New(slog.DiscardHandler))
		if registryErr == nil && len(registry.Problems()) > 0 {
			registryErr = fmt.Errorf("plugins not loaded: %v", registry.Problems())
		}
		if registryErr == nil {
			registryCatalog, registryErr = catalog.New(registry, catalog.RetryPolicies{Default: abi.NoRetry})
		}
	})
	if registryErr != nil {
		t.Fatalf("load plugins: %v", registryErr)
	}
	return registry
}

// pluginCatalog is the catalog of the plugins, as host/app makes it.
func pluginCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	plugins(t)
	return registryCatalog
}

func apiPlugins(reg *plugin.Registry) []api.Plugin {
	var out []api.Plugin
	for _, p := range reg.Plugins() {
		out = append(out, api.Plugin{Manifest: p.Manifest, File: p.File})
	}
	return out
}

// env is an API on its own test database, served by an httptest server on loopback.
type env struct {
	store    *store.Store
	api      *api.API
	srv      *httptest.Server
	client   *client.Client
	registry *prometheus.Registry
	logs     *syncBuffer
	token    string
}

// newEnv starts an API with the real plugins; opts adjust its options.
func newEnv(t testing.TB, opts ...func(*api.Options)) *env {
	t.Helper()
	reg, cat := plugins(t), pluginCatalog(t)
	e := &env{store: testdb.Store(t, store.Options{}), registry: prometheus.NewRegistry(), logs: &syncBuffer{}}
	o := api.Options{
		Store:    e.store,
		Catalog:  cat,
		Plugins:  apiPlugins(reg),
		Metrics:  metrics.New(e.registry),
		Registry: e.registry,
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Host:     "api-test",
	}
	for _, f := range opts {
		f(&o)
	}
	if len(o.Tokens) > 0 {
		e.token = o.Tokens[0]
	}
	e.api = api.New(o)
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	var err error
	e.client, err = client.New(e.srv.URL, client.WithToken(e.token), client.WithHTTPClient(e.srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a raw request; a body is sent as JSON unless a Content-Type header is given.
// header is "Name: value" pairs.
func (e *env) do(t testing.TB, method, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ": ")
		if name == "Host" {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// apiError decodes an error answer, checking its shape.
func apiError(t testing.TB, resp *http.Response, body []byte) *client.Error {
	t.Helper()
	var eb struct{ Error *client.Error } // the error body: {"error": {…}}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("%d answer %s is not an error body (%v)", resp.StatusCode, body, err)
	}
	if eb.Error.RequestID == "" || eb.Error.RequestID != resp.Header.Get("X-Request-Id") {
		t.Errorf("request id %q, header %q", eb.Error.RequestID, resp.Header.Get("X-Request-Id"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	eb.Error.Status = resp.StatusCode
	return eb.Error
}

// rows counts the stored calls and history entries.
func (e *env) rows(t testing.TB) (calls, history int) {
	t.Helper()
	err := e.store.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM future_call), (SELECT count(*) FROM future_call_history)").Scan(&calls, &history)
	if err != nil {
		t.Fatal(err)
	}
	return calls, history
}

// count counts what a listing iterator yields, failing the test on an error.
func count[T any](t testing.TB, all iter.Seq2[T, error]) int {
	t.Helper()
	n := 0
	for _, err := range all {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
