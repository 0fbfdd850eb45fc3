package fc

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// TestDecodeEnvelope checks that the hand-written reader reads every envelope as
// encoding/json does: the ones the host writes, and the odd ones it hands over.
func TestDecodeEnvelope(t *testing.T) {
	t.Parallel()
	host, err := json.Marshal(abi.Envelope{Method: "send", Args: json.RawMessage(`{"to": "a@b.c", "n": [1, {"x": "}\""}], "opt": null}`),
		Call: abi.CallInfo{ID: -42, Plugin: "drip", ScheduledAt: time.Date(2026, 1, 2, 3, 4, 5, 678, time.UTC), Identifier: "user-1", Attempt: 2, MaxAttempts: 5}})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{string(host), `{"method":"noop","args":{},"call":{"id":1}}`} {
		var env envelope
		if d := (envelopeDecoder{data: []byte(doc)}); !d.envelope(&env) {
			t.Errorf("%s: left to encoding/json, want read by hand", doc)
		}
	}
	for _, doc := range []string{
		string(host),
		`{"method":"noop","args":{},"call":{"id":1,"plugin":"p","scheduledAt":"0001-01-01T00:00:00Z","attempt":1,"maxAttempts":1}}`,
		` { "call" : { "id" : 7 , "extra": {"a": [1]} } , "method" : "x" , "args" : { "a" : 1 , "b" : "2" } , "future": true } `,
		`{"Method": "x", "args": {}}`,                  // another case: encoding/json's rules
		`{"method": "a\u0062", "args": {"\u0061": 1}}`, // escapes
		`{"method": "x", "args": null}`,
		`{"method": "x", "call": {"id": 1.5}}`,
		`{"method": "x", "args": {"a": 1}`, // malformed
		`{"method": "x"} trailing`,
	} {
		var want, got envelope
		wantErr := json.Unmarshal([]byte(doc), &want)
		gotErr := decodeEnvelope([]byte(doc), &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%s: error %v, encoding/json's %v", doc, gotErr, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(compact(t, got), compact(t, want)) {
			t.Errorf("%s:\n got %+v\nwant %+v", doc, got, want)
		}
	}
}

// compact makes the arguments' raw values comparable: encoding/json keeps their bytes
// as they are, surrounding spaces excluded.
func compact(t *testing.T, env envelope) envelope {
	t.Helper()
	args := map[string]json.RawMessage{}
	for k, v := range env.Args {
		var b []byte
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("argument %s: %v", k, err)
		}
		args[k] = b
	}
	if env.Args == nil {
		args = nil
	}
	env.Args = args
	return env
}
