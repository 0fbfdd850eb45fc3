// Package client is a Go client for the futurecalls REST API: schedule future calls
// (Serverpod's callWithDelay and callAtTime), cancel them one by one or by identifier,
// list waiting calls and the history of finished ones, and read the loaded plugins'
// signatures.
//
// Errors the API answers are *Error values carrying the HTTP status, the error code,
// and, for arguments that do not fit a call's signature, every violation:
//
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Code == client.CodeInvalidArguments { … }
//
// A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// Client talks to one futurecalls host.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as the bearer token of every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests with hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a client of the host at baseURL ("http://127.0.0.1:8080").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("futurecalls client: base URL %q is not an http(s) URL", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c := &Client{base: u, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Schedule stores one call and returns it with its id and run time (UTC).
func (c *Client) Schedule(ctx context.Context, req abi.ScheduleRequest) (Call, error) {
	var call Call
	err := c.do(ctx, http.MethodPost, "/v1/calls", nil, req, &call)
	return call, err
}

// ScheduleBatch stores calls atomically: all of them or none. On refusal the *Error's
// Index says which request failed.
func (c *Client) ScheduleBatch(ctx context.Context, reqs []abi.ScheduleRequest) ([]Call, error) {
	var out Batch[Call]
	err := c.do(ctx, http.MethodPost, "/v1/calls/batch", nil, Batch[abi.ScheduleRequest]{Calls: reqs}, &out)
	return out.Calls, err
}

// Publish publishes a message to its topic's subscribers and returns it with its
// deliveries, the calls it created (none for a topic nobody subscribes to). A payload
// that a subscriber refuses stores nothing; the *Error names the subscriber.
func (c *Client) Publish(ctx context.Context, req abi.PublishRequest) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodPost, "/v1/messages", nil, req, &m)
	return m, err
}

// PublishBatch publishes messages atomically: all of them or none. On refusal the
// *Error's Index says which message failed.
func (c *Client) PublishBatch(ctx context.Context, reqs []abi.PublishRequest) ([]Message, error) {
	var out MessageBatch[Message]
	err := c.do(ctx, http.MethodPost, "/v1/messages/batch", nil, MessageBatch[abi.PublishRequest]{Messages: reqs}, &out)
	return out.Messages, err
}

// Message returns a published message with its deliveries and their outcomes.
func (c *Client) Message(ctx context.Context, id int64) (Message, error) {
	var m Message
	err := c.do(ctx, http.MethodGet, "/v1/messages/"+strconv.FormatInt(id, 10), nil, nil, &m)
	return m, err
}

// Get returns the waiting or running call with the given id. A finished call is in
// the History instead.
func (c *Client) Get(ctx context.Context, id int64) (Call, error) {
	var call Call
	err := c.do(ctx, http.MethodGet, "/v1/calls/"+strconv.FormatInt(id, 10), nil, nil, &call)
	return call, err
}

// ListOptions filter and page GET /v1/calls; zero fields are left out.
type ListOptions struct {
	Plugin     string
	Method     string
	Identifier string
	// DueBefore and DueAfter bound the run time: before is exclusive, after inclusive.
	DueBefore time.Time
	DueAfter  time.Time
	// Limit is the most calls in a page (the API's default is 100, its maximum 1000).
	// A page of large calls ends earlier, at the host's byte budget (api.pageBytes),
	// with a NextCursor: only an empty NextCursor means the last page.
	Limit  int
	Cursor string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	set(q, "plugin", o.Plugin)
	set(q, "method", o.Method)
	set(q, "identifier", o.Identifier)
	setTime(q, "dueBefore", o.DueBefore)
	setTime(q, "dueAfter", o.DueAfter)
	setInt(q, "limit", int64(o.Limit))
	set(q, "cursor", o.Cursor)
	return q
}

// List returns one page of waiting and running calls, by run time.
func (c *Client) List(ctx context.Context, opts ListOptions) (CallPage, error) {
	var page CallPage
	err := c.do(ctx, http.MethodGet, "/v1/calls", opts.query(), nil, &page)
	return page, err
}

// ListAll iterates over every call matching opts, page after page (following
// NextCursor, whatever each page holds), starting at opts.Cursor. It stops at the
// first error, which it yields.
func (c *Client) ListAll(ctx context.Context, opts ListOptions) iter.Seq2[Call, error] {
	return all(func(cursor string) ([]Call, string, error) {
		opts.Cursor = cursor
		page, err := c.List(ctx, opts)
		return page.Calls, page.NextCursor, err
	}, opts.Cursor)
}

// Cancel cancels the waiting call with the given id; for the next occurrence of a
// recurring call, that stops its series (SeriesStopped 1). A running call cannot be
// cancelled any more: the *Error then has CodeCallRunning.
func (c *Client) Cancel(ctx context.Context, id int64) (Cancelled, error) {
	var out Cancelled
	err := c.do(ctx, http.MethodDelete, "/v1/calls/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// CancelIdentifier cancels every waiting call carrying identifier and stops the
// recurring series carrying it (Serverpod's cancel(identifier)); the answer counts both.
func (c *Client) CancelIdentifier(ctx context.Context, identifier string) (Cancelled, error) {
	if identifier == "" {
		return Cancelled{}, errors.New("futurecalls client: CancelIdentifier needs an identifier")
	}
	var out Cancelled
	err := c.do(ctx, http.MethodDelete, "/v1/calls", url.Values{"identifier": {identifier}}, nil, &out)
	return out, err
}

// HistoryOptions filter and page GET /v1/history; zero fields are left out.
type HistoryOptions struct {
	CallID int64
	// SeriesID selects the occurrences of one recurring call.
	SeriesID   int64
	Plugin     string
	Method     string
	Identifier string
	Outcome    abi.Outcome
	// FinishedBefore and FinishedAfter bound the finish time: before is exclusive,
	// after inclusive.
	FinishedBefore time.Time
	FinishedAfter  time.Time
	// Limit is the most entries in a page, as in ListOptions: a page may end earlier,
	// at the host's byte budget, with a NextCursor.
	Limit  int
	Cursor string
}

func (o HistoryOptions) query() url.Values {
	q := url.Values{}
	setInt(q, "callId", o.CallID)
	setInt(q, "seriesId", o.SeriesID)
	set(q, "plugin", o.Plugin)
	set(q, "method", o.Method)
	set(q, "identifier", o.Identifier)
	set(q, "outcome", string(o.Outcome))
	setTime(q, "finishedBefore", o.FinishedBefore)
	setTime(q, "finishedAfter", o.FinishedAfter)
	setInt(q, "limit", int64(o.Limit))
	set(q, "cursor", o.Cursor)
	return q
}

// History returns one page of the history, newest first.
func (c *Client) History(ctx context.Context, opts HistoryOptions) (HistoryPage, error) {
	var page HistoryPage
	err := c.do(ctx, http.MethodGet, "/v1/history", opts.query(), nil, &page)
	return page, err
}

// HistoryAll iterates over every history entry matching opts, newest first, page after
// page (following NextCursor, whatever each page holds). It stops at the first error,
// which it yields.
func (c *Client) HistoryAll(ctx context.Context, opts HistoryOptions) iter.Seq2[HistoryEntry, error] {
	return all(func(cursor string) ([]HistoryEntry, string, error) {
		opts.Cursor = cursor
		page, err := c.History(ctx, opts)
		return page.Entries, page.NextCursor, err
	}, opts.Cursor)
}

// Plugins returns the loaded plugins, by name.
func (c *Client) Plugins(ctx context.Context) ([]Plugin, error) {
	var out PluginList
	err := c.do(ctx, http.MethodGet, "/v1/plugins", nil, nil, &out)
	return out.Plugins, err
}

// Plugin returns the loaded plugin of the given name.
func (c *Client) Plugin(ctx context.Context, name string) (Plugin, error) {
	var p Plugin
	err := c.do(ctx, http.MethodGet, "/v1/plugins/"+url.PathEscape(name), nil, nil, &p)
	return p, err
}

// ReloadPlugins asks the host to reload its plugins directory now
// (POST /v1/plugins/reload) and returns what changed: plugins added, swapped, removed,
// new versions refused because stored calls would break, files that failed to load.
func (c *Client) ReloadPlugins(ctx context.Context) (Reload, error) {
	var r Reload
	err := c.do(ctx, http.MethodPost, "/v1/plugins/reload", nil, nil, &r)
	return r, err
}

// StateOptions page GET /v1/plugins/{name}/state; zero fields are left out.
type StateOptions struct {
	// Limit is the most entries in a page, as in ListOptions: a page may end earlier,
	// at the host's byte budget, with a NextCursor.
	Limit  int
	Cursor string
}

// State returns one page of the named plugin's state, by key.
func (c *Client) State(ctx context.Context, plugin string, opts StateOptions) (StatePage, error) {
	q := url.Values{}
	setInt(q, "limit", int64(opts.Limit))
	set(q, "cursor", opts.Cursor)
	var page StatePage
	err := c.do(ctx, http.MethodGet, "/v1/plugins/"+url.PathEscape(plugin)+"/state", q, nil, &page)
	return page, err
}

// StateAll iterates over the named plugin's whole state, by key, page after page. It
// stops at the first error, which it yields.
func (c *Client) StateAll(ctx context.Context, plugin string, opts StateOptions) iter.Seq2[StateEntry, error] {
	return all(func(cursor string) ([]StateEntry, string, error) {
		opts.Cursor = cursor
		page, err := c.State(ctx, plugin, opts)
		return page.Entries, page.NextCursor, err
	}, opts.Cursor)
}

// StateValue returns the named plugin's value under key; an *Error with the code
// CodeStateNotFound when it has none.
func (c *Client) StateValue(ctx context.Context, plugin, key string) (StateEntry, error) {
	var e StateEntry
	err := c.do(ctx, http.MethodGet, "/v1/plugins/"+url.PathEscape(plugin)+"/state/"+url.PathEscape(key), nil, nil, &e)
	return e, err
}

// all turns a paged listing into an iterator.
func all[T any](page func(cursor string) ([]T, string, error), cursor string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := page(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			cursor = next
		}
	}
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// do sends one request with a JSON body (when in is not nil) and decodes a successful
// answer into out (when not nil). path is escaped: its parameters went through
// url.PathEscape, so that a "/" in one (a state key's) stays in its segment.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := *c.base
	u.RawPath = u.EscapedPath() + path
	unescaped, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return fmt.Errorf("futurecalls client: %w", err)
	}
	u.Path = unescaped
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("futurecalls client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("futurecalls client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("futurecalls client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("futurecalls client: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// decodeError reads the API's error body, or makes an *Error of whatever a proxy in
// between answered.
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body errorBody
	if err := json.Unmarshal(raw, &body); err != nil || body.Error == nil || body.Error.Code == "" {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &Error{Status: resp.StatusCode, Code: Code("http_" + strconv.Itoa(resp.StatusCode)), Message: msg}
	}
	body.Error.Status = resp.StatusCode
	return body.Error
}

func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

func setInt(q url.Values, key string, v int64) {
	if v != 0 {
		q.Set(key, strconv.FormatInt(v, 10))
	}
}

func setTime(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, t.UTC().Format(time.RFC3339Nano))
	}
}
