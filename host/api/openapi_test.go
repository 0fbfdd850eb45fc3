package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
)

// loadOpenAPI fetches /openapi.json and checks it is a valid OpenAPI document.
func loadOpenAPI(t *testing.T, e *env) *openapi3.T {
	t.Helper()
	resp, body := e.do(t, http.MethodGet, "/openapi.json", "")
	if resp.StatusCode != 200 {
		t.Fatalf("openapi.json: %d %s", resp.StatusCode, body)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	return doc
}

func schema(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref, ok := doc.Components.Schemas[name]
	if !ok || ref.Value == nil {
		t.Fatalf("no schema %s", name)
	}
	return ref.Value
}

// checkJSON validates a JSON value against a schema of doc.
func checkJSON(t *testing.T, doc *openapi3.T, s *openapi3.Schema, value string) error {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		t.Fatal(err)
	}
	return doc.ValidateSchemaJSON(s, v)
}

func TestOpenAPIHasEveryPluginSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := loadOpenAPI(t, e)

	args := schema(t, doc, "example.doOtherWork.Args")
	if data := args.Properties["data"]; data == nil || !data.Value.Type.Is("string") || !slices.Equal(args.Required, []string{"data"}) {
		t.Errorf("example.doOtherWork.Args = %+v", args)
	}
	if len(schema(t, doc, "example.doWork.Args").Properties) != 0 {
		t.Error("doWork takes no arguments")
	}
	welcome := schema(t, doc, "drip.welcome.Args")
	signup := welcome.Properties["signup"]
	if signup == nil || !slices.Equal(welcome.Required, []string{"signup"}) || welcome.Properties["note"] == nil ||
		!slices.Equal(signup.Value.Properties["plan"].Value.Enum, []any{"free", "pro"}) {
		t.Errorf("drip.welcome.Args = %+v", welcome)
	}

	// Every method of every loaded plugin has its Args and Request schemas, and the
	// body of POST /v1/calls is one of the requests.
	methods := 0
	for _, p := range plugins(t).Plugins() {
		for _, m := range p.Manifest.Calls {
			schema(t, doc, p.Name+"."+m.Name+".Args")
			req := schema(t, doc, p.Name+"."+m.Name+".Request")
			args := req.Properties["args"]
			if args.Ref == "" && len(args.Value.AnyOf) == 2 { // args may be null
				args = args.Value.AnyOf[0]
			}
			if args.Ref != "#/components/schemas/"+p.Name+"."+m.Name+".Args" {
				t.Errorf("%s.%s.Request args = %+v", p.Name, m.Name, req.Properties["args"])
			}
			methods++
		}
	}
	scheduleRequest := schema(t, doc, "ScheduleRequest")
	if len(scheduleRequest.OneOf) != methods {
		t.Errorf("ScheduleRequest is one of %d requests, want %d", len(scheduleRequest.OneOf), methods)
	}
	body := doc.Paths.Find("/v1/calls").Post.RequestBody.Value.Content.Get("application/json").Schema
	if body.Ref != "#/components/schemas/ScheduleRequest" {
		t.Errorf("POST /v1/calls body = %+v", body)
	}

	// The schemas accept exactly what the API accepts.
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"plugin": "example", "method": "doOtherWork", "args": {"data": "x"}, "delay": "1h30m", "identifier": "i"}`, true},
		{`{"plugin": "example", "method": "doWork", "at": "2030-01-01T00:00:00Z", "retry": {"maxAttempts": 3}}`, true},
		{`{"plugin": "drip", "method": "welcome", "args": {"signup": {"userId": 1, "email": "a@b.c", "plan": "pro"}}}`, true},
		{`{"plugin": "example", "method": "doOtherWork", "args": {"data": 5}}`, false},
		{`{"plugin": "example", "method": "doOtherWork"}`, false},
		{`{"plugin": "example", "method": "doMoreWork"}`, false},
		{`{"plugin": "drip", "method": "welcome", "args": {"signup": {"userId": 1, "email": "a@b.c", "plan": "gold"}}}`, false},
		{`{"plugin": "example", "method": "doWork", "when": "soon"}`, false},
	} {
		if err := checkJSON(t, doc, scheduleRequest, tc.body); (err == nil) != tc.ok {
			t.Errorf("%s: valid %v, want %v (%v)", tc.body, err == nil, tc.ok, err)
		}
	}

	for path, methods := range map[string][]string{
		"/v1/calls":          {http.MethodPost, http.MethodGet, http.MethodDelete},
		"/v1/calls/batch":    {http.MethodPost},
		"/v1/calls/{id}":     {http.MethodGet, http.MethodDelete},
		"/v1/history":        {http.MethodGet},
		"/v1/plugins":        {http.MethodGet},
		"/v1/plugins/{name}": {http.MethodGet},
		"/healthz":           {http.MethodGet},
		"/readyz":            {http.MethodGet},
		"/metrics":           {http.MethodGet},
		"/openapi.json":      {http.MethodGet},
	} {
		item := doc.Paths.Find(path)
		for _, m := range methods {
			if item == nil || item.GetOperation(m) == nil {
				t.Errorf("no %s %s", m, path)
			}
		}
	}
	if len(doc.Security) != 0 {
		t.Errorf("security %v without tokens", doc.Security)
	}

	withTokens := newEnv(t, func(o *api.Options) { o.Tokens = []string{token} })
	secured := loadOpenAPI(t, withTokens)
	if len(secured.Security) != 1 || secured.Security[0]["bearerAuth"] == nil {
		t.Errorf("security = %v", secured.Security)
	}
	if ops := secured.Paths.Find("/healthz").Get; ops.Security == nil || len(*ops.Security) != 0 {
		t.Error("healthz is not marked open")
	}
}

// A parameter schema that refers to itself ($defs, recursion) is hoisted into
// components so its references resolve in the document. No example plugin has one, so
// the manifest is made up here.
func TestOpenAPIHoistsSelfReferringSchemas(t *testing.T) {
	t.Parallel()
	tree := abi.Manifest{ABI: 1, Name: "tree", Calls: []abi.Method{{Name: "walk", Params: []abi.Param{
		{Name: "root", Schema: json.RawMessage(`{"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object",
			"properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
			"required": ["value"], "additionalProperties": false}}}`)},
		{Name: "list", Optional: true, Schema: json.RawMessage(`{"type": "object", "properties": {"next": {"$ref": "#"},
			"const": {"const": {"$ref": "#/not/a/reference"}}}}`)},
	}}}}
	e := newEnv(t, func(o *api.Options) { o.Plugins = []api.Plugin{{Manifest: tree, File: "tree.wasm"}} })
	doc := loadOpenAPI(t, e)
	if r := schema(t, doc, "tree.walk.Args").Properties["root"].Ref; r != "#/components/schemas/tree.walk.Args.root" {
		t.Errorf("root refers to %q", r)
	}
	node := schema(t, doc, "tree.walk.Args.root.Node")
	if r := node.Properties["children"].Value.Items.Ref; r != "#/components/schemas/tree.walk.Args.root.Node" {
		t.Errorf("children refer to %q", r)
	}
	list := schema(t, doc, "tree.walk.Args.list")
	if r := list.Properties["next"].Ref; r != "#/components/schemas/tree.walk.Args.list" {
		t.Errorf("next refers to %q", r)
	}
	if c := list.Properties["const"].Value.Const; c.(map[string]any)["$ref"] != "#/not/a/reference" {
		t.Errorf("data was rewritten: %v", c)
	}
	args := schema(t, doc, "tree.walk.Args")
	for _, tc := range []struct {
		args string
		ok   bool
	}{
		{`{"root": {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}}`, true},
		{`{"root": {"value": 1, "children": [{"value": 2, "children": [{"value": "3"}]}]}}`, false},
		{`{"root": {"value": 1}, "list": {"next": {"next": {}}}}`, true},
	} {
		if err := checkJSON(t, doc, args, tc.args); (err == nil) != tc.ok {
			t.Errorf("%s: valid %v, want %v (%v)", tc.args, err == nil, tc.ok, err)
		}
	}
}
