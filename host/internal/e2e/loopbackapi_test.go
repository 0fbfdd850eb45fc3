package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// loopbackAPI is a server on 127.0.0.1 that the tests grant plugins: it records every
// request. With failFirst it answers the first request of each Idempotency-Key with
// 503, as an API that is briefly down does, and the later ones with 202; without, it
// answers every request with 200 and {"id": "m-1"}.
type loopbackAPI struct {
	*httptest.Server
	failFirst bool
	mu        sync.Mutex
	got       []apiRequest
}

// apiRequest is what arrived: the method, path, headers the tests look at, and body.
type apiRequest struct {
	Method, Path, Key, Authorization, ContentType, Extra, Body string
}

// json is the body decoded as a JSON object, nil when it is not one.
func (r apiRequest) json() map[string]any {
	var v map[string]any
	_ = json.Unmarshal([]byte(r.Body), &v)
	return v
}

func newLoopbackAPI(t *testing.T, failFirst bool) *loopbackAPI {
	a := &loopbackAPI{failFirst: failFirst}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := apiRequest{Method: r.Method, Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"),
			Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			Extra: r.Header.Get("X-Extra"), Body: string(body)}
		a.mu.Lock()
		defer a.mu.Unlock()
		first := true
		for _, g := range a.got {
			first = first && g.Key != req.Key
		}
		a.got = append(a.got, req)
		switch {
		case !a.failFirst:
			_, _ = io.WriteString(w, `{"id": "m-1"}`)
		case first:
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// requests returns what arrived at path, in order.
func (a *loopbackAPI) requests(path string) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiRequest
	for _, r := range a.got {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
