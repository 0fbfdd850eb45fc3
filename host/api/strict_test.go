package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// Bodies are JSON in UTF-8, unencoded; anything else is refused with 415 rather than
// misread.
func TestOnlyPlainJSONBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const body = `{"plugin": "example", "method": "doWork"}`
	for _, header := range [][]string{
		{"Content-Type: application/json-patch+json"},
		{"Content-Type: application/merge-patch+json"},
		{"Content-Type: application/json; charset=utf-16"},
		{"Content-Type: application/json", "Content-Encoding: gzip"},
		{"Content-Type: application/json", "Content-Encoding: identity, gzip"},
	} {
		resp, answer := e.do(t, http.MethodPost, "/v1/calls", body, header...)
		if apiErr := apiError(t, resp, answer); resp.StatusCode != http.StatusUnsupportedMediaType || apiErr.Code != client.CodeUnsupportedMediaType {
			t.Errorf("%v: %d %s, want 415", header, resp.StatusCode, answer)
		}
	}
	for _, header := range [][]string{
		{"Content-Type: application/json"},
		{"Content-Type: application/json; charset=UTF-8"},
		{"Content-Type: application/json", "Content-Encoding: identity"},
	} {
		if resp, answer := e.do(t, http.MethodPost, "/v1/calls", body, header...); resp.StatusCode != http.StatusCreated {
			t.Errorf("%v: %d %s, want 201", header, resp.StatusCode, answer)
		}
	}
	if calls, _ := e.rows(t); calls != 3 {
		t.Errorf("%d calls stored, want 3", calls)
	}
}

// A query parameter PostgreSQL cannot take as text is the client's mistake, named as
// such, never the database's error.
func TestQueryParametersMustBeText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{
		"/v1/calls?identifier=a%00b", "/v1/calls?plugin=%ff", "/v1/history?method=%c3", "/v1/history?identifier=%00",
	} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			if method == http.MethodDelete && !strings.HasPrefix(path, "/v1/calls?identifier") {
				continue
			}
			resp, body := e.do(t, method, path, "")
			apiErr := apiError(t, resp, body)
			name := strings.SplitN(strings.SplitN(path, "?", 2)[1], "=", 2)[0]
			if resp.StatusCode != http.StatusBadRequest || apiErr.Code != client.CodeInvalidParameter ||
				!strings.HasPrefix(apiErr.Message, name+":") || strings.Contains(apiErr.Message, "SQLSTATE") {
				t.Errorf("%s %s: %d %s, want 400 invalid_parameter naming %s", method, path, resp.StatusCode, body, name)
			}
		}
	}
}

// An identifier holding a lone surrogate escape is refused, not stored as U+FFFD where
// it would collide with other identifiers.
func TestLoneSurrogatesInIdentifiers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, body := range []string{
		`{"plugin": "example", "method": "doWork", "identifier": "a\ud800"}`,
		`{"plugin": "example", "method": "doWork", "identifier": "a\udc00"}`,
		`{"plugin": "example", "method": "doWork", "identifier": "\ud800\ud800"}`,
	} {
		for _, path := range []string{"/v1/calls", "/v1/calls/batch"} {
			b := body
			if path == "/v1/calls/batch" {
				b = `{"calls": [` + body + `]}`
			}
			resp, answer := e.do(t, http.MethodPost, path, b)
			if apiErr := apiError(t, resp, answer); resp.StatusCode != http.StatusBadRequest || apiErr.Code != client.CodeInvalidRequest ||
				!strings.Contains(apiErr.Message, "surrogate") {
				t.Errorf("%s %s: %d %s, want 400 invalid_request", path, b, resp.StatusCode, answer)
			}
		}
	}
	// A well-formed pair is a character like any other.
	if resp, answer := e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork", "identifier": "a\ud83d\ude00"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("surrogate pair: %d %s", resp.StatusCode, answer)
	}
	if calls, _ := e.rows(t); calls != 1 {
		t.Errorf("%d calls stored, want 1", calls)
	}
}

// A 422 lists at most MaxViolations violations and says how many more there were, so
// a large request cannot make a larger answer.
func TestViolationsAreCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var extra []string
	for i := range 1000 {
		extra = append(extra, fmt.Sprintf(`"unknown%d": %d`, i, i))
	}
	body := `{"plugin": "example", "method": "doOtherWork", "args": {"data": "x", ` + strings.Join(extra, ",") + `}}`
	resp, answer := e.do(t, http.MethodPost, "/v1/calls", body)
	var got struct {
		Error struct {
			Code              string
			Violations        []client.Violation
			ViolationsOmitted int
		}
	}
	if err := json.Unmarshal(answer, &got); err != nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("%d %.300s (%v)", resp.StatusCode, answer, err)
	}
	t.Logf("%d violations listed, %d omitted, answer %d bytes for a request of %d", len(got.Error.Violations),
		got.Error.ViolationsOmitted, len(answer), len(body))
	if n := len(got.Error.Violations) + got.Error.ViolationsOmitted; n != 1000 {
		t.Errorf("%d violations listed and %d omitted, want 1000 in all", len(got.Error.Violations), got.Error.ViolationsOmitted)
	}
	if len(got.Error.Violations) > api.MaxViolations || len(answer) > len(body) {
		t.Errorf("%d violations in an answer of %d bytes, want at most %d, and less than the request's %d bytes",
			len(got.Error.Violations), len(answer), api.MaxViolations, len(body))
	}
}
