package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// flakyAPI is a loopback API that fails the first request of every Idempotency-Key
// with 503 and accepts the later ones, as an API that is briefly down does.
type flakyAPI struct {
	*httptest.Server
	mu  sync.Mutex
	got []apiRequest
}

type apiRequest struct {
	Path, Key, Authorization, ContentType, Extra string
	Body                                         map[string]any
}

func newFlakyAPI(t *testing.T) *flakyAPI {
	a := &flakyAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := apiRequest{Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"), Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Extra: r.Header.Get("X-Extra")}
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		first := true
		for _, g := range a.got {
			first = first && g.Key != req.Key
		}
		a.got = append(a.got, req)
		if first {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *flakyAPI) requests(path string) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiRequest
	for _, r := range a.got {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// TestExamplesReachTheirAPIs runs the Go examples that use capabilities as an operator
// would deploy them: drip's follow-up e-mail goes to a mail API with the token from a
// secret, is retried after the API's 503 with the same Idempotency-Key (so the API
// sends it once), and is recorded in the plugin's state, so that a second follow-up of
// the same user sends nothing; webhook posts its payload
// with the caller's headers, and a URL outside its grant fails the call with the
// reason.
func TestExamplesReachTheirAPIs(t *testing.T) {
	s := newSuite(t)
	api := newFlakyAPI(t)
	token := "tok-" + rand.Text()
	cfgFile := filepath.Join(t.TempDir(), "host.yaml")
	yaml := fmt.Sprintf(`
sandbox:
  plugins:
    drip:
      http: {allow: [%[1]q]}
      config:
        mailUrl: %[1]s/v1/send
        mailToken: env:E2E_MAIL_TOKEN
        from: campaigns@example.com
    webhook:
      retry: {maxAttempts: 3, backoff: 100ms}
      http: {allow: [%[1]q]}
`, api.URL)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h := s.start("examples", hostOptions{db: testdb.URL(t),
		plugins: testplugins.DirWith(t, testplugins.Example(t, "drip"), testplugins.Example(t, "webhook")),
		args:    []string{"--config=" + cfgFile}, env: []string{"E2E_MAIL_TOKEN=" + token}})
	ctx := context.Background()

	calls := scheduleAll(t, []*client.Client{h.client}, []abi.ScheduleRequest{
		// The drip plugin's own retry policy (3 attempts, 1 s apart) applies.
		{Plugin: "drip", Method: "followUp", Args: json.RawMessage(`{"signup": {"userId": 7, "email": "ada@example.com", "plan": "free"}}`)},
		{Plugin: "webhook", Method: "post", Args: json.RawMessage(fmt.Sprintf(
			`{"url": %q, "payload": {"order": 42, "status": "unpaid"}, "headers": {"X-Extra": "yes"}}`, api.URL+"/hooks/orders"))},
		{Plugin: "webhook", Method: "post", Args: json.RawMessage(`{"url": "https://hooks.elsewhere.example/secret-path?token=x", "payload": {}}`),
			Retry: &abi.RetryPolicy{MaxAttempts: 1}},
	})
	followUp, hook, denied := calls[0].ID, calls[1].ID, calls[2].ID

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
		return n == 5, fmt.Sprintf("%d entries", n)
	})

	// drip: two attempts with one key, the e-mail as the plugin wrote it.
	mails := api.requests("/v1/send")
	if len(mails) != 2 || mails[0].Key != fmt.Sprintf("fc-%d-1", followUp) || mails[1].Key != mails[0].Key {
		t.Fatalf("the mail API got %+v, want two attempts with Idempotency-Key fc-%d-1", mails, followUp)
	}
	m := mails[1]
	if m.Authorization != "Bearer "+token || m.ContentType != "application/json" || m.Body["from"] != "campaigns@example.com" ||
		m.Body["to"] != "ada@example.com" || m.Body["subject"] != "try the pro plan" {
		t.Errorf("the e-mail: %+v", m)
	}
	if e := history[followUp]; len(e) != 2 || e[0].Outcome != abi.OutcomeFailed || !strings.HasSuffix(e[0].Error, ": mail API answered 503") ||
		e[1].Outcome != abi.OutcomeSucceeded || e[1].HTTPRequests != 1 {
		t.Errorf("followUp's history: %+v", e)
	}
	entry, err := h.client.StateValue(ctx, "drip", "mailed-7")
	if err != nil {
		t.Fatal(err)
	}
	var mailed struct{ Count, LastCall int64 }
	if err := json.Unmarshal(entry.Value, &mailed); err != nil || mailed.Count != 1 || mailed.LastCall != followUp {
		t.Errorf("drip's state mailed-7 = %s (%v), want one e-mail by call %d", entry.Value, err, followUp)
	}

	// A second follow-up for the same user finds the first in the state: no e-mail.
	again := scheduleAll(t, []*client.Client{h.client}, []abi.ScheduleRequest{{Plugin: "drip", Method: "followUp",
		Args: json.RawMessage(`{"signup": {"userId": 7, "email": "ada@example.com", "plan": "pro"}}`)}})[0].ID
	waitFor(t, time.Minute, "the second follow-up", func() (bool, string) {
		page, err := h.client.History(ctx, client.HistoryOptions{CallID: again})
		if err != nil {
			return false, err.Error()
		}
		return len(page.Entries) == 1, fmt.Sprintf("%d entries", len(page.Entries))
	})
	if n := len(api.requests("/v1/send")); n != 2 || !strings.Contains(string(h.output()), fmt.Sprintf("already sent by call %d: skipped", followUp)) {
		t.Errorf("a second follow-up of user 7: the mail API got %d requests in all, want still 2, and a line saying it was skipped", n)
	}

	// webhook: the payload and the caller's header, retried once past the 503.
	hooks := api.requests("/hooks/orders")
	if len(hooks) != 2 || hooks[1].Key != hooks[0].Key || hooks[1].Extra != "yes" || hooks[1].Body["order"] != float64(42) {
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
	if strings.Contains(string(h.output()), token) {
		t.Error("the mail token is in the host's log")
	}
}
