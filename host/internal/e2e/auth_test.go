package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestAuth runs a host with two tokens, listening on every interface, and sends every
// route of its OpenAPI document under /v1 (and the document and metrics themselves)
// without a token and with wrong ones: each must answer 401 with the API's error
// shape and a WWW-Authenticate challenge. With either token, none answers 401 or 5xx;
// the probes stay open.
func TestAuth(t *testing.T) {
	url := testdb.URL(t)
	s := newSuite(t)
	tokens := []string{"e2e-token-one-0123456789", "e2e-token-two-9876543210"}
	h := s.start("host", hostOptions{db: url, plugins: testplugins.DirWith(t, testplugins.Path(t, "probe")),
		listenHost: "0.0.0.0", env: []string{"FC_API_TOKENS=" + strings.Join(tokens, ",")}, token: tokens[1]})

	// Every route of the OpenAPI document, read with a token.
	status, body := send(t, h, http.MethodGet, "/openapi.json", "Bearer "+tokens[0])
	if status != http.StatusOK {
		t.Fatalf("GET /openapi.json with a token: %d %s", status, body)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	type route struct{ method, path string }
	var routes []route
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/v1") {
			continue
		}
		for method := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
				// Path parameters get values of their type.
				p := strings.NewReplacer("{id}", "1", "{name}", "probe").Replace(path)
				routes = append(routes, route{strings.ToUpper(method), p})
			}
		}
	}
	slices.SortFunc(routes, func(a, b route) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	// The document lists at least the routes the API had when this test was written.
	for _, want := range []route{{"POST", "/v1/calls"}, {"GET", "/v1/calls"}, {"DELETE", "/v1/calls"},
		{"POST", "/v1/calls/batch"}, {"GET", "/v1/calls/1"}, {"DELETE", "/v1/calls/1"}, {"GET", "/v1/history"},
		{"GET", "/v1/plugins"}, {"GET", "/v1/plugins/probe"}} {
		if !slices.Contains(routes, want) {
			t.Errorf("the OpenAPI document lacks %s %s", want.method, want.path)
		}
	}
	routes = append(routes, route{"GET", "/openapi.json"}, route{"GET", "/metrics"},
		route{"GET", "/v1"}, route{"GET", "/v1/no-such-route"})

	wrong := []struct{ name, header string }{
		{"no token", ""},
		{"wrong token", "Bearer not-a-token-of-this-host"},
		{"empty token", "Bearer "},
		{"a prefix of a token", "Bearer " + tokens[0][:10]},
		{"a token with more after it", "Bearer " + tokens[0] + "x"},
		{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+tokens[0]))},
		{"token without scheme", tokens[0]},
	}
	checked := 0
	for _, r := range routes {
		for _, w := range wrong {
			status, body := send(t, h, r.method, r.path, w.header)
			var e struct{ Error *client.Error } // the API's error body
			if status != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error == nil || e.Error.Code != client.CodeUnauthorized {
				t.Errorf("%s %s with %s: %d %s, want 401 %s", r.method, r.path, w.name, status, body, client.CodeUnauthorized)
			}
			checked++
		}
		for i, token := range tokens {
			if status, body := send(t, h, r.method, r.path, "Bearer "+token); status == http.StatusUnauthorized || status >= 500 {
				t.Errorf("%s %s with token %d: %d %s", r.method, r.path, i+1, status, body)
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := send(t, h, http.MethodGet, path, ""); status != http.StatusOK {
			t.Errorf("GET %s without a token: %d %s, want 200: probes need no token", path, status, body)
		}
	}

	// The Go client: with a token it schedules, without one it gets the API's 401.
	call, err := h.client.Schedule(context.Background(), abi.ScheduleRequest{Plugin: "probe", Method: "echo",
		Args: json.RawMessage(`{"text": "with a token"}`)})
	if err != nil {
		t.Errorf("schedule with a token: %v", err)
	}
	anonymous, err := client.New(h.api)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *client.Error
	if _, err := anonymous.Get(context.Background(), call.ID); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("get without a token: %v, want a 401 *client.Error", err)
	}
	t.Logf("auth: %d routes, %d requests without a valid token, each answered 401", len(routes), checked)
}

// send sends one request to h with the given Authorization header (none when empty)
// and returns the status and body, checking the 401 challenge header.
func send(t *testing.T, h *host, method, path, authorization string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{}`)
	}
	req, err := http.NewRequest(method, h.api+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s %s: 401 without a Bearer challenge in WWW-Authenticate", method, path)
	}
	return resp.StatusCode, string(b)
}

// TestOpenListenerNeedsTokens starts the host on addresses other machines can reach,
// without tokens: it must refuse to start, saying why, before it runs anything.
func TestOpenListenerNeedsTokens(t *testing.T) {
	url := testdb.URL(t)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	for _, listen := range []string{"0.0.0.0", "", "::", "192.0.2.1"} {
		addr := net.JoinHostPort(listen, strconv.Itoa(freePort(t)))
		t.Run(fmt.Sprintf("listen=%q", addr), func(t *testing.T) {
			start := time.Now()
			_, stderr, code := s.run(30*time.Second, hostOptions{db: url, plugins: plugins}, "run", "--api.listen="+addr)
			if code != 1 || !strings.Contains(stderr, "api.listen") || !strings.Contains(stderr, "api.tokens") {
				t.Errorf("exit code %d, stderr:\n%s\nwant 1 and a message naming api.listen and api.tokens", code, stderr)
			}
			t.Logf("refused in %s: %s", time.Since(start).Round(time.Millisecond), firstLineOf(stderr, "api.listen"))
		})
	}
}

// firstLineOf returns the first line of text that contains substr.
func firstLineOf(text, substr string) string {
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
