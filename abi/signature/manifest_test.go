package signature_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi/signature"
)

// readmeManifest is the manifest of abi/README.md.
const readmeManifest = `{
  "abi": 1,
  "name": "example",
  "version": "1.2.0",
  "description": "Serverpod's example future calls",
  "calls": [
    {"name": "doWork", "params": []},
    {"name": "doOtherWork", "description": "does other work",
     "params": [{"name": "data", "schema": {"type": "string"}}]},
    {"name": "welcome",
     "params": [
       {"name": "signup", "schema": {
         "type": "object",
         "properties": {
           "userId": {"type": "integer"},
           "email": {"type": "string"},
           "plan": {"type": "string", "enum": ["free", "pro"]}
         },
         "required": ["userId", "email", "plan"],
         "additionalProperties": false}},
       {"name": "note", "schema": {"type": "string"}, "optional": true}
     ]}
  ],
  "retry": {"maxAttempts": 3, "backoff": "2s", "maxBackoff": "10m"}
}`

func TestParseManifest(t *testing.T) {
	t.Parallel()
	m, err := signature.ParseManifest([]byte(readmeManifest))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if m.Name != "example" || m.Version != "1.2.0" || len(m.Calls) != 3 || m.Retry.MaxAttempts != 3 {
		t.Errorf("manifest = %+v", m.Manifest)
	}
	welcome, ok := m.Method("welcome")
	if !ok {
		t.Fatal(`Method("welcome") not found`)
	}
	if err := welcome.Validate(json.RawMessage(`{"signup": {"userId": 1, "email": "e", "plan": "pro"}}`)); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, ok := m.Method("nope"); ok {
		t.Error(`Method("nope") found`)
	}
}

func TestParseManifestProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string
		want     []string // substrings of the problems, in order
	}{
		{"not JSON", `{"abi": 1,`, []string{"not a valid JSON manifest"}},
		{"trailing comma", "{\"abi\": 1, \"name\": \"x\", \"calls\": [\n{\"name\": \"a\", \"params\": [\n  {\"name\": \"p\", \"schema\": {\"type\": \"string\",}}]}]}",
			[]string{`invalid character '}' looking for beginning of object key string (line 3, column 45: "ma\": {\"type\": \"string\",}")`}},
		{"wrong type on a line", "{\"abi\": 1, \"name\": \"x\", \"calls\": [\n{\"name\": 7, \"params\": []}]}",
			[]string{`(line 2, column 10: "\", \"calls\": [\n{\"name\": 7")`}},
		{"trailing data", `{"abi": 1, "name": "x", "calls": []} x`, []string{"data after the JSON value"}},
		{"wrong field type", `{"abi": "1", "name": "x", "calls": []}`, []string{"not a valid JSON manifest"}},
		{"missing fields", `{}`, []string{"abi: missing", "name: missing", "calls: missing"}},
		{"unknown ABI version", `{"abi": 2, "name": "x", "calls": []}`, []string{"abi: version 2 is not supported (this host knows version 1)"}},
		{"bad plugin name", `{"abi": 1, "name": "9lives", "calls": []}`, []string{`name: "9lives" must match`}},
		{"bad call name", `{"abi": 1, "name": "x", "calls": [{"name": "do-work", "params": []}]}`, []string{`calls[0]: name "do-work" must match`}},
		{"duplicate call", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": []}, {"name": "a", "params": []}]}`,
			[]string{"calls[1] (a): duplicate call name"}},
		{"bad param name", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "", "schema": {}}]}]}`,
			[]string{`calls[0] (a): params[0]: name "" must match`}},
		{"duplicate param", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "p", "schema": {}}, {"name": "p", "schema": {}}]}]}`,
			[]string{"calls[0] (a): params[1] (p): duplicate parameter name"}},
		{"missing schema", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "p"}]}]}`,
			[]string{"params[0] (p): schema is missing"}},
		{"schema not a schema", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "p", "schema": 7}]}]}`,
			[]string{"params[0] (p): schema must be a JSON object or boolean"}},
		{"schema does not compile", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "p", "schema": {"type": "strin"}}]}]}`,
			[]string{"params[0] (p): schema does not compile"}},
		{"remote ref", `{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [{"name": "p", "schema": {"$ref": "http://169.254.169.254/"}}]}]}`,
			[]string{"remote references are not allowed"}},
		{"bad retry", `{"abi": 1, "name": "x", "calls": [], "retry": {"maxAttempts": 0}}`, []string{"retry: retry.maxAttempts: must be between 1"}},
		{"several at once", `{"abi": 3, "name": "", "calls": [{"name": "a b", "params": []}]}`,
			[]string{"abi: version 3", "name: ", "calls[0]: name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := signature.ParseManifest([]byte(tt.manifest))
			var merr *signature.ManifestError
			if !errors.As(err, &merr) {
				t.Fatalf("ParseManifest: got %v, want a *ManifestError", err)
			}
			if len(merr.Problems) != len(tt.want) {
				t.Fatalf("problems = %q, want %d of them", merr.Problems, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(merr.Problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, merr.Problems[i], want)
				}
			}
		})
	}
}

func TestParseManifestIgnoresUnknownFields(t *testing.T) {
	t.Parallel()
	m, err := signature.ParseManifest([]byte(`{"abi": 1, "name": "x", "calls": [{"name": "a", "params": [], "future": 1}], "future": true}`))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if _, ok := m.Method("a"); !ok {
		t.Error(`Method("a") not found`)
	}
}

func TestParseManifestTooLarge(t *testing.T) {
	t.Parallel()
	big := make([]byte, signature.MaxManifestSize+1)
	if _, err := signature.ParseManifest(big); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("ParseManifest: got %v, want a size error", err)
	}
}

func TestValidNames(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"example": true, "my-plugin_v2": true, "my-plugin.v2": false, "_x": false, "": false, strings.Repeat("a", 65): false} {
		if got := signature.ValidPluginName(name); got != want {
			t.Errorf("ValidPluginName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{"doWork": true, "_x": true, "a.b": false, "1a": false} {
		if got := signature.ValidCallName(name); got != want {
			t.Errorf("ValidCallName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseManifestSubscriptions(t *testing.T) {
	t.Parallel()
	manifest := func(subs string) []byte {
		return []byte(`{"abi": 1, "name": "thumbs", "calls": [{"name": "makeThumbnail", "params": []}, {"name": "index", "params": []}],
			"subscriptions": ` + subs + `}`)
	}
	m, err := signature.ParseManifest(manifest(`[{"topic": "image.uploaded", "call": "makeThumbnail"}, {"topic": "image.uploaded", "call": "index"}]`))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if len(m.Subscriptions) != 2 || m.Subscriptions[1].Call != "index" {
		t.Errorf("subscriptions = %+v", m.Subscriptions)
	}
	_, err = signature.ParseManifest(manifest(`[{"topic": "image.uploaded", "call": "resize"}, {"topic": ".hidden", "call": "index"},
		{"topic": "a", "call": "index"}, {"topic": "a", "call": "index"}]`))
	var me *signature.ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("ParseManifest = %v, want a *ManifestError", err)
	}
	want := []string{
		`subscriptions[0]: call "resize" is not a call of this plugin`,
		`subscriptions[1]: topic ".hidden" must match`,
		`subscriptions[3]: a → index is subscribed twice`,
	}
	if len(me.Problems) != len(want) {
		t.Fatalf("problems = %q, want %d", me.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(me.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, me.Problems[i], w)
		}
	}
}
