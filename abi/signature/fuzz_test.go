package signature_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi/signature"
)

// FuzzParseManifest checks that no manifest crashes the parser and that an accepted
// manifest survives a round trip through its Go type.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(readmeManifest))
	f.Add([]byte(`{"abi": 1, "name": "x", "calls": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := signature.ParseManifest(data)
		if err != nil {
			var merr *signature.ManifestError
			if !errors.As(err, &merr) || len(merr.Problems) == 0 {
				t.Fatalf("ParseManifest: %v is not a *ManifestError with problems", err)
			}
			return
		}
		again, err := json.Marshal(m.Manifest)
		if err != nil {
			t.Fatalf("marshal accepted manifest: %v", err)
		}
		if _, err := signature.ParseManifest(again); err != nil {
			t.Fatalf("accepted manifest refused after a round trip: %v\n%s", err, again)
		}
	})
}

// FuzzValidate checks that no argument document crashes validation, that every refusal
// is a *signature.Error with well-formed pointers, and that accepted arguments are an
// object.
func FuzzValidate(f *testing.F) {
	sig, err := signature.Compile(welcome)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"signup": {"userId": 42, "email": "a@example.com", "plan": "pro"}}`))
	f.Add([]byte(`{"signup": {"userId": "42"}, "extra": [1, {"a": null}]}`))
	f.Add([]byte(`{"signup": {"userId": 1e999999, "email": "a@example.com", "plan": "pro"}, "note": -12345678901234567890123456789012345678901234567890123456789012345}`))
	f.Add([]byte(`{"tree": {"name": "a", "children": [1.5e-1001, 18446744073709551616]}}`))
	f.Fuzz(func(t *testing.T, args []byte) {
		err := sig.Validate(args)
		if err == nil {
			var obj map[string]json.RawMessage
			if json.Unmarshal(args, &obj) != nil && strings.TrimSpace(string(args)) != "" {
				t.Fatalf("accepted arguments that are not an object: %q", args)
			}
			return
		}
		var verr *signature.Error
		if !errors.As(err, &verr) || len(verr.Violations) == 0 {
			t.Fatalf("Validate: %v is not a *signature.Error with violations", err)
		}
		for _, v := range verr.Violations {
			if v.Pointer != "" && !strings.HasPrefix(v.Pointer, "/") || v.Message == "" {
				t.Fatalf("malformed violation %+v", v)
			}
		}
	})
}
