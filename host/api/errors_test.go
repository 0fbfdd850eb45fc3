package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// Every error class of POST /v1/calls, each answered in the shared shape, and nothing
// stored after any of them.
func TestScheduleErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		body   string
		header []string
		status int
		code   client.Code
		// want is in the message; violations are the expected pointer: message pairs.
		want       string
		violations []string
	}{
		{"malformed JSON", `{"plugin": "example",`, nil, 400, client.CodeMalformedJSON, "end of the body", nil},
		{"syntax error", `{"plugin": example}`, nil, 400, client.CodeMalformedJSON, "offset", nil},
		{"not an object", `[1, 2]`, nil, 400, client.CodeMalformedJSON, "JSON object", nil},
		{"null", `null`, nil, 400, client.CodeInvalidRequest, `"plugin" and "method" are required`, nil},
		{"data after the object", `{"plugin": "example", "method": "doWork"} {}`, nil, 400, client.CodeMalformedJSON, "after the value", nil},
		{"empty body", ` `, nil, 400, client.CodeMalformedJSON, "empty", nil},
		{"wrong type", `{"plugin": 5, "method": "doWork"}`, nil, 400, client.CodeMalformedJSON, `"plugin" must be a string`, nil},
		{"wrong nested type", `{"plugin": "example", "method": "doWork", "retry": {"maxAttempts": "3"}}`, nil, 400, client.CodeMalformedJSON, `"retry.maxAttempts" must be an integer`, nil},
		{"unknown field", `{"plugin": "example", "method": "doWork", "dealy": "1h"}`, nil, 400, client.CodeUnknownField, `"dealy"`, nil},
		{"unknown nested field", `{"plugin": "example", "method": "doWork", "retry": {"maxAttempts": 2, "jitter": true}}`, nil, 400, client.CodeUnknownField, `"jitter"`, nil},
		{"time not RFC 3339", `{"plugin": "example", "method": "doWork", "at": "tomorrow"}`, nil, 400, client.CodeMalformedJSON, "RFC 3339", nil},
		{"invalid UTF-8", "{\"plugin\": \"example\", \"method\": \"doWork\", \"identifier\": \"\xff\xfe\"}", nil, 400, client.CodeMalformedJSON, "UTF-8", nil},
		{"both delay and at", `{"plugin": "example", "method": "doWork", "delay": "1h", "at": "2030-01-01T00:00:00Z"}`, nil, 400, client.CodeInvalidRequest, "not both", nil},
		{"bad delay", `{"plugin": "example", "method": "doWork", "delay": "soon"}`, nil, 400, client.CodeInvalidRequest, "delay", nil},
		{"negative delay", `{"plugin": "example", "method": "doWork", "delay": "-1h"}`, nil, 400, client.CodeInvalidRequest, "not a duration", nil},
		{"no method", `{"plugin": "example"}`, nil, 400, client.CodeInvalidRequest, "required", nil},
		{"bad retry", `{"plugin": "example", "method": "doWork", "retry": {"maxAttempts": 0}}`, nil, 400, client.CodeInvalidRequest, "maxAttempts", nil},
		{"identifier too long", `{"plugin": "example", "method": "doWork", "identifier": "` + strings.Repeat("x", 257) + `"}`, nil, 400, client.CodeInvalidRequest, "identifier", nil},
		{"NUL in an argument", `{"plugin": "example", "method": "doOtherWork", "args": {"data": "a\u0000b"}}`, nil, 400, client.CodeInvalidRequest, "NUL", nil},
		{"number out of the database's range", `{"plugin": "probe", "method": "schedule", "args": {"request": 1e999999}}`, nil, 400, client.CodeInvalidRequest, "exponent", nil},
		{"not JSON content", `{"plugin": "example", "method": "doWork"}`, []string{"Content-Type: text/plain"}, 415, client.CodeUnsupportedMediaType, "application/json", nil},
		{"form content", `plugin=example&method=doWork`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, client.CodeUnsupportedMediaType, "application/json", nil},
		{"unknown plugin", `{"plugin": "exmaple", "method": "doWork"}`, nil, 404, client.CodeUnknownPlugin, `"exmaple"`, nil}, //nolint:misspell // a misspelt plugin name is the case under test
		{"unknown method", `{"plugin": "example", "method": "doMoreWork"}`, nil, 404, client.CodeUnknownMethod, `"doMoreWork"`, nil},
		{"argument of the wrong type", `{"plugin": "example", "method": "doOtherWork", "args": {"data": 5}}`, nil, 422, client.CodeInvalidArguments,
			"example.doOtherWork", []string{"/data: got number, want string"}},
		{"number literal too long", `{"plugin": "drip", "method": "welcome", "args": {"signup": {"userId": ` + strings.Repeat("9", 1_000_000) +
			`, "email": "a@example.com", "plan": "pro"}}}`, nil, 422, client.CodeInvalidArguments, "drip.welcome",
			[]string{"/signup/userId: number literal of 1000000 characters, more than the limit of 64: send larger numbers as strings"}},
		{"missing argument", `{"plugin": "example", "method": "doOtherWork"}`, nil, 422, client.CodeInvalidArguments,
			"doOtherWork", []string{"/data: missing required parameter"}},
		{"arguments not an object", `{"plugin": "example", "method": "doOtherWork", "args": ["x"]}`, nil, 422, client.CodeInvalidArguments,
			"doOtherWork", []string{": got array, want object"}},
		{"every violation of a record", `{"plugin": "drip", "method": "welcome", "args": {"signup": {"userId": "7", "plan": "gold", "extra": 1}, "note": 3, "other": true}}`,
			nil, 422, client.CodeInvalidArguments, "drip.welcome", []string{
				"/note: got number, want string",
				"/other: unknown parameter",
				"/signup/email: missing required property",
				"/signup/extra: property not allowed",
				"/signup/plan: value must be one of 'free', 'pro'",
				"/signup/userId: got string, want integer",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodPost, "/v1/calls", tc.body, tc.header...)
			apiErr := apiError(t, resp, body)
			if resp.StatusCode != tc.status || apiErr.Code != tc.code || !strings.Contains(apiErr.Message, tc.want) {
				t.Errorf("answer %d %s, want %d %s mentioning %s", resp.StatusCode, body, tc.status, tc.code, tc.want)
			}
			var got []string
			for _, v := range apiErr.Violations {
				got = append(got, v.Pointer+": "+v.Message)
			}
			if !slices.Equal(got, tc.violations) {
				t.Errorf("violations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.violations, "\n"))
			}
			if calls, history := e.rows(t); calls+history != 0 {
				t.Errorf("%d calls and %d history rows stored after an error", calls, history)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.BodyLimit = 1024 })
	big := `{"plugin": "example", "method": "doOtherWork", "args": {"data": "` + strings.Repeat("x", 2000) + `"}}`
	for _, path := range []string{"/v1/calls", "/v1/calls/batch"} {
		resp, body := e.do(t, http.MethodPost, path, big)
		if apiErr := apiError(t, resp, body); resp.StatusCode != 413 || apiErr.Code != client.CodeBodyTooLarge || !strings.Contains(apiErr.Message, "1024") {
			t.Errorf("%s: %d %s, want 413 naming the limit", path, resp.StatusCode, body)
		}
		// Without Content-Length (chunked), the limit holds while reading.
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+path, io.MultiReader(strings.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Errorf("%s chunked: %d, want 413", path, res.StatusCode)
		}
	}
	// Just under the limit is fine.
	ok := `{"plugin": "example", "method": "doOtherWork", "args": {"data": "` + strings.Repeat("x", 900) + `"}}`
	if resp, body := e.do(t, http.MethodPost, "/v1/calls", ok); resp.StatusCode != 201 {
		t.Errorf("under the limit: %d %s", resp.StatusCode, body)
	}
	if calls, _ := e.rows(t); calls != 1 {
		t.Errorf("%d calls stored, want 1", calls)
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         client.Code
		allow        string
	}{
		{http.MethodPut, "/v1/calls", 405, client.CodeMethodNotAllowed, "DELETE, GET, HEAD, OPTIONS, POST"},
		{http.MethodPatch, "/v1/calls/1", 405, client.CodeMethodNotAllowed, "DELETE, GET, HEAD, OPTIONS"},
		{http.MethodPost, "/v1/calls/5", 405, client.CodeMethodNotAllowed, "DELETE, GET, HEAD, OPTIONS"},
		{http.MethodPost, "/v1/plugins", 405, client.CodeMethodNotAllowed, "GET, HEAD, OPTIONS"},
		{http.MethodPost, "/v1/history", 405, client.CodeMethodNotAllowed, "GET, HEAD, OPTIONS"},
		{http.MethodGet, "/v1/nothing", 404, client.CodeNotFound, ""},
		{http.MethodGet, "/v2/calls", 404, client.CodeNotFound, ""},
	} {
		resp, body := e.do(t, tc.method, tc.path, "")
		apiErr := apiError(t, resp, body)
		if resp.StatusCode != tc.status || apiErr.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
		if allow := resp.Header.Get("Allow"); !sameMethods(allow, tc.allow) {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, allow, tc.allow)
		}
	}

	// HEAD works wherever GET does (RFC 9110): GET's status and headers, no body.
	for _, path := range []string{"/healthz", "/readyz", "/v1/calls", "/v1/history", "/v1/plugins", "/v1/plugins/example", "/metrics", "/openapi.json"} {
		get, _ := e.do(t, http.MethodGet, path, "")
		head, body := e.do(t, http.MethodHead, path, "")
		if head.StatusCode != get.StatusCode || len(body) != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q %q, want GET's %d %q without a body", path, head.StatusCode, head.Header.Get("Content-Type"), body,
				get.StatusCode, get.Header.Get("Content-Type"))
		}
	}
}

func sameMethods(a, b string) bool {
	split := func(s string) []string {
		var out []string
		for _, m := range strings.Split(s, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(split(a), split(b))
}

// A database that is down or does not answer is a 503, quickly, never a 500 or a hang.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	// Closed: the pool refuses at once.
	closed := newEnv(t)
	closed.store.Close()

	// Mute: a server that accepts connections and never answers.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	hungStore, err := store.Open(ctx, "postgres://nobody@"+mute.Addr().String()+"/none", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hungStore.Close)
	hung := newEnv(t, func(o *api.Options) { o.Store, o.Timeout = hungStore, 300*time.Millisecond })

	requests := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork"}`},
		{http.MethodPost, "/v1/calls/batch", `{"calls": [{"plugin": "example", "method": "doWork"}]}`},
		{http.MethodGet, "/v1/calls", ""},
		{http.MethodGet, "/v1/calls/1", ""},
		{http.MethodDelete, "/v1/calls/1", ""},
		{http.MethodDelete, "/v1/calls?identifier=x", ""},
		{http.MethodGet, "/v1/history", ""},
	}
	for name, e := range map[string]*env{"closed": closed, "hung": hung} {
		for _, r := range requests {
			start := time.Now()
			resp, body := e.do(t, r.method, r.path, r.body)
			apiErr := apiError(t, resp, body)
			if resp.StatusCode != 503 || apiErr.Code != client.CodeUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: %s %s: %d %s, want 503 unavailable", name, r.method, r.path, resp.StatusCode, body)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("%s: %s %s took %v", name, r.method, r.path, took)
			}
		}
		resp, body := e.do(t, http.MethodGet, "/readyz", "")
		if resp.StatusCode != 503 || !strings.Contains(string(body), "database unreachable") {
			t.Errorf("%s: readyz %d %s", name, resp.StatusCode, body)
		}
		// Validation errors are still answered as such without the database.
		resp, body = e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "nope"}`)
		if resp.StatusCode != 404 {
			t.Errorf("%s: unknown method: %d %s", name, resp.StatusCode, body)
		}
	}
}

// faultyCatalog fails in ways the API cannot foresee.
type faultyCatalog struct{ request.Catalog }

func (c faultyCatalog) Method(plugin, method string) (*signature.Method, abi.Retry, error) {
	switch plugin {
	case "panics":
		panic("catalog exploded")
	case "fails":
		return nil, abi.Retry{}, errors.New("catalog is confused")
	}
	return c.Catalog.Method(plugin, method)
}

func TestFaultsAre500WithALoggedRequestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options) { o.Catalog = faultyCatalog{o.Catalog} })
	for _, tc := range []struct{ plugin, logged string }{{"panics", "catalog exploded"}, {"fails", "catalog is confused"}} {
		resp, body := e.do(t, http.MethodPost, "/v1/calls", fmt.Sprintf(`{"plugin": %q, "method": "m"}`, tc.plugin),
			"X-Request-Id: req-"+tc.plugin)
		apiErr := apiError(t, resp, body)
		if resp.StatusCode != 500 || apiErr.Code != client.CodeInternal || apiErr.RequestID != "req-"+tc.plugin ||
			strings.Contains(apiErr.Message, tc.logged) {
			t.Errorf("%s: %d %s, want 500 internal with the request id and no detail", tc.plugin, resp.StatusCode, body)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, tc.logged) || !strings.Contains(logs, `"request_id":"req-`+tc.plugin+`"`) {
			t.Errorf("%s: log lacks the fault or its request id:\n%s", tc.plugin, logs)
		}
	}
	// A request id that is not sane is replaced.
	resp, _ := e.do(t, http.MethodGet, "/healthz", "", "X-Request-Id: "+strings.Repeat("x", 100))
	if id := resp.Header.Get("X-Request-Id"); id == "" || len(id) > 64 {
		t.Errorf("request id %q", id)
	}
	// The server goes on serving.
	if _, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork"}); err != nil {
		t.Error(err)
	}
	if !strings.Contains(e.logs.String(), `"msg":"request","method":"POST","path":"/v1/calls","status":201`) {
		t.Errorf("no request log line:\n%s", e.logs.String())
	}
}

// The client surfaces every field of an error answer.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", Args: args(t, map[string]any{"data": 1})})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Code != client.CodeInvalidArguments || len(apiErr.Violations) != 1 ||
		apiErr.Violations[0].Pointer != "/data" || apiErr.RequestID == "" {
		t.Fatalf("error = %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "422 invalid_arguments") || !strings.Contains(msg, "/data: got number, want string") {
		t.Errorf("message %q", msg)
	}
	_, err = e.client.ScheduleBatch(ctx, []abi.ScheduleRequest{{Plugin: "example", Method: "doWork"}, {Plugin: "nope", Method: "x"}})
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != client.CodeUnknownPlugin || apiErr.Index == nil || *apiErr.Index != 1 {
		t.Errorf("batch error = %#v", err)
	}
	if _, err := e.client.CancelIdentifier(ctx, ""); err == nil {
		t.Error("CancelIdentifier with no identifier went through")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.client.List(cancelled, client.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
