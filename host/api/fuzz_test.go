package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// The seed corpora are in testdata/fuzz; `go test` runs them, `go test -fuzz
// FuzzSchedule` explores from them.

// FuzzSchedule posts random bodies to POST /v1/calls: no body yields a 5xx, an error
// stores nothing, and a stored call's arguments fit its signature.
func FuzzSchedule(f *testing.F) {
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		stored := e.post(t, "/v1/calls", body, func(b []byte) ([]client.Call, error) {
			var c client.Call
			err := json.Unmarshal(b, &c)
			return []client.Call{c}, err
		})
		e.checkStored(t, stored)
	})
}

// FuzzScheduleBatch is FuzzSchedule for POST /v1/calls/batch: all or nothing.
func FuzzScheduleBatch(f *testing.F) {
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		stored := e.post(t, "/v1/calls/batch", body, func(b []byte) ([]client.Call, error) {
			var out client.Batch[client.Call]
			err := json.Unmarshal(b, &out)
			return out.Calls, err
		})
		e.checkStored(t, stored)
	})
}

// post sends body to path and checks the answer: 201 with the calls decode reads from
// it, exactly that many rows more, or an error in the shared shape and no row more.
func (e *env) post(t *testing.T, path string, body []byte, decode func([]byte) ([]client.Call, error)) []client.Call {
	t.Helper()
	before, history := e.rows(t)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(body))
	req.Host = "127.0.0.1"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.api.Handler().ServeHTTP(rec, req)
	resp := rec.Result()
	answer := rec.Body.Bytes()
	if resp.StatusCode >= 500 {
		t.Fatalf("%d for %q: %s\nlog:\n%s", resp.StatusCode, body, answer, e.logs.String())
	}
	after, historyAfter := e.rows(t)
	if historyAfter != history {
		t.Fatalf("the history changed by scheduling")
	}
	if resp.StatusCode != http.StatusCreated {
		apiError(t, resp, answer)
		if after != before {
			t.Fatalf("%d for %q stored %d rows", resp.StatusCode, body, after-before)
		}
		return nil
	}
	calls, err := decode(answer)
	if err != nil {
		t.Fatalf("201 answer %s: %v", answer, err)
	}
	if after-before != len(calls) {
		t.Fatalf("201 with %d calls stored %d rows", len(calls), after-before)
	}
	return calls
}

// checkStored reads the stored calls back and checks them against the loaded plugins.
func (e *env) checkStored(t *testing.T, calls []client.Call) {
	t.Helper()
	cat := pluginCatalog(t)
	for _, c := range calls {
		s, err := e.store.Get(ctx, c.ID)
		if err != nil {
			t.Fatalf("call %d: %v", c.ID, err)
		}
		sig, _, err := cat.Method(s.Plugin, s.Method)
		if err != nil {
			t.Fatalf("stored call %d of %s.%s: %v", s.ID, s.Plugin, s.Method, err)
		}
		if err := sig.Validate(s.Args); err != nil {
			t.Fatalf("stored call %d: its arguments %s do not fit: %v", s.ID, s.Args, err)
		}
		if !s.RunAt.Equal(c.RunAt) || s.RunAt.Location() != time.UTC {
			t.Fatalf("stored call %d: run time %v, answered %v", s.ID, s.RunAt, c.RunAt)
		}
	}
}
