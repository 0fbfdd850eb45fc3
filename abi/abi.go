// Package abi holds the wire contract between the futurecalls host and its WebAssembly
// plugins: the names and core types of the exports and imports, and the Go types of the
// JSON documents that cross the boundary (manifest, envelope, schedule request).
//
// README.md in this directory is the specification for plugin authors. This package has
// no dependencies beyond the standard library, so the Go plugin SDK can import it into
// guest code; argument validation, which needs a JSON Schema compiler, lives in the
// signature subpackage.
package abi

import (
	"encoding/json"
	"time"
)

// Version is the ABI version this host implements.
const Version = 1

// Names of the guest's exports.
const (
	ExportMemory     = "memory"
	ExportAlloc      = "fc_alloc"
	ExportManifest   = "fc_manifest"
	ExportInvoke     = "fc_invoke"
	ExportInitialize = "_initialize"
)

// Names of the host module and its functions.
const (
	HostModule        = "fc"
	HostLog           = "log"
	HostSchedule      = "schedule"
	HostCancel        = "cancel"
	HostPublish       = "publish"
	HostLastError     = "last_error"
	HostResult        = "result"
	HostHTTP          = "http"
	HostConfig        = "config"
	HostStateGet      = "state_get"
	HostStatePut      = "state_put"
	HostStateDelete   = "state_delete"
	WASIModule        = "wasi_snapshot_preview1"
	LogLevelDebug     = 0
	LogLevelInfo      = 1
	LogLevelWarn      = 2
	LogLevelError     = 3
	ScheduleOK        = 0
	ScheduleInvalid   = -1
	ScheduleLimit     = -2
	ScheduleHostError = -3
	// NotFound is what fc.config and fc.state_get return for a key that has no value.
	NotFound = -4
	// Denied is what fc.http returns for a request the operator's grant does not allow:
	// a URL outside the plugin's allow-list, an address refused after DNS, a redirect to
	// either.
	Denied = -5
)

// HTTPRequest is the JSON document a guest passes to fc.http. Body and BodyBase64 are
// exclusive; with neither, the request has no body. Method defaults to GET.
type HTTPRequest struct {
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
}

// HTTPResponse is the JSON document fc.http leaves for fc.result. Body holds the body
// when it is valid UTF-8, BodyBase64 otherwise (never both). A header's several values
// are joined with ", ".
type HTTPResponse struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
}

// Manifest is what a plugin's fc_manifest export returns: who it is and the future calls
// it offers, each with its typed parameters.
type Manifest struct {
	ABI         int          `json:"abi"`
	Name        string       `json:"name"`
	Version     string       `json:"version,omitempty"`
	Description string       `json:"description,omitempty"`
	Calls       []Method     `json:"calls"`
	Retry       *RetryPolicy `json:"retry,omitempty"`
	// Subscriptions make calls of this plugin the deliveries of messages published to
	// topics (optional; see "Messages" in README.md).
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
}

// Subscription subscribes one call of a plugin to a topic: every message published to
// Topic becomes a call of Call, whose arguments are the message's payload.
type Subscription struct {
	Topic string `json:"topic"`
	Call  string `json:"call"`
}

// PublishRequest publishes a message. It is the body of POST /v1/messages and the
// argument of the fc.publish host function. Payload is a JSON object, the arguments of
// every delivery; Identifier, Delay and At apply to every delivery as they do to a
// scheduled call.
type PublishRequest struct {
	Topic      string          `json:"topic"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	Identifier string          `json:"identifier,omitempty"`
	Delay      string          `json:"delay,omitempty"`
	At         *time.Time      `json:"at,omitempty"`
}

// Method is one future call a plugin exports: its name and its ordered parameters.
type Method struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Params      []Param `json:"params"`
}

// Param is one named parameter of a Method, typed by a JSON Schema.
type Param struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	Optional    bool            `json:"optional,omitempty"`
}

// Envelope is the JSON document the host passes to fc_invoke.
type Envelope struct {
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
	Call   CallInfo        `json:"call"`
}

// CallInfo describes the call being run, for the guest's information.
type CallInfo struct {
	ID          int64     `json:"id"`
	Plugin      string    `json:"plugin"`
	ScheduledAt time.Time `json:"scheduledAt"`
	Identifier  string    `json:"identifier,omitempty"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"maxAttempts"`
	// MessageID is the message a delivery carries; 0 (absent) for other calls.
	MessageID int64 `json:"messageId,omitempty"`
}

// ScheduleRequest asks for a call to be scheduled. It is the body of POST /v1/calls and
// the argument of the fc.schedule host function.
//
// A one-off call gives Delay or At (exclusive; with neither, the call is due at once).
// A recurring call gives Cron (with an optional IANA TimeZone, UTC by default) or Every
// (with an optional Start anchor) instead, and needs an Identifier, which cancels the
// whole series.
type ScheduleRequest struct {
	Plugin     string          `json:"plugin"`
	Method     string          `json:"method"`
	Args       json.RawMessage `json:"args,omitempty"`
	Delay      string          `json:"delay,omitempty"`
	At         *time.Time      `json:"at,omitempty"`
	Identifier string          `json:"identifier,omitempty"`
	Retry      *RetryPolicy    `json:"retry,omitempty"`
	Cron       string          `json:"cron,omitempty"`
	TimeZone   string          `json:"timezone,omitempty"`
	Every      string          `json:"every,omitempty"`
	Start      *time.Time      `json:"start,omitempty"`
}

// Recurring reports whether the request asks for a series rather than one call.
func (r ScheduleRequest) Recurring() bool { return r.Cron != "" || r.Every != "" }

// RetryPolicy says how often a failed call is tried again. MaxAttempts counts every
// attempt, the first included, so 1 means no retry. Backoff and MaxBackoff are Go
// durations ("1s", "10m").
type RetryPolicy struct {
	MaxAttempts int    `json:"maxAttempts"`
	Backoff     string `json:"backoff,omitempty"`
	MaxBackoff  string `json:"maxBackoff,omitempty"`
}

// Pack packs a guest pointer and length into the i64 that fc_manifest and fc_invoke
// return.
func Pack(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// Unpack splits a packed result into pointer and length.
func Unpack(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }
