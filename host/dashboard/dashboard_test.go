package dashboard_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/dashboard"
)

var inlineHandler = regexp.MustCompile(`\son[a-z]+=`)

// The page and its files come with the security headers, compressed for clients that
// accept gzip, revalidated by ETag; other paths are 404 with the same headers.
func TestHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(dashboard.Handler())
	t.Cleanup(srv.Close)
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "identity")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	for _, c := range []struct{ path, contentType, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"/ui/index.html", "text/html; charset=utf-8", "<title>futurecalls</title>"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/app.css", "text/css; charset=utf-8", ":root"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(c.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.contentType || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %q, body without %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contains)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != dashboard.ContentSecurityPolicy ||
			!strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", c.path, resp.Header)
		}

		zipped, zbody := get(c.path, "Accept-Encoding", "gzip")
		if zipped.Header.Get("Content-Encoding") != "gzip" || zbody != body || zipped.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s with gzip: encoding %q, same body %t", c.path, zipped.Header.Get("Content-Encoding"), zbody == body)
		}
		if refused, _ := get(c.path, "Accept-Encoding", "gzip;q=0"); refused.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip sent to a client that refuses it", c.path)
		}
		again, _ := get(c.path, "If-None-Match", resp.Header.Get("ETag"))
		if resp.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", c.path, again.StatusCode)
		}
	}

	// Nothing inline: every script and style sheet is a file of its own.
	_, page := get("/")
	if strings.Contains(page, "<script>") || strings.Contains(page, "<style") || strings.Contains(page, "style=") || inlineHandler.MatchString(page) {
		t.Error("the page has inline script, style or event handlers, which its policy forbids")
	}
	resp, _ := get("/ui/nope.js")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /ui/nope.js: %d, want 404 with the policy", resp.StatusCode)
	}
}
