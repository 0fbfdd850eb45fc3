package check_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

func ptr(b bool) *bool { return &b }

func TestAtStartupFollowsCheckBrokenCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stored  int
		setting *bool
		ran     bool
		log     string // in the log when the check does not run
	}{
		{name: "unset, 999 stored: checked", stored: 999, ran: true},
		{name: "unset, 1000 stored: skipped", stored: 1000, log: "broken-call check skipped"},
		{name: "unset, none stored: checked", stored: 0, ran: true},
		{name: "true, 1000 stored: checked", stored: 1000, setting: ptr(true), ran: true},
		{name: "false, 999 stored: never", stored: 999, setting: ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testdb.Store(t, store.Options{})
			if tt.stored > 0 {
				loadShop(t, s, tt.stored) // call 4 of every thousand is broken
			}
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			sigs := compile(t, map[string][]abi.Method{"shop": shop})
			r, ran, err := check.AtStartup(ctx, logger, tt.setting, check.Options{Store: s, Signatures: sigs, Delete: true, Host: "h"})
			if err != nil {
				t.Fatal(err)
			}
			if ran != tt.ran {
				t.Fatalf("ran = %v, want %v", ran, tt.ran)
			}
			left, err := s.CountUpTo(ctx, 2000)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.ran {
				if r.Checked != 0 || left != tt.stored || !strings.Contains(logs.String(), tt.log) {
					t.Errorf("skipped check: report %+v, %d of %d calls left, log %q", r, left, tt.stored, logs.String())
				}
				if tt.log == "" && logs.Len() > 0 {
					t.Errorf("checkBrokenCalls false logged %q, want nothing", logs.String())
				}
				return
			}
			wantBroken := int64(0)
			if tt.stored >= 4 {
				wantBroken = 1
			}
			if r.Checked != int64(tt.stored) || r.Broken != wantBroken || r.Deleted != wantBroken || left != tt.stored-int(wantBroken) {
				t.Errorf("report %+v with %d calls left, want %d checked, %d broken and deleted", r, left, tt.stored, wantBroken)
			}
			if !strings.Contains(logs.String(), "checked stored calls") {
				t.Errorf("no summary line in the log: %q", logs.String())
			}
		})
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	countErr := errors.New("database down")
	tests := []struct {
		name    string
		setting *bool
		stored  int
		err     error
		want    bool
	}{
		{name: "unset, one below the limit", stored: check.AutoLimit - 1, want: true},
		{name: "unset, at the limit", stored: check.AutoLimit, want: false},
		{name: "true", setting: ptr(true), stored: -1, want: true},
		{name: "false", setting: ptr(false), stored: -1, want: false},
		{name: "unset, count fails", err: countErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			count := func(_ context.Context, limit int) (int, error) {
				if tt.stored < 0 {
					t.Error("counted although checkBrokenCalls is set")
				}
				if limit != check.AutoLimit {
					t.Errorf("counted up to %d, want %d", limit, check.AutoLimit)
				}
				return min(tt.stored, limit), tt.err
			}
			got, err := check.Decide(ctx, tt.setting, count)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("Decide = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
