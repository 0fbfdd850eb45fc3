package store_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

// TestTransactionPoolerWithoutDirectURL: a store told that its URL leads to a
// transaction pooler, with no direct URL, has no session for LISTEN (Listen says so
// at once, with ErrNoSession), migrates under goose's table lock rather than a session
// lock, and schedules, claims and completes in the pooler's exec mode.
func TestTransactionPoolerWithoutDirectURL(t *testing.T) {
	t.Parallel()
	s, err := store.Open(ctx, testdb.URL(t), store.Options{TransactionPooler: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if mode := s.Pool().Config().ConnConfig.DefaultQueryExecMode; mode != store.ExecModeThroughPooler {
		t.Errorf("exec mode %v, want %v", mode, store.ExecModeThroughPooler)
	}
	if s.HasSession() {
		t.Error("HasSession = true without a direct URL")
	}
	err = s.Listen(ctx, func() { t.Error("listening without a session") }, func(string) {})
	if !errors.Is(err, store.ErrNoSession) {
		t.Errorf("Listen = %v, want ErrNoSession", err)
	}
	// From an empty database: goose takes its lock only when there is something to do.
	if _, err := s.Pool().Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate under the table lock: %v", err)
	}
	var locks int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM futurecalls_schema_lock").Scan(&locks); err != nil {
		t.Errorf("goose's lock table: %v", err)
	}
	scheduleN(t, s, 3, time.Now().Add(-time.Second), "")
	claimed, err := s.Claim(ctx, "host-a", 10, time.Minute, []string{"example"})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d calls (%v), want 3", len(claimed), err)
	}
}

// TestDirectURLServesListen: with a direct URL beside the pooled one, Listen holds its
// session there and passes on the wake-ups of calls scheduled through the pool.
func TestDirectURLServesListen(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	s, err := store.Open(ctx, url, store.Options{TransactionPooler: true, DirectURL: url, NotifyWithin: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if !s.HasSession() {
		t.Fatal("HasSession = false with a direct URL")
	}
	listening := make(chan struct{})
	woken := make(chan string, 1)
	listenCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(listenCtx, func() { close(listening) }, func(p string) {
			select {
			case woken <- p:
			default:
			}
		})
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("Listen ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not listening after 30s")
	}
	scheduleN(t, s, 1, time.Now().Add(time.Second), "")
	select {
	case <-woken:
	case <-time.After(30 * time.Second):
		t.Error("no wake-up within 30s of scheduling a call due in a second")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Listen ended with %v, want context.Canceled", err)
	}
}
