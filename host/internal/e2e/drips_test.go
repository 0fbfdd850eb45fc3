package e2e

import (
	"context"
	"crypto/rand"
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

// drips are the drip plugins that send their follow-up e-mail through the operator's
// mail API, by language: each behaves as examples/go/drip does.
var drips = []struct{ lang, plugin string }{
	{"Go", "drip"},
	{"WAT", "drip_wat"},
	{"C", "drip_c"},
	{"Rust", "drip_rust"},
	{"AssemblyScript", "drip_as"},
}

// TestEveryDripSendsItsMail runs every language's drip plugin on one host, each granted
// its own path of one loopback mail API that answers 503 to the first attempt of each
// e-mail, with the token from a secret in the host's environment. Each follow-up must
// post the same e-mail (method, headers, body) on both attempts with one
// Idempotency-Key, succeed on the second, record the e-mail in the plugin's state, and
// send nothing for a second follow-up of the same user.
func TestEveryDripSendsItsMail(t *testing.T) {
	s := newSuite(t)
	api := newLoopbackAPI(t, true)
	token := "tok-" + rand.Text()
	var yaml strings.Builder
	yaml.WriteString("sandbox:\n  plugins:\n")
	var files []string
	for _, d := range drips {
		fmt.Fprintf(&yaml, `    %[1]s:
      http: {allow: [%[2]q]}
      config:
        mailUrl: %[2]s/%[1]s/send
        mailToken: env:E2E_MAIL_TOKEN
        from: campaigns@example.com
`, d.plugin, api.URL)
		files = append(files, testplugins.Example(t, d.plugin))
	}
	cfgFile := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(cfgFile, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h := s.start("drips", hostOptions{db: testdb.URL(t), plugins: testplugins.DirWith(t, files...),
		args: []string{"--config=" + cfgFile}, env: []string{"E2E_MAIL_TOKEN=" + token}})
	ctx := context.Background()

	// followUps schedules a follow-up of user 7 with plan on every drip (the plugins' own
	// retry policy: 3 attempts, 1 s apart), waits until each has want history entries,
	// and returns the calls' identifiers, by plugin.
	followUps := func(plan string, want int) map[string]int64 {
		var reqs []abi.ScheduleRequest
		for _, d := range drips {
			reqs = append(reqs, abi.ScheduleRequest{Plugin: d.plugin, Method: "followUp",
				Args: json.RawMessage(`{"signup": {"userId": 7, "email": "ada@example.com", "plan": "` + plan + `"}}`)})
		}
		ids := map[string]int64{}
		for i, c := range scheduleAll(t, []*client.Client{h.client}, reqs) {
			ids[drips[i].plugin] = c.ID
		}
		waitFor(t, 2*time.Minute, "every follow-up's attempts", func() (bool, string) {
			for plugin, id := range ids {
				page, err := h.client.History(ctx, client.HistoryOptions{CallID: id})
				if err != nil {
					return false, err.Error()
				}
				if len(page.Entries) < want {
					return false, fmt.Sprintf("%s: %d entries", plugin, len(page.Entries))
				}
			}
			return true, ""
		})
		return ids
	}
	first := followUps("free", 2)
	again := followUps("pro", 1)

	for _, d := range drips {
		t.Run(d.lang, func(t *testing.T) {
			followUp := first[d.plugin]
			mails := api.requests("/" + d.plugin + "/send")
			if len(mails) != 2 || mails[0].Key != fmt.Sprintf("fc-%d-1", followUp) || mails[1].Key != mails[0].Key {
				t.Fatalf("the mail API got %+v, want two attempts with Idempotency-Key fc-%d-1", mails, followUp)
			}
			want := map[string]any{"from": "campaigns@example.com", "to": "ada@example.com", "subject": "try the pro plan",
				"text": "Hello from the drip campaign: try the pro plan."}
			for i, m := range mails {
				if m.Method != "POST" || m.Authorization != "Bearer "+token || m.ContentType != "application/json" || !equalJSON(m.json(), want) {
					t.Errorf("attempt %d's e-mail: %s %+v, want POST with the token, JSON %v", i+1, m.Method, m, want)
				}
			}

			page, err := h.client.History(ctx, client.HistoryOptions{CallID: followUp})
			if err != nil {
				t.Fatal(err)
			}
			e := page.Entries // newest first
			if len(e) != 2 || e[1].Outcome != abi.OutcomeFailed || !strings.HasSuffix(e[1].Error, "mail API answered 503") ||
				e[1].HTTPRequests != 1 || e[0].Outcome != abi.OutcomeSucceeded || e[0].HTTPRequests != 1 {
				t.Errorf("followUp's history: %+v, want a failure with \"mail API answered 503\", then a success, one request each", e)
			}

			entry, err := h.client.StateValue(ctx, d.plugin, "mailed-7")
			if err != nil {
				t.Fatal(err)
			}
			var mailed map[string]any
			if err := json.Unmarshal(entry.Value, &mailed); err != nil ||
				!equalJSON(mailed, map[string]any{"count": 1, "lastCall": followUp}) {
				t.Errorf("the state mailed-7 = %s (%v), want {\"count\": 1, \"lastCall\": %d}", entry.Value, err, followUp)
			}

			// The second follow-up of user 7 finds the first in the state: no e-mail.
			page, err = h.client.History(ctx, client.HistoryOptions{CallID: again[d.plugin]})
			if err != nil {
				t.Fatal(err)
			}
			skipped := fmt.Sprintf("follow-up e-mail to ada@example.com already sent by call %d: skipped", followUp)
			if e := page.Entries; len(e) != 1 || e[0].Outcome != abi.OutcomeSucceeded || e[0].HTTPRequests != 0 {
				t.Errorf("the second follow-up's history: %+v, want one success without a request", e)
			}
			if n := len(api.requests("/" + d.plugin + "/send")); n != 2 || !h.logged(d.plugin, skipped) {
				t.Errorf("after a second follow-up the mail API got %d requests in all, want still 2, and %s logged %q", n, d.plugin, skipped)
			}
		})
	}
	if strings.Contains(string(h.output()), token) {
		t.Error("the mail token is in the host's log")
	}
}

// equalJSON tells whether got, decoded from JSON, is want once want goes through JSON
// too (numbers become float64).
func equalJSON(got, want map[string]any) bool {
	a, errA := json.Marshal(got)
	b, errB := json.Marshal(want)
	return errA == nil && errB == nil && string(a) == string(b)
}

// logged tells whether the host logged a line of plugin whose message is msg.
func (h *host) logged(plugin, msg string) bool {
	for _, l := range h.lines() {
		if l.str("plugin") == plugin && l.str("msg") == msg {
			return true
		}
	}
	return false
}
