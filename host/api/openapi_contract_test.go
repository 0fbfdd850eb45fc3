package api_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/futurecalls/futurecalls/host/api"
)

// docURL names /openapi.json among the validator's resources.
const docURL = "https://futurecalls.test/openapi.json"

// contract checks answers and requests against /openapi.json with a JSON Schema
// 2020-12 validator (santhosh-tekuri/jsonschema), formats asserted.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	// seen collects the statuses checked, by operation ("get /v1/calls 200").
	seen map[string]bool
}

func newContract(t *testing.T, e *env, seen map[string]bool) *contract {
	t.Helper()
	resp, body := e.do(t, http.MethodGet, "/openapi.json", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d %s", resp.StatusCode, body)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc.(map[string]any), compiler: c, seen: seen}
}

// escape makes s one token of a JSON pointer.
func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }

// at returns the value at pointer, following an OpenAPI $ref there; "" when absent.
func (c *contract) at(pointer string) (map[string]any, string) {
	var v any = c.doc
	for _, token := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, ""
		}
		v = m[strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ""
	}
	if r, ok := m["$ref"].(string); ok {
		return c.at(strings.TrimPrefix(r, "#"))
	}
	return m, pointer
}

// resolve follows an OpenAPI $ref of an object of the document.
func (c *contract) resolve(m map[string]any) (map[string]any, string) {
	if r, ok := m["$ref"].(string); ok {
		return c.at(strings.TrimPrefix(r, "#"))
	}
	return m, ""
}

// validate checks a JSON value against the schema at pointer.
func (c *contract) validate(t *testing.T, pointer string, value []byte) error {
	t.Helper()
	s, err := c.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compile %s: %v", pointer, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// checkAnswer checks an answer of method on path (a path of the document): its status
// is declared, every required header is there and every header of the API's own is
// declared, and its body fits the schema of its media type.
func (c *contract) checkAnswer(t *testing.T, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	op := "/paths/" + escape(path) + "/" + strings.ToLower(method)
	if o, _ := c.at(op); o == nil {
		t.Errorf("%s %s: no such operation in the document", method, path)
		return
	}
	status := strconv.Itoa(resp.StatusCode)
	response, pointer := c.at(op + "/responses/" + status)
	c.seen[strings.ToLower(method)+" "+path+" "+status] = response != nil
	if response == nil {
		t.Errorf("%s %s: %d is not declared", method, path, resp.StatusCode)
		return
	}
	c.checkResponse(t, method+" "+path, pointer, resp, body)
}

// checkResponse checks an answer against the response object at pointer.
func (c *contract) checkResponse(t *testing.T, what, pointer string, resp *http.Response, body []byte) {
	t.Helper()
	headers, _ := response(c, pointer)["headers"].(map[string]any)
	for name, h := range headers {
		if header, _ := c.resolve(h.(map[string]any)); header["required"] == true && resp.Header.Get(name) == "" {
			t.Errorf("%s: %d without the declared header %s", what, resp.StatusCode, name)
		}
	}
	for _, name := range []string{"X-Request-Id", "Retry-After", "Allow", "WWW-Authenticate", "Location"} {
		if _, declared := headers[name]; resp.Header.Get(name) != "" && !declared {
			t.Errorf("%s: %d sends the undeclared header %s", what, resp.StatusCode, name)
		}
	}
	content, _ := response(c, pointer)["content"].(map[string]any)
	if len(body) == 0 {
		if len(content) > 0 && resp.Request.Method != http.MethodHead {
			t.Errorf("%s: %d has no body, the document declares %v", what, resp.StatusCode, content)
		}
		return
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if _, ok := content[mediaType]; !ok {
		t.Errorf("%s: %d answers %s, the document declares %v", what, resp.StatusCode, mediaType, content)
		return
	}
	schema := pointer + "/content/" + escape(mediaType) + "/schema"
	if err := c.validate(t, schema, body); err != nil && mediaType == "application/json" {
		t.Errorf("%s: %d does not fit %s: %v\n%s", what, resp.StatusCode, schema, err, body)
	}
}

func response(c *contract, pointer string) map[string]any {
	m, _ := c.at(pointer)
	return m
}

// Every status the API answers — successes, errors of every kind, HEAD and OPTIONS —
// fits what /openapi.json declares for it: the status, its headers and its body.
func TestAnswersFitTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	e := newEnv(t)
	c := newContract(t, e, seen)
	secured := newEnv(t, func(o *api.Options) { o.Tokens = []string{token} })
	cs := newContract(t, secured, seen)
	down := newEnv(t)
	cDown := newContract(t, down, seen)
	down.store.Close()

	resp, body := e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "drip", "method": "welcome", "delay": "3d",
		"args": {"signup": {"userId": 1, "email": "a@b.c", "plan": "pro"}, "note": "hi"}, "identifier": "u1"}`)
	c.checkAnswer(t, http.MethodPost, "/v1/calls", resp, body)
	id := apiCallID(t, body)
	resp, body = e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork", "cron": "0 9 * * MON-FRI",
		"timezone": "Europe/Berlin", "identifier": "daily"}`)
	c.checkAnswer(t, http.MethodPost, "/v1/calls", resp, body)
	resp, body = e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork", "every": "15m", "identifier": "q"}`)
	c.checkAnswer(t, http.MethodPost, "/v1/calls", resp, body)
	resp, body = e.do(t, http.MethodPost, "/v1/calls/batch", `{"calls": [{"plugin": "example", "method": "doOtherWork",
		"args": {"data": "x"}, "at": "2030-01-01T00:00:00+01:00", "retry": {"maxAttempts": 3, "backoff": "2s"}}]}`)
	c.checkAnswer(t, http.MethodPost, "/v1/calls/batch", resp, body)
	resp, body = e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork"}`)
	c.checkAnswer(t, http.MethodPost, "/v1/calls", resp, body)
	running := apiCallID(t, body)
	if _, err := e.store.Claim(ctx, "other-host", 1, time.Minute, []string{"example"}); err != nil {
		t.Fatal(err)
	}
	putState(t, e, "drip", map[string][]byte{"sent/42": []byte(`{"at": "2026-01-01T00:00:00Z"}`), "raw": {0xff}, "n": []byte("1")})

	for _, r := range []struct{ method, path, template, body string }{
		{http.MethodGet, "/v1/calls?limit=2", "/v1/calls", ""},
		{http.MethodGet, "/v1/calls", "/v1/calls", ""},
		{http.MethodHead, "/v1/calls", "/v1/calls", ""},
		{http.MethodGet, "/v1/calls/" + id, "/v1/calls/{id}", ""},
		{http.MethodHead, "/v1/calls/" + id, "/v1/calls/{id}", ""},
		{http.MethodDelete, "/v1/calls/" + id, "/v1/calls/{id}", ""},
		{http.MethodDelete, "/v1/calls?identifier=daily", "/v1/calls", ""},
		{http.MethodGet, "/v1/history", "/v1/history", ""},
		{http.MethodGet, "/v1/stats", "/v1/stats", ""},
		{http.MethodGet, "/v1/stats?minutes=0", "/v1/stats", ""},
		{http.MethodGet, "/v1/plugins", "/v1/plugins", ""},
		{http.MethodGet, "/v1/plugins/drip", "/v1/plugins/{name}", ""},
		{http.MethodHead, "/v1/plugins/drip", "/v1/plugins/{name}", ""},
		{http.MethodGet, "/v1/plugins/drip/state", "/v1/plugins/{name}/state", ""},
		{http.MethodGet, "/v1/plugins/drip/state?limit=1", "/v1/plugins/{name}/state", ""},
		{http.MethodHead, "/v1/plugins/drip/state", "/v1/plugins/{name}/state", ""},
		{http.MethodGet, "/v1/plugins/drip/state/sent%2F42", "/v1/plugins/{name}/state/{key}", ""},
		{http.MethodGet, "/v1/plugins/drip/state/raw", "/v1/plugins/{name}/state/{key}", ""},
		{http.MethodHead, "/v1/plugins/drip/state/n", "/v1/plugins/{name}/state/{key}", ""},
		{http.MethodOptions, "/v1/plugins/drip/state", "/v1/plugins/{name}/state", ""},
		{http.MethodGet, "/healthz", "/healthz", ""},
		{http.MethodHead, "/healthz", "/healthz", ""},
		{http.MethodGet, "/readyz", "/readyz", ""},
		{http.MethodGet, "/metrics", "/metrics", ""},
		{http.MethodGet, "/openapi.json", "/openapi.json", ""},
		{http.MethodOptions, "/v1/calls", "/v1/calls", ""},
		{http.MethodOptions, "/v1/calls/" + id, "/v1/calls/{id}", ""},
		{http.MethodOptions, "/healthz", "/healthz", ""},
		// Errors.
		{http.MethodPost, "/v1/calls", "/v1/calls", `{"plugin": `},
		{http.MethodPost, "/v1/calls", "/v1/calls", `{"plugin": "example", "method": "doWork", "when": "soon"}`},
		{http.MethodGet, "/v1/calls?limit=0", "/v1/calls", ""},
		{http.MethodGet, "/v1/calls/x", "/v1/calls/{id}", ""},
		{http.MethodGet, "/v1/calls/999999999", "/v1/calls/{id}", ""},
		{http.MethodDelete, "/v1/calls/" + running, "/v1/calls/{id}", ""},
		{http.MethodGet, "/v1/plugins/nope", "/v1/plugins/{name}", ""},
		{http.MethodGet, "/v1/plugins/nope/state", "/v1/plugins/{name}/state", ""},
		{http.MethodGet, "/v1/plugins/drip/state?limit=0", "/v1/plugins/{name}/state", ""},
		{http.MethodGet, "/v1/plugins/drip/state/missing", "/v1/plugins/{name}/state/{key}", ""},
		{http.MethodGet, "/v1/plugins/drip/state/%FF", "/v1/plugins/{name}/state/{key}", ""},
		{http.MethodPost, "/v1/calls", "/v1/calls", `{"plugin": "nope", "method": "doWork"}`},
		{http.MethodPost, "/v1/calls", "/v1/calls", `{"plugin": "example", "method": "doOtherWork", "args": {"data": 5}}`},
		{http.MethodPost, "/v1/calls", "/v1/calls", `{"plugin": "example", "method": "doOtherWork", "args": {"data": "` + strings.Repeat("x", 2<<20) + `"}}`},
		{http.MethodPost, "/v1/calls/batch", "/v1/calls/batch", `{"calls": []}`},
	} {
		resp, body := e.do(t, r.method, r.path, r.body)
		c.checkAnswer(t, r.method, r.template, resp, body)
	}

	resp, body = e.do(t, http.MethodPost, "/v1/calls", `{}`, "Content-Type: text/plain")
	c.checkAnswer(t, http.MethodPost, "/v1/calls", resp, body)
	resp, body = e.do(t, http.MethodGet, "/v1/calls", "", "Host: example.com")
	c.checkAnswer(t, http.MethodGet, "/v1/calls", resp, body)
	resp, body = secured.do(t, http.MethodGet, "/v1/calls", "", "Authorization: Bearer wrong")
	cs.checkAnswer(t, http.MethodGet, "/v1/calls", resp, body)
	resp, body = secured.do(t, http.MethodOptions, "/v1/calls", "")
	cs.checkAnswer(t, http.MethodOptions, "/v1/calls", resp, body)
	resp, body = down.do(t, http.MethodGet, "/v1/calls", "")
	cDown.checkAnswer(t, http.MethodGet, "/v1/calls", resp, body)
	resp, body = down.do(t, http.MethodGet, "/readyz", "")
	cDown.checkAnswer(t, http.MethodGet, "/readyz", resp, body)

	// Answers outside every operation still have the error shape of default.
	for _, r := range []struct{ method, path string }{{http.MethodGet, "/v1/nope"}, {http.MethodPut, "/v1/calls"}} {
		resp, body := e.do(t, r.method, r.path, "")
		c.checkResponse(t, r.method+" "+r.path, "/components/responses/Error", resp, body)
		if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", r.method, r.path)
		}
	}

	// Each status the document declares anywhere was answered above, by some
	// operation.
	statuses := map[string]bool{}
	for key, declared := range seen {
		if declared {
			statuses[key[strings.LastIndexByte(key, ' ')+1:]] = true
		}
	}
	for _, doc := range []*contract{c, cs} {
		for _, item := range doc.doc["paths"].(map[string]any) {
			for _, op := range item.(map[string]any) {
				op, _ := op.(map[string]any) // or the path's parameters
				responses, _ := op["responses"].(map[string]any)
				for status := range responses {
					if status != "default" && !statuses[status] {
						t.Errorf("no answer with status %s was checked", status)
						statuses[status] = true
					}
				}
			}
		}
	}
}

// apiCallID is the id of the call an answer holds.
func apiCallID(t *testing.T, body []byte) string {
	t.Helper()
	var call struct{ ID int64 }
	if err := json.Unmarshal(body, &call); err != nil || call.ID == 0 {
		t.Fatalf("no call in %s (%v)", body, err)
	}
	return strconv.FormatInt(call.ID, 10)
}

// The request schema of /openapi.json accepts exactly the bodies the server accepts:
// a client validating against it is never refused by the host, nor held back from a
// request the host takes.
func TestRequestSchemaIsAsStrictAsTheServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := newContract(t, e, map[string]bool{})
	const work = `"plugin": "example", "method": "doOtherWork", "args": {"data": "x"}`
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"plugin": "example", "method": "doWork"}`, true},
		{`{"plugin": "example", "method": "doWork", "args": null}`, true},
		{`{"plugin": "example", "method": "doWork", "args": {}}`, true},
		{`{` + work + `, "delay": "1h30m"}`, true},
		{`{` + work + `, "delay": "3d"}`, true},
		{`{` + work + `, "delay": "1d12h"}`, true},
		{`{` + work + `, "delay": "1.5s"}`, true},
		{`{` + work + `, "delay": "0s"}`, true},
		{`{` + work + `, "at": "2030-01-01T00:00:00+05:30"}`, true},
		{`{` + work + `, "identifier": "user-1", "retry": {"maxAttempts": 3, "backoff": "1d", "maxBackoff": "2d"}}`, true},
		{`{` + work + `, "retry": {"maxAttempts": 3, "backoff": "1ms"}}`, true},
		{`{` + work + `, "cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin", "identifier": "daily"}`, true},
		{`{` + work + `, "cron": "@daily", "identifier": "daily"}`, true},
		{`{` + work + `, "every": "15m", "start": "2030-01-01T00:00:00Z", "identifier": "q"}`, true},
		{`{` + work + `, "every": "1d", "identifier": "q"}`, true},

		{`{"PLUGIN": "example", "METHOD": "doWork"}`, false},
		{`{"plugin": "example", "method": "doWork", "Delay": "1h"}`, false},
		{`{` + work + `, "retry": {"MaxAttempts": 3}}`, false},
		{`{` + work + `, "delay": ""}`, false},
		{`{` + work + `, "delay": "", "at": "2030-01-01T00:00:00Z"}`, false},
		{`{` + work + `, "cron": ""}`, false},
		{`{` + work + `, "identifier": ""}`, false},
		{`{` + work + `, "delay": "1h", "at": "2030-01-01T00:00:00Z"}`, false},
		{`{` + work + `, "delay": "soon"}`, false},
		{`{` + work + `, "delay": " 1h"}`, false},
		{`{` + work + `, "delay": "-1h"}`, false},
		{`{` + work + `, "delay": "1h", "identifier": "x", "every": "1h"}`, false},
		{`{` + work + `, "cron": "@daily"}`, false},
		{`{` + work + `, "every": "1h"}`, false},
		{`{` + work + `, "cron": "@daily", "every": "1h", "identifier": "x"}`, false},
		{`{` + work + `, "every": "1h", "timezone": "Europe/Berlin", "identifier": "x"}`, false},
		{`{` + work + `, "cron": "@daily", "start": "2030-01-01T00:00:00Z", "identifier": "x"}`, false},
		{`{` + work + `, "timezone": "Europe/Berlin"}`, false},
		{`{` + work + `, "cron": "@daily", "timezone": "Local", "identifier": "x"}`, false},
		{`{` + work + `, "at": "2030-01-01T00:00:00+24:00"}`, false},
		{`{` + work + `, "retry": {"maxAttempts": 3, "backoff": "1h30"}}`, false},
		{`{` + work + `, "retry": {"maxAttempts": 0}}`, false},
		{`{"plugin": "example", "method": "doOtherWork", "args": null}`, false},
		{`{"plugin": "example", "method": "doOtherWork"}`, false},
		{`{"plugin": "nope", "method": "doWork"}`, false},
	} {
		valid := c.validate(t, "/components/schemas/ScheduleRequest", []byte(tc.body))
		resp, body := e.do(t, http.MethodPost, "/v1/calls", tc.body)
		if (valid == nil) != tc.ok {
			t.Errorf("%s: the schema says valid %v, want %v: %v", tc.body, valid == nil, tc.ok, valid)
		}
		if (resp.StatusCode == http.StatusCreated) != tc.ok {
			t.Errorf("%s: the server answers %d %s, want accepted %v", tc.body, resp.StatusCode, body, tc.ok)
		}
	}
}
