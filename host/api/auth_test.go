package api_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/sdk/client"
)

const (
	token      = "a-long-random-token-for-tests"
	otherToken = "another-long-random-token"
)

// guardedRoutes is every route that needs a token when tokens are configured.
var guardedRoutes = []struct{ method, path, body string }{
	{http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork"}`},
	{http.MethodPost, "/v1/calls/batch", `{"calls": [{"plugin": "example", "method": "doWork"}]}`},
	{http.MethodGet, "/v1/calls", ""},
	{http.MethodDelete, "/v1/calls?identifier=x", ""},
	{http.MethodGet, "/v1/calls/1", ""},
	{http.MethodDelete, "/v1/calls/1", ""},
	{http.MethodGet, "/v1/history", ""},
	{http.MethodGet, "/v1/plugins", ""},
	{http.MethodGet, "/v1/plugins/example", ""},
	{http.MethodPost, "/v1/plugins/reload", ""},
	{http.MethodGet, "/v1/nothing", ""},
	{http.MethodPut, "/v1/calls", ""},
	{http.MethodGet, "/openapi.json", ""},
	{http.MethodGet, "/metrics", ""},
}

func TestTokensGuardEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.Tokens = []string{token, otherToken} })
	for _, r := range guardedRoutes {
		for _, auth := range []string{"", "Bearer wrong-token-of-some-length", "Bearer " + token + "x", "Basic " + token, "Bearer", token} {
			header := []string{"Authorization: " + auth}
			if auth == "" {
				header = []string{"Authorization: "} // no header at all
			}
			resp, body := e.do(t, r.method, r.path, r.body, header...)
			apiErr := apiError(t, resp, body)
			if resp.StatusCode != 401 || apiErr.Code != client.CodeUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %q: %d %s, want 401 with WWW-Authenticate", r.method, r.path, auth, resp.StatusCode, body)
			}
		}
		for _, tok := range []string{token, otherToken} {
			resp, body := e.do(t, r.method, r.path, r.body, "Authorization: bearer "+tok)
			if resp.StatusCode == 401 || resp.StatusCode == 403 {
				t.Errorf("%s %s with a good token: %d %s", r.method, r.path, resp.StatusCode, body)
			}
		}
	}
	// Probes stay open.
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := e.do(t, http.MethodGet, path, "", "Authorization: "); resp.StatusCode != 200 {
			t.Errorf("%s without a token: %d %s", path, resp.StatusCode, body)
		}
	}
	// With tokens any host name is served (behind a proxy, say).
	if resp, body := e.do(t, http.MethodGet, "/v1/plugins", "", "Host: futurecalls.example.com"); resp.StatusCode != 200 {
		t.Errorf("other host with a token: %d %s", resp.StatusCode, body)
	}
	// Each token stored two calls (single and batch), and one was cancelled by
	// DELETE /v1/calls/1: nothing else happened.
	if calls, history := e.rows(t); calls != 3 || history != 1 {
		t.Errorf("%d calls and %d history rows, want 3 and 1", calls, history)
	}
	// The client sends its token.
	if _, err := e.client.Plugins(ctx); err != nil {
		t.Error(err)
	}
	noToken, err := client.New(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *client.Error
	if _, err := noToken.Plugins(ctx); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("client without token: %v", err)
	}
}

func TestWithoutTokensOnlyLoopbackHostsAreServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, host := range []string{"localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080", "127.1.2.3"} {
		if resp, body := e.do(t, http.MethodGet, "/v1/plugins", "", "Host: "+host); resp.StatusCode != 200 {
			t.Errorf("Host %s: %d %s", host, resp.StatusCode, body)
		}
	}
	for _, host := range []string{"evil.example:8080", "10.0.0.1", "localhost.evil.example"} {
		for _, r := range guardedRoutes {
			resp, body := e.do(t, r.method, r.path, r.body, "Host: "+host)
			if apiErr := apiError(t, resp, body); resp.StatusCode != 403 || apiErr.Code != client.CodeForbiddenHost {
				t.Errorf("%s %s for Host %s: %d %s, want 403", r.method, r.path, host, resp.StatusCode, body)
			}
		}
		if resp, _ := e.do(t, http.MethodGet, "/healthz", "", "Host: "+host); resp.StatusCode != 200 {
			t.Errorf("healthz for Host %s: %d", host, resp.StatusCode)
		}
	}
	if calls, _ := e.rows(t); calls != 0 {
		t.Errorf("%d calls stored by refused requests", calls)
	}
}

func TestServeRefusesAnOpenListenerWithoutTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	err = e.api.Serve(ctx, ln)
	if err == nil || !strings.Contains(err.Error(), "without tokens") || !strings.Contains(err.Error(), "api.tokens") {
		t.Fatalf("Serve on %s without tokens: %v", ln.Addr(), err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the refused listener is still open")
	}

	withTokens := newEnv(t, func(o *api.Options) { o.Tokens = []string{token} })
	serveAndStop(t, withTokens.api, "0.0.0.0:0", token)
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveAndStop(t, e.api, "127.0.0.1:0", "")
}

// serveAndStop serves a on addr, schedules one call through it, and checks that Serve
// returns nil soon after its context ends.
func serveAndStop(t *testing.T, a *api.API, addr, tok string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(serveCtx, ln) }()
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := client.New("http://127.0.0.1:"+strconv.Itoa(port), client.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork"}); err != nil {
		t.Errorf("through Serve: %v", err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := c.Plugins(ctx); err == nil {
		t.Error("still serving after shutdown")
	}
}
