package plugin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/net/http/httpguts"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/egress"
)

// HTTPObserver is implemented by a HostCalls that wants to know of its call's fc.http
// requests (the executor counts them in the history and in Prometheus). ObserveHTTP is
// called once for each request that counts against Limits.HTTPMaxRequests, on the
// call's goroutine, with its class: the status class of the response ("2xx" to "5xx",
// and so on), or "invalid", "denied", "limit" or "error" for a request
// refused with -1, -5, -2 or -3.
type HTTPObserver interface {
	ObserveHTTP(class string)
}

// forbiddenHeaders are set by the host (or are the connection's business): a guest's
// fc.http request may not carry them.
var forbiddenHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true, "Trailer": true,
	"Upgrade": true,
}

// idempotencyKey is the header the host adds to every request that does not set it.
const idempotencyKey = "Idempotency-Key"

// hostHTTP is fc.http: it makes the guest's request through the plugin's egress client
// and leaves the response document for fc.result.
func hostHTTP(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		stack[0] = api.EncodeI64(abi.ScheduleHostError)
		return
	}
	defer guard(c, abi.HostHTTP, stack, true)
	c.result = nil
	if c.grant == nil {
		stack[0] = c.refuse(abi.ScheduleHostError, "not available")
		return
	}
	if c.fetches >= c.limits.HTTPMaxRequests {
		stack[0] = c.refuse(abi.ScheduleLimit, "at most %d HTTP requests per call (sandbox.http.maxRequests), refused ones included",
			c.limits.HTTPMaxRequests)
		return
	}
	c.fetches++
	data, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	var f fetch
	if !ok {
		f.refuse(abi.ScheduleInvalid, "invalid", "the request is outside memory")
	} else {
		f = c.fetch(data)
	}
	if o, ok := c.host.(HTTPObserver); ok {
		o.ObserveHTTP(f.class)
	}
	if f.code < 0 {
		stack[0] = c.refuse(f.code, "%s", f.reason)
		return
	}
	stack[0] = c.produce(f.doc)
}

// fetch is the outcome of one fc.http request: a response document, or a code and
// the reason for fc.last_error.
type fetch struct {
	doc    []byte
	code   int64
	class  string
	reason string
}

func (f *fetch) refuse(code int64, class, format string, args ...any) {
	f.code, f.class, f.reason = code, class, fmt.Sprintf(format, args...)
}

// fetch makes one request from its JSON document and logs it.
func (c *call) fetch(data []byte) (f fetch) {
	// The document holds the body once (base64 or escaped, at most 6 bytes a byte) and
	// the headers: anything longer cannot fit the body limit.
	if most := 6*c.limits.HTTPRequestLimit + 64<<10; int64(len(data)) > most {
		f.refuse(abi.ScheduleLimit, "limit", "the request document is %d bytes: at most %d for a body of sandbox.http.requestLimit (%d bytes)",
			len(data), most, c.limits.HTTPRequestLimit)
		return f
	}
	req, err := c.newRequest(data)
	if err != nil {
		var tooLarge bodyTooLarge
		if errors.As(err, &tooLarge) {
			f.refuse(abi.ScheduleLimit, "limit", "%v", err)
		} else {
			f.refuse(abi.ScheduleInvalid, "invalid", "invalid HTTP request: %v", err)
		}
		return f
	}
	where := egress.Redact(req.URL)
	if c.grant.HTTP == nil {
		f.refuse(abi.Denied, "denied", "%s %s: plugin %s may reach no URL (the operator grants access in sandbox.plugins.%s.http.allow)",
			req.Method, where, c.name, c.name)
		c.logFetch(req, f.class, 0)
		return f
	}

	// The request ends before the call does, so that the guest can handle a timeout:
	// it keeps a tenth of the remaining time, at most a second.
	ctx := c.ctx
	if deadline, ok := ctx.Deadline(); ok {
		remaining := time.Until(deadline)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-min(remaining/10, time.Second)))
		defer cancel()
	}
	started := time.Now()
	resp, err := c.grant.HTTP.Do(req.WithContext(ctx), c.limits.HTTPResponseLimit)
	elapsed := time.Since(started)
	switch {
	case errors.Is(err, egress.ErrDenied):
		f.refuse(abi.Denied, "denied", "%s %v", req.Method, err)
	case errors.Is(err, egress.ErrTooLarge):
		f.refuse(abi.ScheduleLimit, "limit", "%s %s: %v (sandbox.http.responseLimit)", req.Method, where, err)
	case err != nil && ctx.Err() != nil:
		f.refuse(abi.ScheduleHostError, "error", "%s %s: no response within the call's remaining time (%s)", req.Method, where,
			elapsed.Round(time.Millisecond))
	case err != nil:
		f.refuse(abi.ScheduleHostError, "error", "%s %s: %v", req.Method, where, err)
	default:
		f.doc, err = responseDocument(resp)
		if err != nil {
			f.refuse(abi.ScheduleHostError, "error", "encode the response: %v", err)
			break
		}
		f.class = statusClass(resp.Status)
	}
	status := 0
	if resp != nil {
		status = resp.Status
	}
	c.logFetch(req, f.class, status, slog.Duration("duration", elapsed))
	return f
}

// logFetch writes the one line each request gets: never its query, headers or body.
func (c *call) logFetch(req *http.Request, class string, status int, attrs ...any) {
	attrs = append([]any{slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("result", class)}, attrs...)
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	c.log().LogAttrs(c.ctx, slog.LevelInfo, "http request", slog.Group("http", attrs...))
}

// bodyTooLarge is a request body beyond Limits.HTTPRequestLimit.
type bodyTooLarge struct{ size, limit int64 }

func (e bodyTooLarge) Error() string {
	return fmt.Sprintf("the request body is %d bytes: at most %d (sandbox.http.requestLimit)", e.size, e.limit)
}

// newRequest decodes and checks the guest's request document and adds the
// Idempotency-Key.
func (c *call) newRequest(data []byte) (*http.Request, error) {
	var r abi.HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: data after the object")
	}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if !httpguts.ValidHeaderFieldName(r.Method) { // a method is a token, as a header name is
		return nil, fmt.Errorf("method %q is not an HTTP token", r.Method)
	}
	u, err := url.Parse(r.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("url: %w", errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url %q: want an absolute http or https URL", egress.Redact(u))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("url %q has no host", egress.Redact(u))
	case u.User != nil:
		return nil, errors.New("url: user information is not allowed (send an Authorization header)")
	}
	body := []byte(r.Body)
	if r.BodyBase64 != "" {
		if r.Body != "" {
			return nil, errors.New("body and bodyBase64 are exclusive")
		}
		if body, err = base64.StdEncoding.DecodeString(r.BodyBase64); err != nil {
			return nil, fmt.Errorf("bodyBase64: %w", err)
		}
	}
	if int64(len(body)) > c.limits.HTTPRequestLimit {
		return nil, bodyTooLarge{int64(len(body)), c.limits.HTTPRequestLimit}
	}
	req, err := http.NewRequestWithContext(c.ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	key, keySet := "", false
	for name, value := range r.Headers {
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			return nil, fmt.Errorf("header name %q is not an HTTP token", name)
		case !httpguts.ValidHeaderFieldValue(value):
			return nil, fmt.Errorf("header %s: the value has a control character", canonical)
		case forbiddenHeaders[canonical]:
			return nil, fmt.Errorf("header %s is set by the host", canonical)
		case canonical == idempotencyKey:
			key, keySet = value, true
			continue
		}
		req.Header.Set(canonical, value)
	}
	if !keySet {
		key = "fc-" + strconv.FormatInt(c.id, 10) + "-" + strconv.Itoa(c.fetches)
	}
	if key != "" {
		req.Header.Set(idempotencyKey, key)
	}
	return req, nil
}

// responseDocument encodes a response as abi.HTTPResponse.
func responseDocument(resp *egress.Response) ([]byte, error) {
	doc := abi.HTTPResponse{Status: resp.Status, Headers: make(map[string]string, len(resp.Header))}
	for name, values := range resp.Header {
		doc.Headers[name] = strings.Join(values, ", ")
	}
	if utf8.Valid(resp.Body) {
		doc.Body = string(resp.Body)
	} else {
		doc.BodyBase64 = base64.StdEncoding.EncodeToString(resp.Body)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <, > and & as they are: an HTML body would grow 6 times
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// statusClass is the metric's label for a status: "2xx" and so on.
func statusClass(status int) string { return strconv.Itoa(status/100) + "xx" }
