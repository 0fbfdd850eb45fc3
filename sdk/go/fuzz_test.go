package fc

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

// kinds is a record with a field of every kind the schema derivation handles.
type kinds struct {
	Small  int8              `json:"small"`
	Count  uint16            `json:"count"`
	Big    int64             `json:"big"`
	Ratio  float64           `json:"ratio"`
	Flag   bool              `json:"flag"`
	At     time.Time         `json:"at"`
	Blob   []byte            `json:"blob"`
	Pair   [2]int            `json:"pair"`
	Tags   []string          `json:"tags"`
	Limits map[string]uint32 `json:"limits"`
	Note   *string           `json:"note"`
	Extra  string            `json:"extra,omitempty"`
	Nested *kinds            `json:"nested,omitempty"`
}

// sixtyFourBit are the kinds whose schema leaves out their range (schema.go).
var sixtyFourBit = map[reflect.Kind]bool{reflect.Int: true, reflect.Int64: true, reflect.Uint: true,
	reflect.Uint64: true, reflect.Uintptr: true, reflect.Float32: true, reflect.Float64: true}

// hugeExponent finds a number with an exponent of five digits or more.
var hugeExponent = regexp.MustCompile(`[0-9][eE][+-]?0*[0-9]{5,}`)

// FuzzArgs is the SDK's side of the promise in abi/README.md that a guest can trust its
// arguments: whatever arguments the host accepts against the signature the SDK derived
// (checked here with the host's own validator, abi/signature), the SDK decodes them and
// runs the call; and no envelope, accepted or not, crashes the dispatcher. The seed
// corpus is in testdata/fuzz/FuzzArgs; `go test` runs it, `go test -fuzz FuzzArgs
// ./sdk/go` explores from it.
func FuzzArgs(f *testing.F) {
	withHost(f)
	var ran bool
	m, err := newMethod("all", func(c Call, n int, u uint, f float64, s string, k kinds, list []kinds, opt *int32) error {
		ran = true
		return nil
	}, []string{"n", "u", "f", "s", "k", "list", "opt"})
	if err != nil {
		f.Fatal(err)
	}
	registry.methods["all"] = m
	sig, err := signature.Compile(m.def)
	if err != nil {
		f.Fatalf("the host refuses the SDK's signature: %v", err)
	}
	f.Add([]byte(`{"n": 1, "u": 2, "f": 1.5, "s": "x", "k": {"small": 1, "count": 2, "big": 3, "ratio": 0.5, "flag": true,
		"at": "2026-01-01T00:00:00Z", "blob": "AAE=", "pair": [1, 2], "tags": ["a"], "limits": {"a": 1}, "note": null}, "list": []}`))
	f.Fuzz(func(t *testing.T, args []byte) {
		call, _ := json.Marshal(abi.CallInfo{ID: 1, Plugin: "fuzz", Attempt: 1, MaxAttempts: 1})
		envelope := `{"method": "all", "args": ` + string(args) + `, "call": ` + string(call) + `}`
		ran = false
		err := invoke([]byte(envelope)) // must not panic, whatever the bytes
		// The host refuses exponents beyond ±1000 before it validates (big-number
		// arithmetic on them costs memory in proportion): so does this target.
		if hugeExponent.Match(args) || !json.Valid([]byte(envelope)) || sig.Validate(args) != nil {
			return
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Value, "number") && sixtyFourBit[typeErr.Type.Kind()] {
			return // beyond a 64-bit type's range: the gap README.md owns up to
		}
		if err != nil || !ran {
			t.Fatalf("the host accepts the arguments %s, but the SDK does not run the call: %v", args, err)
		}
	})
}

func TestPlainIntegers(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`1`, `1`},
		{`1.0`, `1`},
		{`-1.50e1`, `-15`},
		{`1e2`, `100`},
		{`1E+2`, `100`},
		{`12.5e-1`, `12.5e-1`},
		{`-0`, `0`},
		{`-0.0e5`, `0`},
		{`0e-5`, `0`},
		{`1.5`, `1.5`},
		{`1e-1`, `1e-1`},
		{`1e21`, `1e21`}, // no Go integer holds it: left as it is
		{`1e99999999999999999999`, `1e99999999999999999999`},
		{`{"a": [1.0, "1.0", "x\"2.0", 2.0e0], "b.0": -0}`, `{"a": [1, "1.0", "x\"2.0", 2], "b.0": 0}`},
		{`"\\" 3.0`, `"\\" 3`},
	}
	for _, tt := range tests {
		out, changed := plainIntegers([]byte(tt.in))
		if !changed {
			out = []byte(tt.in)
		}
		if string(out) != tt.want || changed != (tt.in != tt.want) {
			t.Errorf("plainIntegers(%s) = %s, %t; want %s", tt.in, out, changed, tt.want)
		}
	}
}
