package api_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/catalog"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/sdk/client"
)

var (
	subscribersOnce sync.Once
	subscribers     *plugin.Registry
	subscribersCat  *catalog.Catalog
	subscribersErr  error
)

// withSubscribers serves the plugins probe (Go) and thumbs (WAT), which both subscribe
// to "image.uploaded".
func withSubscribers(t testing.TB) func(*api.Options) {
	t.Helper()
	subscribersOnce.Do(func() {
		dir := testplugins.DirWith(t, testplugins.Path(t, "probe"), testplugins.Path(t, "thumbs"))
		subscribers, subscribersErr = plugin.Load(ctx, plugin.Config{Dir: dir, CacheDir: testplugins.CacheDir(t)}, slog.New(slog.DiscardHandler))
		if subscribersErr == nil {
			subscribersCat, subscribersErr = catalog.New(subscribers, catalog.RetryPolicies{Default: abi.NoRetry})
		}
	})
	if subscribersErr != nil {
		t.Fatalf("load plugins: %v", subscribersErr)
	}
	return func(o *api.Options) { o.Catalog, o.Plugins = subscribersCat, apiPlugins(subscribers) }
}

func TestPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSubscribers(t))
	m, err := e.client.Publish(ctx, abi.PublishRequest{Topic: "image.uploaded",
		Payload: json.RawMessage(`{"imageId": 7, "path": "in/7.png"}`), Identifier: "image-7", Delay: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Deliveries) != 2 || m.Deliveries[0].Plugin != "probe" || m.Deliveries[0].Method != "indexImage" ||
		m.Deliveries[1].Plugin != "thumbs" || m.Deliveries[1].Status != client.StatusWaiting || m.Publisher != "api" {
		t.Fatalf("message = %+v", m)
	}
	for _, d := range m.Deliveries {
		call, err := e.client.Get(ctx, d.CallID)
		if err != nil {
			t.Fatal(err)
		}
		if call.MessageID != m.ID || call.Identifier != "image-7" || call.Plugin != d.Plugin || !strings.Contains(string(call.Args), `"imageId":7`) {
			t.Errorf("delivery %+v", call)
		}
	}
	got, err := e.client.Message(ctx, m.ID)
	if err != nil || len(got.Deliveries) != 2 || got.Deliveries[1].RunAt == nil {
		t.Errorf("GET message = %+v, %v", got, err)
	}
	// Cancelling by identifier cancels the deliveries; the message shows it.
	if _, err := e.client.CancelIdentifier(ctx, "image-7"); err != nil {
		t.Fatal(err)
	}
	got, _ = e.client.Message(ctx, m.ID)
	for _, d := range got.Deliveries {
		if d.Status != string(abi.OutcomeCancelled) || d.FinishedAt == nil {
			t.Errorf("cancelled delivery: %+v", d)
		}
	}
	history, err := e.client.History(ctx, client.HistoryOptions{Identifier: "image-7"})
	if err != nil || len(history.Entries) != 2 || history.Entries[0].MessageID != m.ID {
		t.Errorf("history = %+v, %v", history, err)
	}
}

func TestPublishAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSubscribers(t))
	// A topic with no subscriber: accepted, kept, no deliveries.
	resp, body := e.do(t, http.MethodPost, "/v1/messages", `{"topic": "nobody.listens", "payload": {"x": 1}}`)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"deliveries":[]`) {
		t.Errorf("no subscriber: %d %s", resp.StatusCode, body)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/v1/messages/") {
		t.Errorf("Location = %q", loc)
	}
	// A payload thumbs refuses (it declares no "size") stores nothing.
	_, err := e.client.Publish(ctx, abi.PublishRequest{Topic: "image.uploaded", Payload: json.RawMessage(`{"imageId": 7, "path": "p", "size": 3}`)})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity || ce.Code != client.CodeInvalidArguments ||
		!strings.Contains(ce.Message, "thumbs.makeThumbnail") || strings.Contains(ce.Message, "probe") ||
		len(ce.Violations) == 0 || ce.Violations[0].Subscriber != "thumbs.makeThumbnail" {
		t.Errorf("refused payload: %v", err)
	}
	for _, bad := range []string{
		`{"topic": "bad topic", "payload": {}}`,
		`{"topic": "image.uploaded", "payload": [1]}`,
		`{"topic": "image.uploaded", "payload": {"imageId": 1, "path": "p"}, "delay": "1h", "at": "2030-01-01T00:00:00Z"}`,
		`{"topic": "image.uploaded", "payload": {}, "plugin": "probe"}`,
	} {
		if resp, body := e.do(t, http.MethodPost, "/v1/messages", bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	// A batch stores every message or none.
	_, err = e.client.PublishBatch(ctx, []abi.PublishRequest{
		{Topic: "image.uploaded", Payload: json.RawMessage(`{"imageId": 1, "path": "p"}`), Identifier: "batch"},
		{Topic: "image.uploaded", Payload: json.RawMessage(`{"imageId": "two", "path": "p"}`), Identifier: "batch"},
	})
	if !errors.As(err, &ce) || ce.Index == nil || *ce.Index != 1 || !strings.HasPrefix(ce.Message, "messages[1]: ") {
		t.Errorf("batch with a refused message: %v", err)
	}
	msgs, err := e.client.PublishBatch(ctx, []abi.PublishRequest{
		{Topic: "image.uploaded", Payload: json.RawMessage(`{"imageId": 1, "path": "p"}`), Identifier: "batch"},
		{Topic: "image.uploaded", Payload: json.RawMessage(`{"imageId": 2, "path": "p"}`), Identifier: "batch"},
	})
	if err != nil || len(msgs) != 2 || len(msgs[1].Deliveries) != 2 {
		t.Fatalf("batch: %+v, %v", msgs, err)
	}
	page, err := e.client.List(ctx, client.ListOptions{Identifier: "batch"})
	if err != nil || len(page.Calls) != 4 {
		t.Errorf("calls of the batch: %+v, %v; want 4 (the refused batch stored nothing)", page.Calls, err)
	}
	if _, err := e.client.Message(ctx, msgs[1].ID+1000); !errors.As(err, &ce) || ce.Code != client.CodeMessageNotFound {
		t.Errorf("GET of no message: %v", err)
	}
}
