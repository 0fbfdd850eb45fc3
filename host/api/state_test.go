package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// putState writes plugin's state directly, as committed calls would have.
func putState(t *testing.T, e *env, plugin string, values map[string][]byte) {
	t.Helper()
	for k, v := range values {
		if _, err := e.store.Pool().Exec(ctx, `INSERT INTO plugin_state (plugin, key, value, version, updated_at)
			VALUES ($1, $2, $3, nextval('plugin_state_version'), now())`, plugin, k, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateThroughTheAPI: a plugin's state pages by key, JSON values show as JSON and
// other bytes in base64, keys with a slash or a space are read one by one, and a
// missing key or plugin is a 404 naming it.
func TestStateThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	putState(t, e, "drip", map[string][]byte{
		"mailed/user 42": []byte(`{"at": "2026-01-01T00:00:00Z"}`),
		"count":          []byte("7"),
		"raw":            {0xff, 0x00, 0x01},
		"empty":          {},
	})
	putState(t, e, "example", map[string][]byte{"count": []byte("1000")})

	var keys []string
	var entries []client.StateEntry
	for entry, err := range e.client.StateAll(ctx, "drip", client.StateOptions{Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		keys, entries = append(keys, entry.Key), append(entries, entry)
	}
	if got := strings.Join(keys, ","); got != "count,empty,mailed/user 42,raw" {
		t.Fatalf("keys = %s, want drip's four by key", got)
	}
	want := []struct{ value, base64 string }{{"7", ""}, {"", ""}, {`{"at":"2026-01-01T00:00:00Z"}`, ""}, {"", "/wAB"}}
	for i, w := range want {
		if string(entries[i].Value) != w.value || entries[i].ValueBase64 != w.base64 || entries[i].Version == 0 || entries[i].UpdatedAt.IsZero() {
			t.Errorf("%s = %+v, want value %s, base64 %q", keys[i], entries[i], w.value, w.base64)
		}
	}
	if b, err := entries[3].Bytes(); err != nil || string(b) != "\xff\x00\x01" {
		t.Errorf("raw's bytes = %q, %v", b, err)
	}

	one, err := e.client.StateValue(ctx, "drip", "mailed/user 42")
	if err != nil || string(one.Value) != `{"at":"2026-01-01T00:00:00Z"}` {
		t.Errorf("StateValue(mailed/user 42) = %+v, %v", one, err)
	}
	var apiErr *client.Error
	if _, err := e.client.StateValue(ctx, "drip", "nobody"); !errors.As(err, &apiErr) || apiErr.Code != client.CodeStateNotFound ||
		!strings.Contains(apiErr.Message, `"nobody"`) {
		t.Errorf("a missing key: %v, want state_not_found naming it", err)
	}
	if _, err := e.client.State(ctx, "nope", client.StateOptions{}); !errors.As(err, &apiErr) || apiErr.Code != client.CodeUnknownPlugin {
		t.Errorf("an unknown plugin: %v, want unknown_plugin", err)
	}
	resp, body := e.do(t, http.MethodGet, "/v1/plugins/drip/state?prefix=x", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "prefix") {
		t.Errorf("an unknown parameter: %d %s, want 400 naming it", resp.StatusCode, body)
	}
	resp, body = e.do(t, http.MethodGet, "/v1/plugins/drip/state/%FF", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "state key") {
		t.Errorf("a key that is not UTF-8: %d %s, want 400", resp.StatusCode, body)
	}
}
