package e2e

import (
	"context"
	"encoding/json"
	"fmt"
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

// TestExamplesReachTheirAPIs runs the webhook example as an operator would deploy it:
// it posts its payload with the caller's headers, is retried after the receiver's 503
// with the same Idempotency-Key, and a URL outside its grant fails the call with the
// reason. (Every language's drip is TestEveryDripSendsItsMail's.)
func TestExamplesReachTheirAPIs(t *testing.T) {
	s := newSuite(t)
	api := newLoopbackAPI(t, true)
	cfgFile := filepath.Join(t.TempDir(), "host.yaml")
	yaml := fmt.Sprintf(`
sandbox:
  plugins:
    webhook:
      retry: {maxAttempts: 3, backoff: 100ms}
      http: {allow: [%[1]q]}
`, api.URL)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h := s.start("examples", hostOptions{db: testdb.URL(t),
		plugins: testplugins.DirWith(t, testplugins.Example(t, "webhook")),
		args:    []string{"--config=" + cfgFile}})
	ctx := context.Background()

	calls := scheduleAll(t, []*client.Client{h.client}, []abi.ScheduleRequest{
		{Plugin: "webhook", Method: "post", Args: json.RawMessage(fmt.Sprintf(
			`{"url": %q, "payload": {"order": 42, "status": "unpaid"}, "headers": {"X-Extra": "yes"}}`, api.URL+"/hooks/orders"))},
		{Plugin: "webhook", Method: "post", Args: json.RawMessage(`{"url": "https://hooks.elsewhere.example/secret-path?token=x", "payload": {}}`),
			Retry: &abi.RetryPolicy{MaxAttempts: 1}},
	})
	hook, denied := calls[0].ID, calls[1].ID

	history := map[int64][]client.HistoryEntry{}
	waitFor(t, 2*time.Minute, "every attempt in the history", func() (bool, string) {
		clear(history)
		n := 0
		for e, err := range h.client.HistoryAll(ctx, client.HistoryOptions{}) {
			if err != nil {
				return false, err.Error()
			}
			history[e.CallID] = append([]client.HistoryEntry{e}, history[e.CallID]...) // oldest first
			n++
		}
		return n == 3, fmt.Sprintf("%d entries", n)
	})

	// webhook: the payload and the caller's header, retried once past the 503.
	hooks := api.requests("/hooks/orders")
	if len(hooks) != 2 || hooks[1].Key != hooks[0].Key || hooks[1].Extra != "yes" || hooks[1].json()["order"] != float64(42) {
		t.Errorf("the webhook receiver got %+v", hooks)
	}
	if e := history[hook]; len(e) != 2 || e[1].Outcome != abi.OutcomeSucceeded ||
		!strings.HasSuffix(e[0].Error, ": the webhook receiver at "+api.URL+" answered 503") {
		t.Errorf("webhook's history: %+v", e)
	}
	if e := history[denied]; len(e) != 1 ||
		!strings.HasSuffix(e[0].Error, "fc.http: denied: POST https://hooks.elsewhere.example/secret-path: not allowed by the plugin's http.allow") {
		t.Errorf("a webhook outside the grant: %+v", e)
	}
}
