package executor_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

// publish publishes a message as POST /v1/messages does.
func (r *rig) publish(t testing.TB, req abi.PublishRequest) store.Message {
	t.Helper()
	msg, err := request.PrepareMessage(r.catalog, req, "api", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := r.store.Publish(ctx, []store.NewMessage{msg})
	if err != nil {
		t.Fatal(err)
	}
	return stored[0]
}

// TestMessagesReachEverySubscriber: a message to "image.uploaded" becomes a call of
// each subscriber, in three languages (gallery in C, probe in Go, thumbs in WAT), with
// the payload as typed arguments; each runs once, and the history and the message show
// it.
func TestMessagesReachEverySubscriber(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	payload := `{"imageId": 7, "path": "in/7.png"}`
	m := r.publish(t, abi.PublishRequest{Topic: "image.uploaded", Payload: json.RawMessage(payload), Identifier: "image-7"})
	if len(m.Deliveries) != 3 || m.Deliveries[0].Plugin != "gallery" || m.Deliveries[1].Plugin != "probe" || m.Deliveries[2].Plugin != "thumbs" {
		t.Fatalf("deliveries = %+v, want gallery.archive, probe.indexImage and thumbs.makeThumbnail", m.Deliveries)
	}
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "deliveries finished", 3, "SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'")
	entries, _, err := r.store.ListHistory(ctx, store.HistoryFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range entries {
		var args, want any
		_ = json.Unmarshal(h.Args, &args)
		_ = json.Unmarshal([]byte(payload), &want)
		if h.MessageID != m.ID || h.Identifier != "image-7" || h.Attempt != 1 || !equalJSON(args, want) {
			t.Errorf("history entry %+v: want message %d, identifier image-7, attempt 1, args %s", h, m.ID, payload)
		}
	}
	got, err := r.store.GetMessage(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got.Deliveries {
		if d.Call != nil || d.Last == nil || d.Last.Outcome != abi.OutcomeSucceeded {
			t.Errorf("delivery %s.%s: call %v, last %+v; want succeeded", d.Plugin, d.Method, d.Call, d.Last)
		}
	}
	if _, err := r.store.GetMessage(ctx, m.ID+1000); !errors.Is(err, store.ErrMessageNotFound) {
		t.Errorf("GetMessage of no message = %v, want ErrMessageNotFound", err)
	}
}

// TestARefusedPayloadStoresNothing: a payload that fits gallery's archive and probe's
// indexImage (whose size is optional) but not thumbs's makeThumbnail is refused, naming
// thumbs.
func TestARefusedPayloadStoresNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	_, err := request.PrepareMessage(r.catalog, abi.PublishRequest{Topic: "image.uploaded",
		Payload: json.RawMessage(`{"imageId": 7, "path": "in/7.png", "size": 3}`)}, "api", time.Now())
	var refused *request.RefusedError
	if !errors.As(err, &refused) || len(refused.Refusals) != 1 || refused.Refusals[0].Plugin != "thumbs" {
		t.Fatalf("PrepareMessage = %v, want a refusal by thumbs only", err)
	}
	m := r.publish(t, abi.PublishRequest{Topic: "nobody.listens", Payload: json.RawMessage(`{"x": 1}`)})
	if len(m.Deliveries) != 0 {
		t.Errorf("a topic with no subscriber has deliveries: %+v", m.Deliveries)
	}
}

// TestPublishFromACall: fc.publish from a call that succeeds (in Go and in C) delivers
// the message to every subscriber; from a call that fails after publishing, or with a
// payload a subscriber refuses, nothing is stored.
func TestPublishFromACall(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	kept := `{"topic": "image.uploaded", "payload": {"imageId": 1, "path": "in/1.png"}, "identifier": "kept"}`
	ghost := `{"topic": "image.uploaded", "payload": {"imageId": 2, "path": "in/2.png"}, "identifier": "ghost"}`
	refused := `{"topic": "image.uploaded", "payload": {"imageId": "three", "path": "in/3.png"}, "identifier": "refused"}`
	calls := r.schedule(t,
		probe("publish", `{"request":`+kept+`}`, time.Now()),
		probe("publishThenFail", `{"request":`+ghost+`}`, time.Now()),
		probe("publish", `{"request":`+refused+`}`, time.Now()),
		store.NewCall{Plugin: "gallery", Method: "announce", Args: json.RawMessage(`{"imageId": 4}`), RunAt: time.Now()})
	r.start(t, "h", executor.Options{})
	r.waitFor(t, "publishers and deliveries finished", 10, "SELECT count(*) FROM future_call_history")
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE identifier = 'kept' AND outcome = 'succeeded'"); n != 3 {
		t.Errorf("deliveries of the message probe published: %d succeeded, want 3", n)
	}
	if n := r.count(t, "SELECT count(*) FROM future_call_history WHERE identifier = 'gallery-4' AND outcome = 'succeeded' AND args->>'path' = 'gallery/4.png'"); n != 3 {
		t.Errorf("deliveries of the message gallery published: %d succeeded, want 3", n)
	}
	if n := r.count(t, "SELECT count(*) FROM message WHERE identifier IN ('ghost', 'refused')"); n != 0 {
		t.Errorf("%d messages of a failed call or a refused payload were stored", n)
	}
	var publisher string
	if err := r.store.Pool().QueryRow(ctx, "SELECT publisher FROM message WHERE identifier = 'kept'").Scan(&publisher); err != nil {
		t.Fatal(err)
	}
	if want := store.PublisherCall(calls[0].ID, "probe", "publish"); publisher != want {
		t.Errorf("publisher = %q, want %q", publisher, want)
	}
	var reason string
	if err := r.store.Pool().QueryRow(ctx, "SELECT error FROM future_call_history WHERE call_id = $1", calls[2].ID).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if want := "fc.publish: invalid request: the payload does not fit: subscriber gallery.archive"; !strings.Contains(reason, want) {
		t.Errorf("refused publish failed with %q, want it to say %q", reason, want)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
