package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/store"
)

func TestPreDeploy(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{})
	old := compile(t, map[string][]abi.Method{"mail": mailV1})
	ids := schedule(t, s, old, req("send", `{"to": "a", "count": 1}`), req("ping", `{}`))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		candidate map[string][]abi.Method
		code      int
		broken    int64
		// unavailable: the candidate lacks the calls' plugin, which is not broken but
		// still fails the check (no host would have it after the deploy, unless others keep it).
		unavailable int64
	}{
		{name: "candidate fits", ctx: ctx, candidate: map[string][]abi.Method{"mail": mailV1}, code: check.ExitOK},
		{name: "candidate drops a method", ctx: ctx, candidate: map[string][]abi.Method{"mail": with(abi.Method{Name: "send"})},
			code: check.ExitBroken, broken: 1},
		{name: "candidate drops the plugin", ctx: ctx, candidate: nil, code: check.ExitBroken, unavailable: 2},
		{name: "check fails", ctx: canceled, candidate: map[string][]abi.Method{"mail": mailV1}, code: check.ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r, err := check.PreDeploy(tt.ctx, s, compile(t, tt.candidate), &out)
			if code := check.ExitCode(r, err); code != tt.code {
				t.Errorf("exit code %d (%v), want %d", code, err, tt.code)
			}
			if tt.code == check.ExitError {
				if err == nil || out.Len() > 0 {
					t.Errorf("failed check: err %v, output %q; want an error and no output", err, out.String())
				}
				return
			}
			var printed check.Report
			if err := json.Unmarshal(out.Bytes(), &printed); err != nil || !reflect.DeepEqual(printed, r) {
				t.Errorf("printed %s (%v), want the report %+v", out.String(), err, r)
			}
			if r.Checked != 2 || r.Broken != tt.broken || r.Unavailable != tt.unavailable || r.Deleted != 0 || r.Groups == nil {
				t.Errorf("report %+v, want 2 checked, %d broken, %d unavailable, none deleted", r, tt.broken, tt.unavailable)
			}
		})
	}
	t.Cleanup(func() {
		// A pre-deploy check never deletes.
		for _, id := range ids {
			if _, err := s.Get(ctx, id); err != nil {
				t.Errorf("call %d after the pre-deploy checks: %v", id, err)
			}
		}
	})
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    check.Report
		err  error
		want int
	}{
		{"nothing broken", check.Report{Checked: 5}, nil, check.ExitOK},
		{"broken", check.Report{Checked: 5, Broken: 1}, nil, check.ExitBroken},
		{"unavailable", check.Report{Checked: 5, Unavailable: 1}, nil, check.ExitBroken},
		{"error", check.Report{}, errors.New("no database"), check.ExitError},
	}
	for _, tt := range tests {
		if got := check.ExitCode(tt.r, tt.err); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
	if check.ExitOK == check.ExitBroken || check.ExitBroken == check.ExitError || check.ExitOK == check.ExitError {
		t.Error("exit codes are not distinct")
	}
}

func TestDeleteNeedsTwoConnections(t *testing.T) {
	t.Parallel()
	s := testdb.Store(t, store.Options{MaxConns: 1})
	sigs := compile(t, nil)
	if _, err := check.Run(ctx, check.Options{Store: s, Signatures: sigs, Delete: true}); err == nil {
		t.Error("deleting with a single connection did not fail")
	}
	if _, err := check.Run(ctx, check.Options{Store: s, Signatures: sigs}); err != nil {
		t.Errorf("checking with a single connection: %v", err)
	}
}
