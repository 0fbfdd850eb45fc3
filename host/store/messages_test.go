package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// TestTrimMessages: a message older than the cutoff goes once none of its deliveries
// waits; one with a waiting delivery, or a newer one, stays.
func TestTrimMessages(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	delivery := store.NewCall{Plugin: "p", Method: "m", Args: json.RawMessage(`{}`), RunAt: time.Now().Add(time.Hour)}
	msgs, err := s.Publish(ctx, []store.NewMessage{
		{Topic: "done", Publisher: "api", Deliveries: []store.NewCall{delivery}},
		{Topic: "waiting", Publisher: "api", Deliveries: []store.NewCall{delivery}},
		{Topic: "nobody", Publisher: "api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, msgs[0].Deliveries[0].CallID, "h"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.TrimMessages(ctx, time.Now().Add(-time.Hour)); n != 0 || err != nil {
		t.Errorf("TrimMessages before anything is old enough = %d, %v", n, err)
	}
	if n, err := s.TrimMessages(ctx, time.Now().Add(time.Minute)); n != 2 || err != nil {
		t.Errorf("TrimMessages = %d, %v; want the finished and the undelivered message", n, err)
	}
	if _, err := s.GetMessage(ctx, msgs[1].ID); err != nil {
		t.Errorf("the message with a waiting delivery: %v", err)
	}
	var deliveries int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM message_delivery").Scan(&deliveries); err != nil || deliveries != 1 {
		t.Errorf("%d delivery rows left (%v), want 1", deliveries, err)
	}
}
