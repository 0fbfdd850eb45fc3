package signature_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

// welcome is the README's example call: a record parameter and an optional one.
var welcome = abi.Method{
	Name: "welcome",
	Params: []abi.Param{
		{Name: "signup", Schema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"userId": {"type": "integer"},
				"email": {"type": "string", "format": "email"},
				"plan": {"type": "string", "enum": ["free", "pro"]},
				"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
			},
			"required": ["userId", "email", "plan"],
			"additionalProperties": false}`)},
		{Name: "note", Schema: json.RawMessage(`{"type": "string"}`), Optional: true},
		{Name: "at", Schema: json.RawMessage(`{"type": "string", "format": "date-time"}`), Optional: true},
		{Name: "tree", Optional: true, Schema: json.RawMessage(`{
			"$defs": {"node": {"type": "object", "properties": {
				"name": {"type": "string"},
				"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
				"required": ["name"]}},
			"$ref": "#/$defs/node"}`)},
	},
}

func compile(t *testing.T, m abi.Method) *signature.Method {
	t.Helper()
	sig, err := signature.Compile(m)
	if err != nil {
		t.Fatalf("Compile(%s): %v", m.Name, err)
	}
	return sig
}

func TestValidate(t *testing.T) {
	t.Parallel()
	sig := compile(t, welcome)
	noParams := compile(t, abi.Method{Name: "doWork", Params: []abi.Param{}})
	tests := []struct {
		name string
		sig  *signature.Method
		args string
		want []signature.Violation // nil: valid
	}{
		{name: "valid", sig: sig, args: `{"signup": {"userId": 42, "email": "a@example.com", "plan": "pro"}}`},
		{name: "valid with optionals", sig: sig, args: `{"signup": {"userId": 1, "email": "a@example.com", "plan": "free", "tags": ["x"]},
			"note": "hi", "at": "2026-01-01T00:00:00Z", "tree": {"name": "a", "children": [{"name": "b"}]}}`},
		{name: "no params, empty object", sig: noParams, args: `{}`},
		{name: "no params, absent args", sig: noParams, args: ``},
		{name: "no params, null args", sig: noParams, args: `null`},
		{name: "missing parameter", sig: sig, args: `{}`,
			want: []signature.Violation{{Pointer: "/signup", Message: "missing required parameter"}}},
		{name: "extra parameter", sig: sig, args: `{"signup": {"userId": 1, "email": "a@example.com", "plan": "free"}, "extra": 1, "more": 2}`,
			want: []signature.Violation{{Pointer: "/extra", Message: "unknown parameter"}, {Pointer: "/more", Message: "unknown parameter"}}},
		{name: "extra parameter on a call without any", sig: noParams, args: `{"data": "x"}`,
			want: []signature.Violation{{Pointer: "/data", Message: "unknown parameter"}}},
		{name: "wrong type", sig: sig, args: `{"signup": "bob"}`,
			want: []signature.Violation{{Pointer: "/signup", Message: "got string, want object"}}},
		{name: "nested record field wrong", sig: sig, args: `{"signup": {"userId": "42", "email": "a@example.com", "plan": "pro"}}`,
			want: []signature.Violation{{Pointer: "/signup/userId", Message: "got string, want integer"}}},
		{name: "every violation listed", sig: sig, args: `{"signup": {"userId": 1.5, "plan": "gold", "x": true, "tags": ["a", "a"]}, "note": 7, "at": "yesterday"}`,
			want: []signature.Violation{
				{Pointer: "/at", Message: "'yesterday' is not valid date-time: less than 20 characters long"},
				{Pointer: "/note", Message: "got number, want string"},
				{Pointer: "/signup/email", Message: "missing required property"},
				{Pointer: "/signup/plan", Message: "value must be one of 'free', 'pro'"},
				{Pointer: "/signup/tags", Message: "items at 0 and 1 are equal"},
				{Pointer: "/signup/userId", Message: "got number, want integer"},
				{Pointer: "/signup/x", Message: "property not allowed"},
			}},
		{name: "local ref to defs", sig: sig, args: `{"signup": {"userId": 1, "email": "a@example.com", "plan": "free"}, "tree": {"name": "a", "children": [{"children": []}]}}`,
			want: []signature.Violation{{Pointer: "/tree/children/0/name", Message: "missing required property"}}},
		{name: "not an object", sig: sig, args: `[1, 2]`,
			want: []signature.Violation{{Pointer: "", Message: "got array, want object"}}},
		{name: "malformed JSON", sig: sig, args: `{"signup": `,
			want: []signature.Violation{{Pointer: "", Message: "malformed JSON: unexpected EOF"}}},
		{name: "trailing data", sig: noParams, args: `{} {}`,
			want: []signature.Violation{{Pointer: "", Message: "malformed JSON: invalid character after top-level value"}}},
		{name: "pointer escaping", sig: noParams, args: `{"a/b~c": 1}`,
			want: []signature.Violation{{Pointer: "/a~1b~0c", Message: "unknown parameter"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.sig.Validate(json.RawMessage(tt.args))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var verr *signature.Error
			if !errors.As(err, &verr) {
				t.Fatalf("Validate: got %v, want a *signature.Error", err)
			}
			if verr.Method != tt.sig.Name() {
				t.Errorf("Method = %q, want %q", verr.Method, tt.sig.Name())
			}
			if !slices.Equal(verr.Violations, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", verr.Violations, tt.want)
			}
			for _, v := range tt.want {
				if !strings.Contains(err.Error(), v.Message) {
					t.Errorf("Error() = %q does not mention %q", err, v.Message)
				}
			}
		})
	}
}

func TestValidateAnyOf(t *testing.T) {
	t.Parallel()
	sig := compile(t, abi.Method{Name: "m", Params: []abi.Param{
		{Name: "n", Schema: json.RawMessage(`{"anyOf": [{"type": "integer"}, {"type": "null"}]}`)},
	}})
	err := sig.Validate(json.RawMessage(`{"n": "x"}`))
	var verr *signature.Error
	if !errors.As(err, &verr) || len(verr.Violations) != 1 {
		t.Fatalf("Validate: got %v, want one violation", err)
	}
	v := verr.Violations[0]
	if v.Pointer != "/n" || !strings.Contains(v.Message, "anyOf") || !strings.Contains(v.Message, "want integer") || !strings.Contains(v.Message, "want null") {
		t.Errorf("violation = %+v, want /n summing up both branches", v)
	}
}

func TestValidateNumbers(t *testing.T) {
	t.Parallel()
	sig := compile(t, abi.Method{Name: "m", Params: []abi.Param{
		{Name: "small", Schema: json.RawMessage(`{"type": "integer", "minimum": -128, "maximum": 127}`)},
		{Name: "positive", Schema: json.RawMessage(`{"exclusiveMinimum": 0, "exclusiveMaximum": 1e10}`)},
		{Name: "half", Schema: json.RawMessage(`{"multipleOf": 0.5}`)},
	}})
	err := sig.Validate(json.RawMessage(`{"small": 3000000000, "positive": 0, "half": 0.25}`))
	var verr *signature.Error
	if !errors.As(err, &verr) {
		t.Fatalf("Validate: %v", err)
	}
	want := []signature.Violation{
		{Pointer: "/half", Message: "must be a multiple of 0.5, got 0.25"},
		{Pointer: "/positive", Message: "must be > 0, got 0"},
		{Pointer: "/small", Message: "must be <= 127, got 3000000000"},
	}
	if !slices.Equal(verr.Violations, want) {
		t.Errorf("violations:\n got %q\nwant %q", verr.Violations, want)
	}
}

// TestValidateNumberLiterals: the longest numbers a user means pass, and longer
// literals or larger exponents are refused, at their pointers, before the schema's
// big-number arithmetic sees them.
func TestValidateNumberLiterals(t *testing.T) {
	t.Parallel()
	sig := compile(t, abi.Method{Name: "m", Params: []abi.Param{
		{Name: "n", Schema: json.RawMessage(`{"type": "array", "items": {"type": "number"}}`)},
		{Name: "id", Schema: json.RawMessage(`{"type": "integer"}`), Optional: true},
	}})
	meant := []string{
		"-9223372036854775808", "18446744073709551615", "1.7976931348623157e308", "-1.2345678901234567e-308",
		"5e-324", "0.0000012345678901234567", "9.999999999999999999999999999999999E+999", "1e-1000",
		"-0." + strings.Repeat("1", signature.MaxNumberLength-3),
	}
	if err := sig.Validate(json.RawMessage(`{"n": [` + strings.Join(meant, ", ") + `]}`)); err != nil {
		t.Fatalf("Validate refused numbers a user means: %v", err)
	}
	tooLong := strings.Repeat("9", signature.MaxNumberLength+1)
	huge := strings.Repeat("7", 1<<20)
	err := sig.Validate(json.RawMessage(`{"n": [1, ` + tooLong + `, 1e1001, 2E-1001], "id": ` + huge + `}`))
	var verr *signature.Error
	if !errors.As(err, &verr) {
		t.Fatalf("Validate: got %v, want a *signature.Error", err)
	}
	want := []signature.Violation{
		{Pointer: "/id", Message: "number literal of 1048576 characters, more than the limit of 64: send larger numbers as strings"},
		{Pointer: "/n/1", Message: "number literal of 65 characters, more than the limit of 64: send larger numbers as strings"},
		{Pointer: "/n/2", Message: "number 1e1001 has an exponent beyond ±1000: send it as a string"},
		{Pointer: "/n/3", Message: "number 2E-1001 has an exponent beyond ±1000: send it as a string"},
	}
	if !slices.Equal(verr.Violations, want) {
		t.Errorf("violations:\n got %q\nwant %q", verr.Violations, want)
	}
}

// BenchmarkValidateHugeNumber measures the refusal of a 1 MiB number literal against
// the validation of ordinary arguments in the same run (ns/op of each; the ratio is
// what to compare).
func BenchmarkValidateHugeNumber(b *testing.B) {
	sig, err := signature.Compile(welcome)
	if err != nil {
		b.Fatal(err)
	}
	args := func(userID string) json.RawMessage {
		return json.RawMessage(`{"signup": {"userId": ` + userID + `, "email": "a@example.com", "plan": "pro"}}`)
	}
	b.Run("ordinary", func(b *testing.B) {
		ordinary := args("42")
		b.ReportAllocs()
		for b.Loop() {
			if err := sig.Validate(ordinary); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("1MiB-literal", func(b *testing.B) {
		huge := args(strings.Repeat("7", 1<<20))
		b.ReportAllocs()
		b.SetBytes(int64(len(huge)))
		for b.Loop() {
			if err := sig.Validate(huge); err == nil {
				b.Fatal("a 1 MiB number literal was accepted")
			}
		}
	})
}

func TestCompileRefusesRemoteRefs(t *testing.T) {
	t.Parallel()
	for _, ref := range []string{"https://example.com/schema.json", "file:///etc/passwd", "other.json", "/etc/passwd"} {
		_, err := signature.Compile(abi.Method{Name: "m", Params: []abi.Param{
			{Name: "p", Schema: json.RawMessage(`{"$ref": "` + ref + `"}`)},
		}})
		if err == nil || !strings.Contains(err.Error(), "remote references are not allowed") {
			t.Errorf("$ref %s: got %v, want a refusal", ref, err)
		}
	}
}

func TestCompileAcceptsMetaschemaRef(t *testing.T) {
	t.Parallel()
	// The draft metaschemas are built into the validator: no loading involved.
	compile(t, abi.Method{Name: "m", Params: []abi.Param{
		{Name: "schema", Schema: json.RawMessage(`{"$ref": "https://json-schema.org/draft/2020-12/schema"}`)},
	}})
}
