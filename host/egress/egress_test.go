package egress_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/egress"
)

func TestParseAllow(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"api.example", "ftp://x.example", "https://x.example/path", "https://x.example:0",
		"https://x.example:http", "https://user@x.example", "https://ex ample", "https://*", "https://a.*.example",
		"http://::1:80", "https://x.example?q=1"} {
		if _, err := egress.ParseAllow([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseAllow(%q) = %v, want an error naming it", bad, err)
		}
	}
	a, err := egress.ParseAllow([]string{"https://api.mail.example", "https://*.hooks.example:8443", "http://127.0.0.1:8025",
		"http://[::1]:*", "HTTP://Upper.Example:*"})
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"https://api.mail.example/v1/send?x=1": true,
		"https://API.MAIL.EXAMPLE:443/":        true,
		"https://api.mail.example.:443/":       true,
		"http://api.mail.example/":             false, // scheme
		"https://api.mail.example:8443/":       false, // port
		"https://mail.example/":                false,
		"https://a.hooks.example:8443/":        true,
		"https://a.b.hooks.example:8443/":      true,
		"https://hooks.example:8443/":          false, // a glob needs a label before it
		"https://xhooks.example:8443/":         false,
		"https://a.hooks.example/":             false, // port 443
		"http://127.0.0.1:8025/":               true,
		"http://127.0.0.1:8026/":               false,
		"http://127.0.0.2:8025/":               false,
		"http://[::ffff:127.0.0.1]:8025/":      true, // the same address
		"http://[::1]:9/":                      true,
		"http://localhost:8025/":               false, // a name is not its address
		"http://upper.example:1234/":           true,
	} {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Allows(parsed); got != want {
			t.Errorf("Allows(%s) = %v, want %v", u, got, want)
		}
	}
	if got := (egress.Allow{}).Allows(&url.URL{Scheme: "https", Host: "example.com"}); got {
		t.Error("the zero Allow allows a URL")
	}
}

// serve starts a loopback server; its URL is http://127.0.0.1:<port>.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T, entries ...string) *egress.Client {
	t.Helper()
	a, err := egress.ParseAllow(entries)
	if err != nil {
		t.Fatal(err)
	}
	c := egress.New(a)
	t.Cleanup(c.CloseIdle)
	return c
}

func get(t *testing.T, c *egress.Client, u string, limit int64) (*egress.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req, limit)
}

func TestClient(t *testing.T) {
	t.Parallel()
	hits := make(chan string, 100)
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		_, _ = w.Write([]byte("hello " + r.URL.Path))
	})
	port := s.URL[strings.LastIndexByte(s.URL, ':')+1:]

	t.Run("DeniedByDefault", func(t *testing.T) {
		_, err := get(t, client(t), s.URL+"/a?token=secret", 1<<20)
		var denied *egress.DeniedError
		if !errors.As(err, &denied) || !errors.Is(err, egress.ErrDenied) || strings.Contains(err.Error(), "secret") ||
			!strings.Contains(err.Error(), s.URL+"/a") {
			t.Fatalf("got %v, want a denial naming %s/a without the query", err, s.URL)
		}
	})
	t.Run("AllowedByIP", func(t *testing.T) {
		resp, err := get(t, client(t, s.URL), s.URL+"/b", 1<<20)
		if err != nil || resp.Status != 200 || string(resp.Body) != "hello /b" {
			t.Fatalf("got %+v, %v", resp, err)
		}
	})
	t.Run("NameResolvingToLoopback", func(t *testing.T) {
		_, err := get(t, client(t, "http://localhost:"+port), "http://localhost:"+port+"/c", 1<<20)
		if !errors.Is(err, egress.ErrDenied) || !strings.Contains(err.Error(), "resolves to 127.0.0.1:"+port+", an internal address") &&
			!strings.Contains(err.Error(), "resolves to [::1]:"+port+", an internal address") {
			t.Fatalf("got %v, want a denial after DNS", err)
		}
	})
	t.Run("AnyPortGlobDoesNotOpenLoopback", func(t *testing.T) {
		_, err := get(t, client(t, "http://localhost:*", "http://127.0.0.1:1"), "http://localhost:"+port+"/d", 1<<20)
		if !errors.Is(err, egress.ErrDenied) {
			t.Fatalf("got %v, want a denial: the IP entry names another port", err)
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		_, err := get(t, client(t, s.URL), s.URL+"/0123456789", 10)
		if !errors.Is(err, egress.ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
	})
	select {
	case p := <-hits:
		if p != "/b" && p != "/0123456789" {
			t.Errorf("the server got a request for %s, which should have been refused", p)
		}
	default:
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	target := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("target")) })
	var self *httptest.Server
	self = serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, target.URL+"/x", http.StatusFound)
		case "/home":
			http.Redirect(w, r, self.URL+"/done", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, self.URL+"/loop", http.StatusFound)
		default:
			_, _ = w.Write([]byte("done"))
		}
	})
	c := client(t, self.URL)
	if _, err := get(t, c, self.URL+"/away", 1<<20); !errors.Is(err, egress.ErrDenied) || !strings.Contains(err.Error(), target.URL+"/x") {
		t.Errorf("redirect to a server not allowed: got %v, want a denial naming %s/x", err, target.URL)
	}
	if resp, err := get(t, c, self.URL+"/home", 1<<20); err != nil || string(resp.Body) != "done" {
		t.Errorf("redirect to an allowed URL: got %v, %v", resp, err)
	}
	if _, err := get(t, c, self.URL+"/loop", 1<<20); err == nil || !strings.Contains(err.Error(), "redirects") || errors.Is(err, egress.ErrDenied) {
		t.Errorf("endless redirects: got %v", err)
	}
}
