package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/futurecalls/futurecalls/abi"
)

// HostCalls is what a running call may ask of the host; the executor implements it per
// call. Its methods run on the call's goroutine, under the call's context (which ends
// at the call's time limit).
type HostCalls interface {
	StateCalls
	// Schedule takes the raw JSON of an [abi.ScheduleRequest] made by the guest, validates
	// it and keeps it for when the call succeeds. An error wrapping ErrInvalidRequest
	// makes fc.schedule return -1, any other -3; the error's message is what the guest's
	// fc.last_error reads.
	Schedule(ctx context.Context, request []byte) error
	// Cancel records the cancellation of every call tagged identifier, for when the
	// call succeeds, and returns how many there are. Errors map as for Schedule.
	Cancel(ctx context.Context, identifier string) (int64, error)
}

// ErrInvalidRequest marks a Schedule or Cancel request the host refuses because of its
// content (malformed, unknown plugin or call, arguments that do not fit): the guest's
// fc.schedule or fc.cancel returns -1.
var ErrInvalidRequest = errors.New("invalid request")

// maxLine caps one line of stdout or stderr kept while waiting for its newline.
const maxLine = 4 << 10

// call is the state of one running call (or of an instantiation) that the host
// functions and the output streams see. It lives on one goroutine: the one running the
// guest.
type call struct {
	ctx       context.Context // the call's context, with its deadline
	host      HostCalls       // nil: schedule and cancel are not available
	base      *slog.Logger
	attrs     []any // added to every line, lazily: most calls log nothing
	logger    *slog.Logger
	limits    *Limits
	output    int64 // bytes of output so far
	truncated bool
	requests  int   // fc.schedule and fc.cancel requests so far, refused ones included
	buffered  int64 // bytes of the accepted ones, which the host keeps for the outcome
	lastError string
	result    []byte          // the last document fc.http, fc.config or fc.state_get produced, for fc.result
	partial   [3]bytes.Buffer // unfinished stdout and stderr lines, by fd
	stderr    head            // the start of stderr, for error messages

	// What fc.http and fc.config need.
	name    string // the plugin's
	id      int64  // the call's, from its envelope (0 when it has none)
	grant   *Grant // what the operator lets the plugin reach; nil while reading the manifest
	fetches int    // fc.http requests so far, refused ones included

	// stateReads counts the fc.state_get requests so far, refused ones included, and
	// stateWritten the bytes of the accepted fc.state_put and fc.state_delete ones.
	stateReads   int
	stateWritten int64
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

func (c *call) log() *slog.Logger {
	if c.logger == nil {
		c.logger = c.base.With(c.attrs...)
	}
	return c.logger
}

// emit writes one line of guest output, within the output cap.
func (c *call) emit(level slog.Level, line []byte, attrs ...any) {
	if c.output+int64(len(line)) > c.limits.OutputLimit {
		if !c.truncated {
			c.truncated = true
			c.log().Warn("output truncated", slog.Int64("limit", c.limits.OutputLimit))
		}
		return
	}
	c.output += int64(len(line))
	c.log().Log(c.ctx, level, string(line), attrs...)
}

// write takes a chunk of stdout (fd 1) or stderr (fd 2) and logs its complete lines.
func (c *call) write(fd int, p []byte) {
	if fd == 2 {
		c.stderr.Write(p)
	}
	buf := &c.partial[fd]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLine - buf.Len()
			if len(p) < room {
				buf.Write(p)
				return
			}
			buf.Write(p[:room])
			p = p[room:]
			c.flushStream(fd)
			continue
		}
		buf.Write(p[:i])
		p = p[i+1:]
		c.flushStream(fd)
	}
}

func (c *call) flushStream(fd int) {
	buf := &c.partial[fd]
	if buf.Len() == 0 {
		return
	}
	level, stream := slog.LevelInfo, "stdout"
	if fd == 2 {
		level, stream = slog.LevelWarn, "stderr"
	}
	c.emit(level, buf.Bytes(), slog.String("stream", stream))
	buf.Reset()
}

// flush logs unfinished lines at the end of a call.
func (c *call) flush() {
	c.flushStream(1)
	c.flushStream(2)
}

// refuse records why a host function refused a request and returns its code.
func (c *call) refuse(code int64, format string, args ...any) uint64 {
	c.lastError = fmt.Sprintf(format, args...)
	return api.EncodeI64(code)
}

// hostError maps an error of HostCalls to fc.schedule's codes.
func (c *call) hostError(err error) uint64 {
	if errors.Is(err, ErrInvalidRequest) {
		return c.refuse(abi.ScheduleInvalid, "%s", err.Error())
	}
	return c.refuse(abi.ScheduleHostError, "%s", err.Error())
}

// head keeps the first bytes written to it: where a guest's runtime says why it died
// ("panic: ...", "fatal error: out of memory"), before any stack trace.
type head struct{ b []byte }

const headSize = 512

func (h *head) Write(p []byte) {
	if room := headSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
}

func (h *head) String() string { return string(bytes.TrimSpace(h.b)) }

// guard turns a panic in a host function (a bug in the host or in HostCalls) into a
// refusal the guest sees, instead of a crash of the host.
func guard(c *call, fn string, stack []uint64, hasResult bool) {
	if r := recover(); r != nil {
		c.log().Error("host function panicked", slog.String("function", fn), slog.Any("panic", r))
		if hasResult {
			stack[0] = c.refuse(abi.ScheduleHostError, "internal host error in %s", fn)
		}
	}
}

// levels maps fc.log's levels to slog's; other values are clamped.
var levels = [...]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		return
	}
	defer guard(c, abi.HostLog, stack, false)
	level := min(max(int32(uint32(stack[0])), abi.LogLevelDebug), abi.LogLevelError)
	line, ok := mod.Memory().Read(uint32(stack[1]), uint32(stack[2]))
	if !ok {
		c.emit(slog.LevelWarn, []byte("fc.log: the line is outside memory: dropped"))
		return
	}
	c.emit(levels[level], line)
}

// hostSchedule is fc.schedule: it hands the guest's JSON request to HostCalls.
var hostSchedule = hostRequest(abi.HostSchedule, "request", func(c *call, data []byte) (int64, error) {
	return abi.ScheduleOK, c.host.Schedule(c.ctx, bytes.Clone(data))
})

// hostCancel is fc.cancel: it checks the guest's identifier by the rule the REST API
// applies (abi.CheckIdentifier; empty is refused too: it would cancel nothing), then
// hands it to HostCalls and returns the count of calls carrying it.
var hostCancel = hostRequest(abi.HostCancel, "identifier", func(c *call, data []byte) (int64, error) {
	// At most one byte beyond the limit is copied: enough for the check to refuse it.
	id := string(data[:min(len(data), abi.MaxIdentifierBytes+1)])
	if err := abi.CheckIdentifier(id); err != nil {
		return 0, invalid{err}
	}
	if id == "" {
		return 0, invalid{errors.New("empty identifier")}
	}
	return c.host.Cancel(c.ctx, id)
})

// invalid is a request the host function refuses for its content, before HostCalls
// sees it: fc.schedule or fc.cancel returns -1 and fc.last_error reads the reason.
type invalid struct{ reason error }

func (e invalid) Error() string   { return e.reason.Error() }
func (e invalid) Unwrap() []error { return []error{ErrInvalidRequest, e.reason} }

// hostRequest makes a host function of the fc.schedule kind: it reads the guest's bytes
// and answers what serve returns, or the code of its error. Two limits bound what one
// call makes the host do and keep:
//   - Limits.MaxFollowUps counts every request, refused or not (schedule and cancel
//     together): each one is work for the host (a cancel queries the database), and a
//     guest looping on refused requests must run into the limit as one looping on
//     accepted ones does;
//   - Limits.BufferLimit bounds the bytes of the accepted requests, which the host keeps
//     until the call's outcome is recorded.
//
// Beyond either, the request is refused with -2 and fc.last_error names the limit.
func hostRequest(name, what string, serve func(c *call, data []byte) (int64, error)) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		c := callFrom(ctx)
		if c == nil {
			stack[0] = api.EncodeI64(abi.ScheduleHostError)
			return
		}
		defer guard(c, name, stack, true)
		if c.requests >= c.limits.MaxFollowUps {
			stack[0] = c.refuse(abi.ScheduleLimit, "at most %d follow-ups and cancellations per call (sandbox.maxFollowUps), refused ones included",
				c.limits.MaxFollowUps)
			return
		}
		c.requests++
		data, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
		switch {
		case !ok:
			stack[0] = c.refuse(abi.ScheduleInvalid, "the %s is outside memory", what)
			return
		case c.host == nil:
			stack[0] = c.refuse(abi.ScheduleHostError, "not available")
			return
		case c.buffered+int64(len(data)) > c.limits.BufferLimit:
			stack[0] = c.refuse(abi.ScheduleLimit, "at most %d bytes of follow-ups and cancellations per call (sandbox.bufferLimit): "+
				"this %s of %d bytes would bring the call's to %d", c.limits.BufferLimit, what, len(data), c.buffered+int64(len(data)))
			return
		}
		n, err := serve(c, data)
		if err != nil {
			stack[0] = c.hostError(err)
			return
		}
		c.buffered += int64(len(data))
		stack[0] = api.EncodeI64(n)
	}
}

// hostLastError is fc.last_error: it copies the reason of the last refusal.
var hostLastError = hostCopy(abi.HostLastError, func(c *call) []byte { return []byte(c.lastError) })

// hostResult is fc.result: it copies the last document a host function produced.
var hostResult = hostCopy(abi.HostResult, func(c *call) []byte { return c.result })

// hostCopy makes a host function of the fc.last_error kind: (ptr, cap) -> i32 copies at
// most cap bytes of what source returns into the guest's memory and returns its full
// length, so that a guest can ask for the length first with cap 0.
func hostCopy(name string, source func(c *call) []byte) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		c := callFrom(ctx)
		if c == nil {
			stack[0] = 0
			return
		}
		defer guard(c, name, stack, false)
		data := source(c)
		if n := min(uint32(stack[1]), uint32(len(data))); n > 0 {
			mod.Memory().Write(uint32(stack[0]), data[:n]) // outside memory: nothing written
		}
		stack[0] = uint64(uint32(len(data)))
	}
}

// produce keeps a document for fc.result and returns the length the host function
// answers with.
func (c *call) produce(doc []byte) uint64 {
	c.result = doc
	return api.EncodeI64(int64(len(doc)))
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one function of the fc module.
type hostFunc struct {
	fn              api.GoModuleFunc
	params, results []api.ValueType
}

// hostFuncs is the fc module of abi/README.md, by name.
var hostFuncs = map[string]hostFunc{
	abi.HostLog:       {hostLog, []api.ValueType{i32, i32, i32}, nil},
	abi.HostSchedule:  {hostSchedule, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostCancel:    {hostCancel, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostLastError: {hostLastError, []api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostResult:    {hostResult, []api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.HostHTTP:      {hostHTTP, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostConfig:    {hostConfig, []api.ValueType{i32, i32}, []api.ValueType{i64}},

	// state.go
	abi.HostStateGet:    {hostStateGet, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.HostStatePut:    {hostStatePut, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}},
	abi.HostStateDelete: {hostStateDelete, []api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// instantiateHost adds the fc module to a runtime.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	for name, f := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate the %s host module: %w", abi.HostModule, err)
	}
	return nil
}
