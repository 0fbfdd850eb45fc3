package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestGrants runs a host whose fetch plugin is granted one loopback server and
// configuration with two secrets (env: and file:), as an operator configures it in
// YAML. What arrives at the server is what the plugin sent, with the same
// Idempotency-Key on both attempts of a retried call; a URL not granted is refused with
// a clear error in the history; the history counts each attempt's requests; and neither
// secret appears in the host's log, the API's answers (history, calls, plugins,
// OpenAPI, metrics) or `host config`. A secret that cannot be read stops the host,
// naming its key.
func TestGrants(t *testing.T) {
	url := testdb.URL(t)
	s := newSuite(t)
	mail := newLoopbackAPI(t, false)
	envSecret, fileSecret := "3nv-s3cret-"+rand.Text(), "f1le-s3cret-"+rand.Text()
	secretFile := filepath.Join(t.TempDir(), "mail-key")
	if err := os.WriteFile(secretFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "host.yaml")
	yaml := fmt.Sprintf(`
sandbox:
  plugins:
    fetch:
      retry: {maxAttempts: 2, backoff: 100ms}
      http:
        allow: [%q]
      config:
        from: noreply@example.com
        token: env:E2E_MAIL_TOKEN
        key: file:%s
        sink: %s/sink
`, mail.URL, secretFile, mail.URL)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	o := hostOptions{db: url, plugins: testplugins.DirWith(t, testplugins.Path(t, "fetch")),
		args: []string{"--config=" + cfgFile}, env: []string{"E2E_MAIL_TOKEN=" + envSecret}}

	// A missing secret stops the host at start, naming the key and not the value.
	_, stderr, code := s.run(2*time.Minute, hostOptions{db: url, plugins: o.plugins, args: o.args}, "run")
	if code == 0 || !strings.Contains(stderr, "sandbox.plugins.fetch.config.token: the secret's environment variable E2E_MAIL_TOKEN is not set") {
		t.Fatalf("host without its secret: exit code %d, stderr:\n%s", code, tailLines([]byte(stderr), 10))
	}

	h := s.start("granted", o)
	ctx := context.Background()
	request := func(r abi.HTTPRequest) json.RawMessage {
		b, _ := json.Marshal(map[string]abi.HTTPRequest{"request": r})
		return b
	}
	calls := scheduleAll(t, []*client.Client{h.client}, []abi.ScheduleRequest{
		{Plugin: "fetch", Method: "retry", Args: request(abi.HTTPRequest{Method: "POST", URL: mail.URL + "/mail", Body: "welcome"})},
		{Plugin: "fetch", Method: "fetch", Args: request(abi.HTTPRequest{URL: strings.Replace(mail.URL, "127.0.0.1", "localhost", 1) + "/mail"}),
			Retry: &abi.RetryPolicy{MaxAttempts: 1}},
		{Plugin: "fetch", Method: "config", Args: json.RawMessage(`{"key": "token"}`)},
		{Plugin: "fetch", Method: "config", Args: json.RawMessage(`{"key": "key"}`)},
		{Plugin: "fetch", Method: "config", Args: json.RawMessage(`{"key": "missing"}`), Retry: &abi.RetryPolicy{MaxAttempts: 1}},
	})
	retried, denied, token, key, missing := calls[0].ID, calls[1].ID, calls[2].ID, calls[3].ID, calls[4].ID

	history := map[int64][]client.HistoryEntry{}
	waitFor(t, time.Minute, "every attempt in the history", func() (bool, string) {
		clear(history)
		n := 0
		for e, err := range h.client.HistoryAll(ctx, client.HistoryOptions{Plugin: "fetch"}) {
			if err != nil {
				return false, err.Error()
			}
			history[e.CallID] = append(history[e.CallID], e)
			n++
		}
		return n == 6, fmt.Sprintf("%d entries", n)
	})

	// Both attempts of the retried call sent the same key; each attempt made one request.
	got := mail.requests("/mail")
	if len(got) != 2 || got[0].Key != fmt.Sprintf("fc-%d-1", retried) || got[1].Key != got[0].Key ||
		got[0].Method != "POST" || got[0].Body != "welcome" {
		t.Errorf("the server got %+v, want two POSTs of the retried call with Idempotency-Key fc-%d-1", got, retried)
	}
	for _, e := range history[retried] {
		if e.Outcome != abi.OutcomeFailed || e.HTTPRequests != 1 || !strings.HasSuffix(e.Error, "failing after the request") {
			t.Errorf("retried call's attempt %d: %+v, want failed with 1 request", e.Attempt, e)
		}
	}
	if e := history[denied]; len(e) != 1 || e[0].HTTPRequests != 1 ||
		!strings.Contains(e[0].Error, "fc.http -5: GET "+strings.Replace(mail.URL, "127.0.0.1", "localhost", 1)+"/mail: not allowed by the plugin's http.allow") {
		t.Errorf("request to a host not granted: %+v", e)
	}
	if e := history[missing]; len(e) != 1 || !strings.Contains(e[0].Error, `fc.config -4: plugin fetch has no configuration value "missing"`) {
		t.Errorf("missing configuration value: %+v", e)
	}
	// The secrets reached the server the plugin sent them to, and only there.
	sunk := mail.requests("/sink")
	bodies := map[string]bool{}
	for _, r := range sunk {
		bodies[r.Body] = true
	}
	if !bodies[envSecret] || !bodies[fileSecret] {
		t.Errorf("the sink got %d requests without both secrets", len(sunk))
	}
	for _, id := range []int64{token, key} {
		if e := history[id]; len(e) != 1 || e[0].Outcome != abi.OutcomeSucceeded || e[0].HTTPRequests != 1 {
			t.Errorf("call %d: %+v, want one successful attempt with 1 request", id, e)
		}
	}

	// Every request got one log line, without its query or body.
	lines := h.find("http request")
	if len(lines) != 5 {
		t.Errorf("%d http request log lines, want 5", len(lines))
	}

	var outputs []string
	for _, path := range []string{"/v1/history?plugin=fetch", "/v1/calls", "/v1/plugins", "/v1/plugins/fetch", "/openapi.json", "/metrics"} {
		resp, err := http.Get(h.api + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		outputs = append(outputs, path+": "+string(body))
		if path == "/metrics" && !strings.Contains(string(body), `futurecalls_http_requests_total{class="2xx",plugin="fetch"} 4`) {
			t.Errorf("metrics: no count of 4 successful requests:\n%s", grepLines(string(body), "futurecalls_http"))
		}
	}
	printed, stderr, code := s.run(time.Minute, o, "config")
	if code != 0 || !strings.Contains(printed, "token: env:E2E_MAIL_TOKEN") {
		t.Errorf("host config: exit %d, output:\n%s\n%s", code, printed, stderr)
	}
	outputs = append(outputs, "host config: "+printed+stderr)
	h.shutdown(30 * time.Second)
	outputs = append(outputs, "host log: "+string(h.output()))
	for _, out := range outputs {
		for _, secret := range []string{envSecret, fileSecret} {
			if strings.Contains(out, secret) {
				where, _, _ := strings.Cut(out, ":")
				t.Errorf("a secret appears in %s", where)
			}
		}
	}
}

// grepLines keeps the lines of text that contain word.
func grepLines(text, word string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
