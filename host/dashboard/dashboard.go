// Package dashboard is the host's web dashboard: pages that show the schedule (calls due
// soon and running, outcomes per minute, lateness, failing methods), the waiting calls,
// the history, the recurring series and the loaded plugins, and a form, generated from a
// method's JSON Schema, that schedules a call.
//
// The pages are static files embedded in the binary (static/): plain JavaScript modules
// with no build step and no third-party code, so that `go build` alone builds them and
// they work with no network. Every piece of data comes from the REST API (host/api),
// fetched by the page with the user's bearer token, so the dashboard can show nothing
// the API would not; this package serves only the files, which hold no data.
//
// Values that came from plugins or callers are put into the page with DOM APIs
// (textContent, setAttribute), never as HTML, and the pages are served under a strict
// Content-Security-Policy: scripts and styles only from the host's own files, no inline
// script or style, no frames, fetches only to the host itself.
//
// The views refresh by short polling (every few seconds, while the page is visible), not
// Server-Sent Events: EventSource cannot send an Authorization header, so a stream would
// need the token in its URL or in a cookie, and the API is request and answer throughout.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is the policy of every answer of the dashboard: its own scripts,
// styles and images only, fetches to the host only, nothing inline, never in a frame.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is an embedded file, ready to serve: its bytes, gzipped when that makes them
// smaller, and an ETag.
type file struct {
	name        string
	contentType string
	plain, gz   []byte
	etag        string
}

// Handler serves the dashboard: its page at / and its files under /ui/. It answers
// GET and HEAD; the files are compressed with gzip for clients that accept it, and
// revalidated by ETag.
func Handler() http.Handler {
	files := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		f := &file{name: path.Base(p), contentType: mime.TypeByExtension(path.Ext(p)), plain: b}
		if f.contentType == "" {
			f.contentType = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		f.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write(b)
		_ = w.Close()
		if gz.Len() < len(b) {
			f.gz = gz.Bytes()
		}
		files["/ui/"+strings.TrimPrefix(p, "static/")] = f
		return nil
	})
	if err != nil {
		panic("dashboard: embedded files: " + err.Error()) // the files are part of the binary
	}
	files["/"] = files["/ui/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		f := files[r.URL.Path]
		if f == nil {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("not found\n"))
			return
		}
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache") // revalidate: the files change with the binary
		h.Set("ETag", f.etag)
		h.Add("Vary", "Accept-Encoding")
		body := f.plain
		if f.gz != nil && acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = f.gz
		}
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
	})
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip (without q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
