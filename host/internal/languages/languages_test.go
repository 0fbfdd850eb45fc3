// Package languages runs the example plugins of every language through the host: each is
// scheduled over the REST API, runs in the sandbox under the executor, and shows its
// effect; arguments that do not fit its declared signature are refused.
package languages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// languages are the suffixes of the example plugins' names, by language.
var languages = map[string]string{"Go": "", "WAT": "_wat", "C": "_c", "Rust": "_rust", "AssemblyScript": "_as"}

// logs collects the host's log lines, where the plugins' output goes.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

func TestEveryLanguageThroughTheHost(t *testing.T) {
	ctx := context.Background()
	var files []string
	for _, suffix := range languages {
		files = append(files, testplugins.Example(t, "example"+suffix), testplugins.Example(t, "drip"+suffix))
	}
	out := &logs{}
	log := slog.New(slog.NewTextHandler(out, nil))
	reg, err := plugin.Load(ctx, plugin.Config{Dir: testplugins.DirWith(t, files...), CacheDir: testplugins.CacheDir(t)}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(ctx) })
	if p := reg.Problems(); len(p) > 0 {
		t.Fatalf("plugins refused: %v", p)
	}
	cat, err := catalog.New(reg, catalog.RetryPolicies{Default: abi.NoRetry})
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Store(t, store.Options{MaxConns: 10, NotifyWithin: time.Minute})
	m := metrics.New(prometheus.NewRegistry())
	var plugins []api.Plugin
	for _, p := range reg.Plugins() {
		plugins = append(plugins, api.Plugin{Manifest: p.Manifest, File: p.File})
	}
	server := httptest.NewServer(api.New(api.Options{Store: st, Catalog: cat, Plugins: plugins, Metrics: m, Logger: log, Host: "e2e"}).Handler())
	t.Cleanup(server.Close)
	c, err := client.New(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = executor.New(executor.Options{Store: st, Catalog: cat, Plugins: cat, Metrics: m, Logger: log, Host: "e2e",
			Concurrency: 4, ScanInterval: time.Second, Lease: time.Minute, ShutdownGrace: 5 * time.Second}).Run(runCtx)
	}()
	t.Cleanup(func() { stop(); <-done })

	userID := 100
	for lang, suffix := range languages {
		userID++
		t.Run(lang, func(t *testing.T) {
			example, drip := "example"+suffix, "drip"+suffix
			data := "hello from " + lang
			call, err := c.Schedule(ctx, abi.ScheduleRequest{Plugin: example, Method: "doOtherWork", Args: args(t, map[string]any{"data": data}), Delay: "100ms"})
			if err != nil {
				t.Fatal(err)
			}
			waitOutcome(t, c, call.ID, "succeeded")
			if !out.contains(data) {
				t.Errorf("%s.doOtherWork ran but its log line with %q is not in the host's log", example, data)
			}

			email := fmt.Sprintf("user%d@%s.test", userID, strings.ToLower(lang))
			signup := map[string]any{"userId": userID, "email": email, "plan": "pro"}
			welcome, err := c.Schedule(ctx, abi.ScheduleRequest{Plugin: drip, Method: "welcome", Args: args(t, map[string]any{"signup": signup})})
			if err != nil {
				t.Fatal(err)
			}
			waitOutcome(t, c, welcome.ID, "succeeded")
			// Its effect: a follow-up three days on, under the user's identifier.
			page, err := c.List(ctx, client.ListOptions{Identifier: fmt.Sprintf("drip-user-%d", userID)})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Calls) != 1 || page.Calls[0].Method != "followUp" || page.Calls[0].Plugin != drip ||
				page.Calls[0].RunAt.Sub(time.Now().Add(72*time.Hour)).Abs() > time.Minute {
				t.Errorf("after welcome the schedule holds %+v, want one followUp of %s in 3 days", page.Calls, drip)
			}
			if !out.contains(email) {
				t.Errorf("welcome's log line with %q is not in the host's log", email)
			}

			// Arguments are checked against this plugin's own signature.
			for method, bad := range map[string]map[string]any{
				"doOtherWork": {"data": 5},
				"welcome":     {"signup": map[string]any{"userId": userID, "plan": "gold"}},
			} {
				p := example
				if method == "welcome" {
					p = drip
				}
				_, err := c.Schedule(ctx, abi.ScheduleRequest{Plugin: p, Method: method, Args: args(t, bad), Identifier: "refused"})
				var apiErr *client.Error
				if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || len(apiErr.Violations) == 0 {
					t.Errorf("%s.%s with %v: %v, want 422 with violations", p, method, bad, err)
				}
			}
			if page, _ := c.List(ctx, client.ListOptions{Identifier: "refused"}); len(page.Calls) != 0 {
				t.Errorf("refused calls were stored: %+v", page.Calls)
			}
		})
	}
}

func args(t *testing.T, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitOutcome waits for the call's history entry and checks its outcome.
func waitOutcome(t *testing.T, c *client.Client, id int64, want abi.Outcome) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		page, err := c.History(context.Background(), client.HistoryOptions{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) > 0 {
			if e := page.Entries[0]; e.Outcome != want {
				t.Fatalf("call %d (%s.%s): %s: %s, want %s", id, e.Plugin, e.Method, e.Outcome, e.Error, want)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("call %d did not finish", id)
}
