package fc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// hostABI is the host's side of the ABI: the fc module's functions on wasip1, stand-ins
// elsewhere, fakes in tests.
type hostABI interface {
	log(level int32, msg string)
	schedule(request []byte) int64
	cancel(identifier string) int64
	lastError() string
	http(request []byte) int64
	config(key string) int64
	stateGet(key string) int64
	statePut(key string, value []byte) int64
	stateDelete(key string) int64
	// result copies the document of length n the last http, config or stateGet produced.
	result(n uint32) []byte
}

// host is the platform's hostABI (see wasm.go and native.go).
var host hostABI = platformHost{}

// Logger returns the plugin's logger: its records go to the host's log, tagged with the
// plugin, call and call id, each as one line: the message followed by its attributes in
// slog's text form. Lines count against the host's per-call output cap; beyond it they
// are dropped. It is the SDK's one way to log, the standard library's.
func Logger() *slog.Logger { return logger }

// logger is the logger Logger returns: one for the plugin, as its handler holds no state
// of a call.
var logger = slog.New(newLogHandler())

// logHandler renders a record with slog's TextHandler (minus time, level and the "msg"
// key) and passes it to the host's fc.log at the record's level.
type logHandler struct {
	mu   *sync.Mutex
	buf  *bytes.Buffer
	text slog.Handler
}

func newLogHandler() *logHandler {
	buf := &bytes.Buffer{}
	text := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &logHandler{mu: &sync.Mutex{}, buf: buf, text: text}
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	line := r.Message
	if attrs := strings.TrimSpace(h.buf.String()); attrs != "" {
		line += " " + attrs
	}
	level := int32(abi.LogLevelDebug)
	switch {
	case r.Level >= slog.LevelError:
		level = abi.LogLevelError
	case r.Level >= slog.LevelWarn:
		level = abi.LogLevelWarn
	case r.Level >= slog.LevelInfo:
		level = abi.LogLevelInfo
	}
	host.log(level, line)
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{mu: h.mu, buf: h.buf, text: h.text.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{mu: h.mu, buf: h.buf, text: h.text.WithGroup(name)}
}

// Args are a call's arguments by parameter name.
type Args = map[string]any

// Request asks for a future call (the same fields as the host's POST /v1/calls).
type Request struct {
	// Plugin is the plugin to call; empty means this plugin.
	Plugin string
	// Method is the call to make.
	Method string
	// Args are its arguments: an Args map, or a struct whose JSON fields are the
	// parameter names.
	Args any
	// Delay runs the call this long after now. Delay and At are exclusive; with
	// neither the call is due at once.
	Delay time.Duration
	// At runs the call at this time.
	At time.Time
	// Identifier tags the call, so that Cancel can find it.
	Identifier string
	// Retry overrides the retry policy of the call.
	Retry *RetryPolicy
	// Cron makes the call recurring on a cron schedule ("0 9 * * MON-FRI") in
	// TimeZone (an IANA name; UTC when empty). A recurring call needs an Identifier,
	// which cancels the whole series, and takes no Delay or At.
	Cron     string
	TimeZone string
	// Every makes the call recurring at a fixed interval, on the grid Start + k·Every
	// (Start defaults to one interval from now).
	Every time.Duration
	Start time.Time
}

// Errors of Schedule and Cancel, to test with errors.Is.
var (
	// ErrInvalid: the host refused the request (unknown plugin or call, arguments that
	// do not fit its signature, malformed request).
	ErrInvalid = errors.New("invalid request")
	// ErrLimit: a limit was reached, such as the number of follow-ups per call.
	ErrLimit = errors.New("limit reached")
	// ErrHost: the host could not serve the request.
	ErrHost = errors.New("host error")
)

// HostError is the host's refusal of a request: Schedule, Cancel, HTTP, Config or a
// state function.
type HostError struct {
	// Op is the host function: "schedule", "cancel", "http", "config", "state_get",
	// "state_put" or "state_delete".
	Op string
	// Code is what the host function returned, one of abi/README.md's return codes:
	// abi.ScheduleInvalid, ScheduleLimit, ScheduleHostError, NotFound or Denied.
	Code int64
	// Message is the host's reason.
	Message string
}

// Error says what was refused and why.
func (e *HostError) Error() string {
	return fmt.Sprintf("fc.%s: %v: %s", e.Op, e.Unwrap(), e.Message)
}

// Unwrap returns ErrInvalid, ErrLimit, ErrNotFound, ErrDenied or ErrHost.
func (e *HostError) Unwrap() error {
	switch e.Code {
	case abi.ScheduleInvalid:
		return ErrInvalid
	case abi.ScheduleLimit:
		return ErrLimit
	case abi.NotFound:
		return ErrNotFound
	case abi.Denied:
		return ErrDenied
	}
	return ErrHost
}

// Schedule asks the host for a follow-up call. The host checks the request at once; an
// accepted follow-up is stored only if the current call succeeds, so a chain of calls
// never half-happens. The error is a *HostError.
func Schedule(r Request) error {
	req := abi.ScheduleRequest{Plugin: r.Plugin, Method: r.Method, Identifier: r.Identifier, Retry: r.Retry,
		Cron: r.Cron, TimeZone: r.TimeZone}
	if r.Every != 0 {
		req.Every = formatDelay(r.Every)
	}
	if !r.Start.IsZero() {
		start := r.Start
		req.Start = &start
	}
	if r.Args != nil {
		args, err := json.Marshal(r.Args)
		if err != nil {
			return fmt.Errorf("fc.Schedule %s: encode arguments: %w", r.Method, err)
		}
		req.Args = args
	}
	if r.Delay != 0 {
		req.Delay = formatDelay(r.Delay)
	}
	if !r.At.IsZero() {
		at := r.At
		req.At = &at
	}
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("fc.Schedule %s: encode request: %w", r.Method, err)
	}
	return ScheduleJSON(data)
}

// ScheduleJSON is Schedule for a request already in the host's JSON form (an
// abi.ScheduleRequest, the body of POST /v1/calls), passed on as it is.
func ScheduleJSON(request []byte) error {
	if code := host.schedule(request); code != abi.ScheduleOK {
		return &HostError{Op: "schedule", Code: code, Message: host.lastError()}
	}
	return nil
}

// Cancel cancels, if the current call succeeds, every call tagged with identifier, and
// returns how many there are now. The error is a *HostError.
func Cancel(identifier string) (int64, error) {
	n := host.cancel(identifier)
	if n < 0 {
		return 0, &HostError{Op: "cancel", Code: n, Message: host.lastError()}
	}
	return n, nil
}

// levelName names a log level of the ABI.
func levelName(level int32) string {
	switch level {
	case abi.LogLevelDebug:
		return "debug"
	case abi.LogLevelInfo:
		return "info"
	case abi.LogLevelWarn:
		return "warn"
	case abi.LogLevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", level)
}

// formatDelay writes a delay as the host reads it, whole days as "3d".
func formatDelay(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
