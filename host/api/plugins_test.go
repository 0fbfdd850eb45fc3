package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestPlugins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list, err := e.client.Plugins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	want := append(slices.Clone(examplePlugins), "probe")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("plugins %v, want %v", names, want)
	}

	p, err := e.client.Plugin(ctx, "example")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "1.0.0" || p.File != "example.wasm" || p.Description == "" || len(p.Calls) != 2 ||
		p.Calls[1].Name != "doOtherWork" || p.Calls[1].Params[0].Name != "data" || string(p.Calls[1].Params[0].Schema) != `{"type":"string"}` {
		t.Errorf("example = %+v", p)
	}
	drip, err := e.client.Plugin(ctx, "drip")
	if err != nil {
		t.Fatal(err)
	}
	welcome := drip.Calls[0]
	if welcome.Name != "welcome" || len(welcome.Params) != 2 || !welcome.Params[1].Optional ||
		!strings.Contains(string(welcome.Params[0].Schema), `"enum":["free","pro"]`) {
		t.Errorf("drip.welcome = %+v", welcome)
	}
	// The answer carries no path of the host's file system.
	_, body := e.do(t, http.MethodGet, "/v1/plugins", "")
	if strings.Contains(string(body), "/") && strings.Contains(string(body), "\"file\":\"/") {
		t.Errorf("plugin list shows a path: %s", body)
	}

	var apiErr *client.Error
	if _, err := e.client.Plugin(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != client.CodeUnknownPlugin ||
		!strings.Contains(apiErr.Message, `"nope"`) {
		t.Errorf("unknown plugin: %v", err)
	}
	resp, body := e.do(t, http.MethodGet, "/v1/plugins?verbose=1", "")
	if resp.StatusCode != 400 {
		t.Errorf("unknown parameter: %d %s", resp.StatusCode, body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := e.do(t, http.MethodGet, path, "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	noPlugins := newEnv(t, func(o *api.Options) {
		o.Plugins = nil
		o.Ready = func(context.Context) error { return errors.New("executor not started") }
	})
	resp, body := noPlugins.do(t, http.MethodGet, "/readyz", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "no plugins loaded") || !strings.Contains(string(body), "executor not started") {
		t.Errorf("readyz without plugins: %d %s", resp.StatusCode, body)
	}
	if resp, _ := noPlugins.do(t, http.MethodGet, "/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}

	if resp, body := e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork"}`); resp.StatusCode != 201 {
		t.Fatalf("schedule: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, http.MethodGet, "/metrics", "")
	for _, want := range []string{`futurecalls_scheduled_total{method="doWork",plugin="example",source="api"} 1`, "futurecalls_claimed_total 0", "go_goroutines"} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s (%d)", want, resp.StatusCode)
		}
	}
}
