package client

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// Call is a scheduled call, as GET /v1/calls/{id} returns it.
type Call struct {
	ID     int64           `json:"id"`
	Plugin string          `json:"plugin"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
	// RunAt is when the call is due, in UTC.
	RunAt      time.Time `json:"runAt"`
	Identifier string    `json:"identifier,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// Status is StatusWaiting or StatusRunning.
	Status string `json:"status"`
	// Attempt counts the attempts started so far.
	Attempt int             `json:"attempt"`
	Retry   abi.RetryPolicy `json:"retry"`
	// ClaimedBy is the host running the call.
	ClaimedBy  string     `json:"claimedBy,omitempty"`
	ClaimedAt  *time.Time `json:"claimedAt,omitempty"`
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
	// LastError is the error of the previous attempt of a call waiting for a retry.
	LastError string `json:"lastError,omitempty"`
	// Series is set when the call is an occurrence of a recurring call.
	Series *Series `json:"series,omitempty"`
	// MessageID is the message the call delivers (POST /v1/messages, fc.publish); absent
	// for other calls.
	MessageID int64 `json:"messageId,omitempty"`
}

// Series is the schedule of a recurring call, as its occurrences show it.
type Series struct {
	ID int64 `json:"id"`
	// Cron and TimeZone describe a cron series.
	Cron     string `json:"cron,omitempty"`
	TimeZone string `json:"timezone,omitempty"`
	// Every and Anchor describe an interval series: it runs at Anchor + k·Every.
	Every  string     `json:"every,omitempty"`
	Anchor *time.Time `json:"anchor,omitempty"`
}

// Call statuses.
const (
	// StatusWaiting: the call waits for its run time (or its next attempt).
	StatusWaiting = "waiting"
	// StatusRunning: a host has claimed the call and runs it; it can no longer be
	// cancelled.
	StatusRunning = "running"
	// StatusGone: a message's delivery whose call is neither stored nor in the history
	// (the history was trimmed).
	StatusGone = "gone"
)

// CallPage is one page of GET /v1/calls.
type CallPage struct {
	Calls []Call `json:"calls"`
	// NextCursor asks for the following page; empty after the last one. A page may
	// hold fewer rows than asked for (when they reach the host's byte budget) and
	// still have a following page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// Batch is the body of POST /v1/calls/batch, and its answer.
type Batch[T any] struct {
	Calls []T `json:"calls"`
}

// Cancelled is the answer of DELETE /v1/calls/{id} and DELETE /v1/calls?identifier=…:
// how many waiting calls were cancelled, and how many recurring series that stopped. A
// recurring call is stored as its next occurrence, so cancelling an occurrence stops its
// series; cancelling by identifier while an occurrence runs stops its series too, with
// no waiting call cancelled.
type Cancelled struct {
	Cancelled     int64 `json:"cancelled"`
	SeriesStopped int64 `json:"seriesStopped"`
}

// HistoryEntry is one finished attempt of a call, or a call removed without running.
type HistoryEntry struct {
	ID          int64           `json:"id"`
	CallID      int64           `json:"callId"`
	Plugin      string          `json:"plugin"`
	Method      string          `json:"method"`
	Args        json.RawMessage `json:"args"`
	Identifier  string          `json:"identifier,omitempty"`
	ScheduledAt time.Time       `json:"scheduledAt"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  time.Time       `json:"finishedAt"`
	Attempt     int             `json:"attempt"`
	Outcome     abi.Outcome     `json:"outcome"`
	Error       string          `json:"error,omitempty"`
	// Host ran the attempt or recorded the outcome.
	Host string `json:"host"`
	// RetryAt is when a failed attempt's call runs again.
	RetryAt *time.Time `json:"retryAt,omitempty"`
	// SeriesID is the series of a recurring call's occurrence.
	SeriesID int64 `json:"seriesId,omitempty"`
	// HTTPRequests is how many outbound HTTP requests (fc.http) the attempt made,
	// refused ones included.
	HTTPRequests int `json:"httpRequests"`
	// PluginVersion is the version of the plugin the attempt ran on; empty for a call
	// removed without running.
	PluginVersion string `json:"pluginVersion,omitempty"`
	// MessageID is the message the call delivered; absent for other calls.
	MessageID int64 `json:"messageId,omitempty"`
}

// Message is a published message, as POST /v1/messages and GET /v1/messages/{id} return
// it, with its deliveries: one call per subscription to its topic.
type Message struct {
	ID         int64           `json:"id"`
	Topic      string          `json:"topic"`
	Payload    json.RawMessage `json:"payload"`
	Identifier string          `json:"identifier,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	// Publisher is "api", or "call <id> (<plugin>.<method>)" for a message a call
	// published with fc.publish.
	Publisher  string     `json:"publisher"`
	Deliveries []Delivery `json:"deliveries"`
}

// Delivery is one subscriber's call of a message. Status is StatusWaiting or
// StatusRunning while the call is stored, else the outcome of its last attempt
// ("succeeded", "failed", …); Attempt counts the attempts started so far.
type Delivery struct {
	CallID int64  `json:"callId"`
	Plugin string `json:"plugin"`
	Method string `json:"method"`
	Status string `json:"status"`
	// RunAt is when a waiting delivery is due.
	RunAt   *time.Time `json:"runAt,omitempty"`
	Attempt int        `json:"attempt"`
	// Error is the error of the last attempt, when it failed.
	Error string `json:"error,omitempty"`
	// FinishedAt is when the last attempt finished, once the call is done.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// MessageBatch is the body of POST /v1/messages/batch, and its answer.
type MessageBatch[T any] struct {
	Messages []T `json:"messages"`
}

// HistoryPage is one page of GET /v1/history, newest first.
type HistoryPage struct {
	Entries []HistoryEntry `json:"entries"`
	// NextCursor asks for the following page; empty after the last one. A page may
	// hold fewer rows than asked for (when they reach the host's byte budget) and
	// still have a following page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// Plugin is a loaded plugin and the calls it offers, with their signatures.
type Plugin struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	// File is the plugin's file name in the host's plugin directory.
	File  string       `json:"file"`
	Calls []abi.Method `json:"calls"`
	// Retry is the plugin's default retry policy, as its manifest declares it.
	Retry *abi.RetryPolicy `json:"retry,omitempty"`
	// LoadedAt is when the host loaded the plugin.
	LoadedAt *time.Time `json:"loadedAt,omitempty"`
	// Subscriptions are the plugin's calls subscribed to topics (POST /v1/messages).
	Subscriptions []abi.Subscription `json:"subscriptions,omitempty"`
	// SHA256 is the hex SHA-256 of the module file the running version was loaded from.
	SHA256 string `json:"sha256,omitempty"`
	// RefusedCandidate is the latest new version of the plugin the host refused to
	// swap in, because stored calls would break; nil when none is waiting.
	RefusedCandidate *Candidate `json:"refusedCandidate,omitempty"`
}

// Candidate is a new version of a plugin that a reload refused to swap in because some
// of the plugin's stored calls would break under it (plugins.reload.onBreaking refuse).
type Candidate struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	// RefusedAt is when the reload refused it.
	RefusedAt time.Time `json:"refusedAt"`
	// Reason says why, in one line.
	Reason string `json:"reason"`
	// Broken counts the stored calls that would break, and Methods by method.
	Broken  int64          `json:"broken"`
	Methods []BrokenMethod `json:"methods"`
}

// BrokenMethod counts the stored calls of one method that a candidate would break.
type BrokenMethod struct {
	Method string `json:"method"`
	// Kind is method_missing (the candidate no longer declares it) or args_mismatch.
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
	// Reason says why the first of them breaks.
	Reason string `json:"reason"`
}

// Reload is the answer of POST /v1/plugins/reload: what the reload changed. Every list
// is present, empty when nothing happened of its kind.
type Reload struct {
	// Added are plugins loaded for the first time, Swapped new versions now running,
	// Removed plugins whose file is gone (their calls wait, stored).
	Added   []PluginChange `json:"added"`
	Swapped []PluginChange `json:"swapped"`
	Removed []PluginChange `json:"removed"`
	// Refused are new versions not swapped in: stored calls would break.
	Refused []Candidate `json:"refused"`
	// Failed are files that could not be loaded; the version running, if any, stays.
	Failed []FailedFile `json:"failed"`
	// Pending are files still being written: they are loaded once they stop changing.
	Pending []string `json:"pending"`
}

// PluginChange is one plugin a reload added, swapped or removed.
type PluginChange struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	// PreviousVersion is the version replaced, for a swap.
	PreviousVersion string `json:"previousVersion,omitempty"`
	// Broken counts the stored calls the new version breaks (swapped under the accept
	// or delete policy), Deleted those removed into the history as deleted_broken.
	Broken  int64 `json:"broken,omitempty"`
	Deleted int64 `json:"deleted,omitempty"`
	// Waiting counts the stored calls of a removed plugin: they wait for a host that
	// has it.
	Waiting int64 `json:"waiting,omitempty"`
}

// FailedFile is a module file a reload could not load.
type FailedFile struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error"`
}

// Stats is GET /v1/stats: an overview of the schedule now and of the history of the
// last minutes.
type Stats struct {
	// Since and Until bound the history the stats read: [Since, Until).
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// DueNextHour and DueNextDay count the waiting calls due within an hour and a day
	// (overdue ones included), Running the calls running now; each stops at 100,000.
	DueNextHour int64 `json:"dueNextHour"`
	DueNextDay  int64 `json:"dueNextDay"`
	Running     int64 `json:"running"`
	// Outcomes count the history's entries by minute and outcome, oldest first.
	Outcomes []OutcomeCount `json:"outcomes"`
	// Lateness is how late first attempts started after they were due.
	Lateness Lateness `json:"lateness"`
	// Failing are the methods with the most unsuccessful attempts, most first.
	Failing []FailingMethod `json:"failing"`
}

// OutcomeCount counts the history entries of one minute with one outcome.
type OutcomeCount struct {
	Minute  time.Time   `json:"minute"`
	Outcome abi.Outcome `json:"outcome"`
	Count   int64       `json:"count"`
}

// Lateness summarises how late first attempts started, in milliseconds; the
// percentiles are absent when none started.
type Lateness struct {
	Started int64    `json:"started"`
	P50Ms   *float64 `json:"p50Ms,omitempty"`
	P99Ms   *float64 `json:"p99Ms,omitempty"`
}

// FailingMethod is a method whose attempts failed, with its latest error.
type FailingMethod struct {
	Plugin       string    `json:"plugin"`
	Method       string    `json:"method"`
	Failures     int64     `json:"failures"`
	LastError    string    `json:"lastError"`
	LastFailedAt time.Time `json:"lastFailedAt"`
}

// StateEntry is one value of a plugin's state (GET /v1/plugins/{name}/state). Value
// holds the value when its bytes are a JSON document, ValueBase64 (standard base64)
// otherwise; an empty value has neither.
type StateEntry struct {
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	ValueBase64 string          `json:"valueBase64,omitempty"`
	// Version changes with every write of the key.
	Version int64 `json:"version"`
	// UpdatedAt is when the call that last wrote the key committed.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Bytes returns the value's bytes, whichever way the API showed them: for a JSON value,
// the same document as the plugin wrote it, but that the API removes insignificant
// whitespace and escapes <, > and & as \u003c, \u003e and \u0026.
func (e StateEntry) Bytes() ([]byte, error) {
	if e.Value != nil {
		return e.Value, nil
	}
	return base64.StdEncoding.DecodeString(e.ValueBase64)
}

// StatePage is one page of GET /v1/plugins/{name}/state, by key (bytewise).
type StatePage struct {
	Entries []StateEntry `json:"entries"`
	// NextCursor asks for the following page; empty after the last one, as in
	// HistoryPage.
	NextCursor string `json:"nextCursor,omitempty"`
}

// PluginList is the answer of GET /v1/plugins.
type PluginList struct {
	Plugins []Plugin `json:"plugins"`
}

// Code names the kind of an API error, for programs to act on; Error.Message is for
// people. An answer that did not come from the API (a proxy's) has the code
// "http_<status>".
type Code string

// Error codes of the API. Every error response carries one, with the HTTP status
// noted here.
const (
	CodeMalformedJSON        Code = "malformed_json"         // 400: the body is not JSON of the expected shape
	CodeUnknownField         Code = "unknown_field"          // 400: the body has a field the API does not know
	CodeInvalidRequest       Code = "invalid_request"        // 400: the request is well-formed but wrong (both delay and at, …)
	CodeInvalidParameter     Code = "invalid_parameter"      // 400: a query or path parameter is wrong
	CodeUnauthorized         Code = "unauthorized"           // 401: no or wrong bearer token
	CodeForbiddenHost        Code = "forbidden_host"         // 403: without tokens, only loopback host names are served
	CodeNotFound             Code = "not_found"              // 404: no such route
	CodeCallNotFound         Code = "call_not_found"         // 404: no waiting or running call has this id
	CodeMessageNotFound      Code = "message_not_found"      // 404: no message has this id
	CodeUnknownPlugin        Code = "unknown_plugin"         // 404: no loaded plugin has this name
	CodeUnknownMethod        Code = "unknown_method"         // 404: the plugin has no call of this name
	CodeStateNotFound        Code = "state_not_found"        // 404: the plugin's state has no value under this key
	CodeMethodNotAllowed     Code = "method_not_allowed"     // 405: the route does not take this HTTP method
	CodeCallRunning          Code = "call_running"           // 409: the call is running and can no longer be cancelled
	CodeBodyTooLarge         Code = "body_too_large"         // 413: the body is over the host's limit
	CodeUnsupportedMediaType Code = "unsupported_media_type" // 415: the body is not application/json
	CodeInvalidArguments     Code = "invalid_arguments"      // 422: the arguments do not fit the call's signature
	CodeInternal             Code = "internal"               // 500: a fault of the host; the request id finds it in the logs
	CodeUnavailable          Code = "unavailable"            // 503: the database is unreachable or too slow; try again
)

// Violation is one way in which a call's arguments do not fit its signature.
type Violation struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value inside "args";
	// empty for the arguments object itself.
	Pointer string `json:"pointer"`
	Message string `json:"message"`
	// Subscriber names the call ("plugin.method") whose signature a message's payload
	// does not fit; empty for a scheduled call's arguments.
	Subscriber string `json:"subscriber,omitempty"`
}

// Error is an error answered by the API. Every error response has the body
// {"error": Error}.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"-"`
	// Code is one of the Code constants.
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Violations lists the ways the arguments do not fit (CodeInvalidArguments): the
	// first ones, when there are many.
	Violations []Violation `json:"violations,omitempty"`
	// ViolationsOmitted counts the violations left out of Violations.
	ViolationsOmitted int `json:"violationsOmitted,omitempty"`
	// Index is the position of the failing call in a batch.
	Index *int `json:"index,omitempty"`
	// RequestID names the request in the host's logs.
	RequestID string `json:"requestId,omitempty"`
}

// Error says what went wrong, with every violation.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "futurecalls: %d %s: %s", e.Status, e.Code, e.Message)
	for _, v := range e.Violations {
		b.WriteString("; ")
		if v.Pointer != "" {
			b.WriteString(v.Pointer + ": ")
		}
		b.WriteString(v.Message)
	}
	return b.String()
}

// errorBody is the body of every error response.
type errorBody struct {
	Error *Error `json:"error"`
}
