package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// readBody reads a JSON request body of at most the body limit, whose strings
// PostgreSQL can store as given (checkText). Only
// application/json in UTF-8 is taken: other media types (browsers send them
// cross-origin without asking first, CORS "simple requests"), other JSON dialects such
// as application/json-patch+json, other charsets, and encoded bodies
// (Content-Encoding) are refused with 415 rather than misread.
func (a *API) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	mediaType, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	charset, hasCharset := params["charset"]
	if err != nil || mediaType != "application/json" || (hasCharset && !strings.EqualFold(charset, "utf-8")) {
		return nil, fail(http.StatusUnsupportedMediaType, client.CodeUnsupportedMediaType,
			"send the body as JSON in UTF-8 with Content-Type: application/json (got %q)", r.Header.Get(echo.HeaderContentType))
	}
	if enc := r.Header.Values("Content-Encoding"); len(enc) > 0 && !(len(enc) == 1 && strings.EqualFold(enc[0], "identity")) {
		return nil, fail(http.StatusUnsupportedMediaType, client.CodeUnsupportedMediaType,
			"the body is encoded (Content-Encoding: %s): send it unencoded", strings.Join(enc, ", "))
	}
	tooLarge := fail(http.StatusRequestEntityTooLarge, client.CodeBodyTooLarge, "the body is larger than the limit of %d bytes", a.bodyLimit)
	if r.ContentLength > a.bodyLimit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, a.bodyLimit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, tooLarge
	case err != nil:
		return nil, fail(http.StatusBadRequest, client.CodeMalformedJSON, "reading the body: %v", err)
	case len(bytes.TrimSpace(body)) == 0:
		return nil, fail(http.StatusBadRequest, client.CodeMalformedJSON, "the body is empty: send a JSON object")
	case !utf8.Valid(body):
		return nil, fail(http.StatusBadRequest, client.CodeMalformedJSON, "the body is not valid UTF-8")
	}
	if terr := checkText(body); terr != nil {
		return nil, terr
	}
	return body, nil
}

// decodeStrictly decodes one JSON value into v, refusing fields v does not have (in
// any spelling but the exact one), empty strings for fields left out when empty, and
// anything after the value.
func decodeStrictly(data []byte, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, "malformed JSON: data after the value at offset %d", dec.InputOffset())
	}
	return checkFields(data, reflect.TypeOf(v))
}

// decodeError says what is wrong with a body encoding/json refused.
func decodeError(err error) *apiError {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var timeErr *time.ParseError
	msg := err.Error()
	switch {
	case errors.As(err, &syntaxErr):
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, "malformed JSON at offset %d: %s", syntaxErr.Offset, strings.TrimPrefix(msg, "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, "malformed JSON: unexpected end of the body")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, "field %q must be %s, not %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &typeErr):
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, "the body must be a JSON object, not %s", typeErr.Value)
	case errors.As(err, &timeErr):
		return fail(http.StatusBadRequest, client.CodeMalformedJSON, `times must be RFC 3339, such as "2026-01-01T00:00:00Z": %v`, timeErr)
	case strings.HasPrefix(msg, "json: unknown field "):
		return fail(http.StatusBadRequest, client.CodeUnknownField, "unknown field %s", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return fail(http.StatusBadRequest, client.CodeMalformedJSON, "malformed JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "an array"
	case kind == "struct", kind == "map", kind == "ptr":
		return "an object"
	}
	return kind
}

// query reads a request's query parameters, refusing unknown and repeated ones, so a
// misspelt filter fails instead of silently matching everything.
type query struct {
	values url.Values
	err    *apiError
}

func newQuery(c echo.Context, known ...string) *query {
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	q := &query{values: values}
	if err != nil {
		q.fail(fail(http.StatusBadRequest, client.CodeInvalidParameter, "malformed query string: %v", err))
	}
	names := make([]string, 0, len(q.values))
	for name := range q.values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case !slices.Contains(known, name):
			q.fail(badParam(name, "unknown query parameter (known: %s)", strings.Join(known, ", ")))
		case len(q.values[name]) > 1:
			q.fail(badParam(name, "given %d times", len(q.values[name])))
		case !utf8.ValidString(q.values[name][0]) || strings.ContainsRune(q.values[name][0], 0):
			// PostgreSQL's text would refuse it, with an error the client should not see.
			q.fail(badParam(name, "must be valid UTF-8 without NUL characters"))
		}
	}
	return q
}

func (q *query) fail(err *apiError) {
	if q.err == nil {
		q.err = err
	}
}

func (q *query) str(name string) string { return q.values.Get(name) }

// time parses an RFC 3339 time; nil when absent.
func (q *query) time(name string) *time.Time {
	s := q.values.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(badParam(name, "%q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", s))
		return nil
	}
	return &t
}

// int parses an integer between lo and hi; 0 when absent.
func (q *query) int(name string, lo, hi int64) int64 {
	s := q.values.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		q.fail(badParam(name, "%q is not an integer from %d to %d", s, lo, hi))
		return 0
	}
	return n
}

// pathID parses the id of a call in the path.
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badParam("id", "%q is not a call id (a positive integer)", c.Param("id"))
	}
	return id, nil
}

// errOrNil returns the query's first error as an error, nil when there is none (a nil
// *apiError must not become a non-nil error).
func (q *query) errOrNil() error {
	if q.err == nil {
		return nil
	}
	return q.err
}
