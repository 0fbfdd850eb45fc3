package plugin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/egress"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// received is what a test server got.
type received struct {
	method, path, body string
	header             http.Header
}

// server is a loopback HTTP server that records its requests.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	port string
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, received{method: r.Method, path: r.URL.Path, body: string(body), header: r.Header.Clone()})
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	}))
	t.Cleanup(s.Close)
	s.port = s.URL[strings.LastIndexByte(s.URL, ':')+1:]
	return s
}

func (s *server) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// observer is a HostCalls that counts fc.http requests by class.
type observer struct {
	recorder
	classes []string
}

func (o *observer) ObserveHTTP(class string) { o.classes = append(o.classes, class) }

// grant allows the entries (none: no HTTP) and sets config values.
func grant(t *testing.T, config map[string]string, entries ...string) plugin.Grant {
	t.Helper()
	g := plugin.Grant{Config: config}
	if len(entries) > 0 {
		allow, err := egress.ParseAllow(entries)
		if err != nil {
			t.Fatal(err)
		}
		g.HTTP = egress.New(allow)
		t.Cleanup(g.HTTP.CloseIdle)
	}
	return g
}

// loadFetch loads the fetch test plugin with limits and a grant.
func loadFetch(t *testing.T, limits plugin.Limits, g plugin.Grant) *plugin.Plugin {
	t.Helper()
	reg := load(t, plugin.Config{Dir: testplugins.DirWith(t, testplugins.Path(t, "fetch")), Defaults: limits,
		Grants: map[string]plugin.Grant{"fetch": g}}, nil)
	return mustPlugin(t, reg, "fetch")
}

// request is the args of fetch, retry and loop.
func request(t *testing.T, r abi.HTTPRequest) string {
	t.Helper()
	b, err := json.Marshal(map[string]abi.HTTPRequest{"request": r})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGoClient runs net/http's client inside a Go plugin, on the SDK's fchttp.Transport:
// the response reaches the plugin as net/http's, the host's Idempotency-Key goes out,
// and a URL outside the grant comes back to the plugin as an error that says so.
func TestGoClient(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	reg := load(t, plugin.Config{Dir: testplugins.DirWith(t, testplugins.Path(t, "gofetch")),
		Grants: map[string]plugin.Grant{"gofetch": grant(t, nil, s.URL)}}, nil)
	p := mustPlugin(t, reg, "gofetch")
	logs, log := newCapture()
	if err := p.Invoke(context.Background(), envelope("gofetch", "get", `{"url": "`+s.URL+`/go"}`), &observer{}, log); err != nil {
		t.Fatal(err)
	}
	logs.want(t, "200 OK | text/plain | hello /go")
	if got := s.requests(); len(got) != 1 || got[0].method != "GET" || got[0].header.Get("Idempotency-Key") != "fc-4711-1" {
		t.Errorf("the server got %+v", got)
	}
	err := p.Invoke(context.Background(), envelope("gofetch", "get", `{"url": "http://127.0.0.2:1/elsewhere"}`), &observer{}, log)
	wantKind(t, err, plugin.KindFailed, "fc.http: denied: GET http://127.0.0.2:1/elsewhere: not allowed by the plugin's http.allow")
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	other := newServer(t, nil)
	redirector := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	})
	hang := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	big := newServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 4096)) })

	run := func(t *testing.T, p *plugin.Plugin, method string, r abi.HTTPRequest) (*observer, *capture, error) {
		t.Helper()
		logs, log := newCapture()
		host := &observer{}
		err := p.Invoke(context.Background(), envelope("fetch", method, request(t, r)), host, log)
		return host, logs, err
	}

	t.Run("DeniedByDefault", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{}, grant(t, nil))
		host, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: s.URL + "/nothing?token=secret"})
		ce := wantKind(t, err, plugin.KindFailed, "fc.http -5: GET "+s.URL+"/nothing: plugin fetch may reach no URL")
		if strings.Contains(ce.Message, "secret") {
			t.Errorf("the refusal shows the URL's query: %s", ce.Message)
		}
		if len(host.classes) != 1 || host.classes[0] != "denied" {
			t.Errorf("observed %v, want one denied request", host.classes)
		}
	})

	t.Run("AllowedByIP", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{}, grant(t, nil, "http://127.0.0.1:"+s.port))
		host, logs, err := run(t, p, "fetch", abi.HTTPRequest{Method: "POST", URL: s.URL + "/send?token=secret",
			Headers: map[string]string{"Content-Type": "application/json", "X-Mail": "yes"}, Body: `{"to": "ada"}`})
		if err != nil {
			t.Fatal(err)
		}
		var resp abi.HTTPResponse
		if err := json.Unmarshal([]byte(logs.want(t, `"status":200`).msg), &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Body != "hello /send" || resp.Headers["Content-Type"] != "text/plain" {
			t.Errorf("the guest got %+v", resp)
		}
		got := s.requests()
		last := got[len(got)-1]
		if last.method != "POST" || last.path != "/send" || last.body != `{"to": "ada"}` || last.header.Get("X-Mail") != "yes" ||
			last.header.Get("Idempotency-Key") != "fc-4711-1" {
			t.Errorf("the server got %+v", last)
		}
		if len(host.classes) != 1 || host.classes[0] != "2xx" {
			t.Errorf("observed %v, want one 2xx", host.classes)
		}
		line := logs.want(t, "http request")
		if g := line.attrs["http"]; !strings.Contains(g, "method=POST") || !strings.Contains(g, "host=127.0.0.1:"+s.port) ||
			!strings.Contains(g, "status=200") || !strings.Contains(g, "duration=") || strings.Contains(g, "secret") ||
			line.attrs["call"] != "4711" || line.attrs["plugin"] != "fetch" {
			t.Errorf("request log line %q %v: want method, host, status and duration, call and plugin, no query", line.msg, line.attrs)
		}
	})

	t.Run("NameResolvingToLoopback", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{}, grant(t, nil, "http://localhost:"+s.port))
		_, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: "http://localhost:" + s.port + "/dns"})
		wantKind(t, err, plugin.KindFailed, "fc.http -5: GET http://localhost:"+s.port+"/dns: the host resolves to")
		for _, r := range s.requests() {
			if r.path == "/dns" {
				t.Error("the request reached the server")
			}
		}
	})

	t.Run("RedirectNotAllowed", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{}, grant(t, nil, redirector.URL))
		_, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: redirector.URL + "/go"})
		wantKind(t, err, plugin.KindFailed, "fc.http -5: GET "+other.URL+"/elsewhere: redirected to a URL")
		if n := len(other.requests()); n != 0 {
			t.Errorf("the redirect's target got %d requests", n)
		}
	})

	t.Run("ResponseOverTheCap", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{HTTPResponseLimit: 1024}, grant(t, nil, big.URL))
		host, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: big.URL})
		wantKind(t, err, plugin.KindFailed, "fc.http -2: GET "+big.URL+": response too large: the body is more than the limit of 1024 bytes")
		if host.classes[0] != "limit" {
			t.Errorf("observed %v", host.classes)
		}
	})

	t.Run("RequestBodyOverTheCap", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{HTTPRequestLimit: 1024}, grant(t, nil, s.URL))
		_, _, err := run(t, p, "fetch", abi.HTTPRequest{Method: "PUT", URL: s.URL + "/put", Body: strings.Repeat("x", 1025)})
		wantKind(t, err, plugin.KindFailed, "fc.http -2: the request body is 1025 bytes: at most 1024 (sandbox.http.requestLimit)")
	})

	t.Run("RequestsPerCall", func(t *testing.T) {
		t.Parallel()
		counted := newServer(t, nil)
		p := loadFetch(t, plugin.Limits{HTTPMaxRequests: 3}, grant(t, nil, counted.URL))
		host, _, err := run(t, p, "loop", abi.HTTPRequest{URL: counted.URL + "/again"})
		wantKind(t, err, plugin.KindFailed, "fc.http -2: at most 3 HTTP requests per call (sandbox.http.maxRequests)")
		got := counted.requests()
		if len(got) != 3 || len(host.classes) != 3 {
			t.Fatalf("the server got %d requests and the host observed %v, want 3", len(got), host.classes)
		}
		for i, r := range got {
			if want := "fc-4711-" + strconv.Itoa(i+1); r.header.Get("Idempotency-Key") != want {
				t.Errorf("request %d: Idempotency-Key %q, want %q", i+1, r.header.Get("Idempotency-Key"), want)
			}
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{Timeout: 2 * time.Second}, grant(t, nil, hang.URL))
		started := time.Now()
		host, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: hang.URL + "/slow"})
		wantKind(t, err, plugin.KindFailed, "fc.http -3: GET "+hang.URL+"/slow: no response within the call's remaining time")
		if d := time.Since(started); d < time.Second || d > 2*time.Second {
			t.Errorf("the call took %s, want the request bounded by the 2 s time limit, less its margin", d)
		}
		if host.classes[0] != "error" {
			t.Errorf("observed %v", host.classes)
		}
	})

	t.Run("Headers", func(t *testing.T) {
		t.Parallel()
		p := loadFetch(t, plugin.Limits{}, grant(t, nil, s.URL))
		for _, name := range []string{"Host", "content-length", "Transfer-Encoding", "Connection", "Upgrade", "Bad Name"} {
			host, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{name: "x"}})
			wantKind(t, err, plugin.KindFailed, "fc.http -1: invalid HTTP request: header")
			if host.classes[0] != "invalid" {
				t.Errorf("observed %v", host.classes)
			}
		}
		for _, tc := range []struct{ set, want string }{{"mine-1", "mine-1"}, {"", ""}} {
			if _, _, err := run(t, p, "fetch", abi.HTTPRequest{URL: s.URL + "/key-" + tc.set,
				Headers: map[string]string{"idempotency-key": tc.set}}); err != nil {
				t.Fatal(err)
			}
			for _, r := range s.requests() {
				if r.path == "/key-"+tc.set {
					if got, ok := r.header["Idempotency-Key"]; tc.want == "" && ok || tc.want != "" && got[0] != tc.want {
						t.Errorf("Idempotency-Key set to %q: the server got %q", tc.set, got)
					}
				}
			}
		}
		for _, doc := range []abi.HTTPRequest{{URL: "ftp://127.0.0.1/"}, {URL: "/relative"}, {URL: "http://user:pw@127.0.0.1/"},
			{Method: "GET POST", URL: s.URL}, {URL: s.URL, Body: "a", BodyBase64: "YQ=="}, {URL: s.URL, BodyBase64: "!"}} {
			_, _, err := run(t, p, "fetch", doc)
			wantKind(t, err, plugin.KindFailed, "fc.http -1: invalid HTTP request")
		}
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	p := loadFetch(t, plugin.Limits{}, grant(t, map[string]string{"from": "noreply@example.com", "empty": ""}))
	logs, log := newCapture()
	invokeOK(t, p, "config", `{"key": "from"}`, &recorder{}, log)
	logs.want(t, "noreply@example.com")
	invokeOK(t, p, "config", `{"key": "empty"}`, &recorder{}, log)
	err := p.Invoke(context.Background(), envelope("fetch", "config", `{"key": "missing"}`), &recorder{}, log)
	wantKind(t, err, plugin.KindFailed, `fc.config -4: plugin fetch has no configuration value "missing" (sandbox.plugins.fetch.config)`)

	none := loadFetch(t, plugin.Limits{}, plugin.Grant{})
	err = none.Invoke(context.Background(), envelope("fetch", "config", `{"key": "from"}`), &recorder{}, log)
	wantKind(t, err, plugin.KindFailed, "fc.config -4")
}
