package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	closed := testdb.Store(t, store.Options{})
	closed.Close()
	_, errClosed := closed.Get(ctx, 1)

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	refused, err := store.Open(ctx, "postgres://nobody@"+addr+"/none?connect_timeout=2", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refused.Close)
	_, errRefused := refused.Get(ctx, 1)

	// A server that accepts connections and never answers: only the deadline ends the wait.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		mute.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	hung, err := store.Open(ctx, "postgres://nobody@"+mute.Addr().String()+"/none", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hung.Close)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, errHung := hung.Get(short, 1)

	s := testdb.Store(t, store.Options{})
	_, errNotFound := s.Get(ctx, 1)
	_, errBadData := s.Schedule(ctx, store.NewCall{Plugin: "p", Method: "m", Args: json.RawMessage(`{"a": "\u0000"}`), RunAt: time.Now()})

	for _, tc := range []struct {
		name              string
		err               error
		unavailable, data bool
	}{
		{"closed pool", errClosed, true, false},
		{"connection refused", errRefused, true, false},
		{"no answer", errHung, true, false},
		{"not found", errNotFound, false, false},
		{"bad data", errBadData, false, true},
		{"other", fmt.Errorf("x: %w", errors.New("y")), false, false},
		{"nil", nil, false, false},
	} {
		if got := store.IsUnavailable(tc.err); got != tc.unavailable {
			t.Errorf("%s: IsUnavailable(%v) = %v", tc.name, tc.err, got)
		}
		if got := store.IsBadData(tc.err); got != tc.data {
			t.Errorf("%s: IsBadData(%v) = %v", tc.name, tc.err, got)
		}
	}
}
