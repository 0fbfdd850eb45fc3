package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// requestIDHeader carries the request id, taken from the client when it sends a sane
// one.
const requestIDHeader = "X-Request-Id"

const requestIDKey = "futurecalls.requestID"

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// logRequests gives each request an id, answers the errors of the chain inside it, and
// logs one line per request once its status is known. Probes and scrapes are logged
// at debug level.
func (a *API) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		r := c.Request()
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID.MatchString(id) {
			id = rand.Text()
		}
		c.Set(requestIDKey, id)
		c.Response().Header().Set(requestIDHeader, id)
		if err := next(c); err != nil {
			a.writeError(c, err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics":
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", id))
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 answer and a logged stack.
func (a *API) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // a recovered value, not a returned error: net/http panics with the sentinel itself
				panic(p)
			}
			a.log.Error("panic in handler", slog.String("request_id", requestID(c)),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fail(http.StatusInternalServerError, client.CodeInternal, "internal error; the host's log has it under the request id")
		}()
		return next(c)
	}
}

// guarded reports whether path needs a token when tokens are configured.
func guarded(path string) bool {
	return path == "/v1" || strings.HasPrefix(path, "/v1/") || path == "/openapi.json" || path == "/metrics"
}

// checkHost, when no tokens are configured, serves only requests addressed to a
// loopback host name. A web page could otherwise make a browser resolve its own
// domain to 127.0.0.1 (DNS rebinding) and use the unauthenticated API.
func (a *API) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(a.tokens) > 0 || !guarded(c.Request().URL.Path) {
			return next(c)
		}
		host := c.Request().Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if !config.IsLoopback(host) {
			return fail(http.StatusForbidden, client.CodeForbiddenHost,
				"host %q: without api.tokens, the API answers only requests to localhost or a loopback address", c.Request().Host)
		}
		return next(c)
	}
}

// authenticate asks guarded routes for one of the configured bearer tokens. Tokens
// are compared by their SHA-256 digests, in constant time, against every configured
// token without stopping at a match, so that timing tells neither a token nor its
// length.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(a.tokens) == 0 || !guarded(c.Request().URL.Path) {
			return next(c)
		}
		scheme, token, ok := strings.Cut(c.Request().Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return fail(http.StatusUnauthorized, client.CodeUnauthorized, "missing bearer token: send the header \"Authorization: Bearer\" with one of the host's api.tokens")
		}
		digest := sha256.Sum256([]byte(strings.TrimSpace(token)))
		match := 0
		for i := range a.tokens {
			match |= subtle.ConstantTimeCompare(digest[:], a.tokens[i][:])
		}
		if match != 1 {
			return fail(http.StatusUnauthorized, client.CodeUnauthorized, "invalid bearer token")
		}
		return next(c)
	}
}

// Errors of the request's own shape, shared by handlers.
func badParam(name, format string, args ...any) *apiError {
	return fail(http.StatusBadRequest, client.CodeInvalidParameter, "%s: %s", name, fmt.Sprintf(format, args...))
}
