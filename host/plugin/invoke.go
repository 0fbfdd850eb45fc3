package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tetratelabs/wazero/sys"

	"github.com/futurecalls/futurecalls/abi"
)

// maxMessage caps a guest's error message.
const maxMessage = 64 << 10

// Invoke runs one call of the plugin: the envelope's method with its arguments, on a warm
// instance (or a fresh one when Limits.Fresh). It checks the arguments against the
// method's signature first. host serves the guest's fc.schedule and fc.cancel (nil: they
// are refused as not available) and, when it is an [HTTPObserver], hears of each fc.http
// request; the envelope's call id makes the requests' Idempotency-Keys; log receives the guest's output (nil: the registry's
// logger), each line tagged with the plugin, the method and, when the envelope has them,
// the call's id and attempt — added only when the guest writes a line, since most calls
// write none. It returns nil on success, else a *CallError.
//
// The call ends at the plugin's time limit or when ctx ends, whichever comes first; an
// instance that trapped, exited, timed out or was cancelled is discarded, as is one whose
// memory grew beyond Limits.RecycleAbove.
func (p *Plugin) Invoke(ctx context.Context, env abi.Envelope, host HostCalls, log *slog.Logger) error {
	method, ok := p.sig.Method(env.Method)
	if !ok {
		return &CallError{Kind: KindBroken, Message: fmt.Sprintf("plugin %s has no call %q", p.Name, env.Method)}
	}
	if err := method.Validate(env.Args); err != nil {
		return &CallError{Kind: KindBroken, Message: err.Error(), Err: err}
	}
	if len(env.Args) == 0 || string(env.Args) == "null" {
		env.Args = json.RawMessage("{}")
	}
	if env.Call.Plugin == "" {
		env.Call.Plugin = p.Name
	}
	data, err := json.Marshal(env)
	if err != nil {
		return &CallError{Kind: KindBroken, Message: "encode the envelope: " + err.Error(), Err: err}
	}
	if !p.enter() {
		return &CallError{Kind: KindCancelled, Message: ErrClosed.Error(), Err: ErrClosed}
	}
	defer p.running.Done()
	if err := ctx.Err(); err != nil {
		return &CallError{Kind: KindCancelled, Message: "cancelled before it ran: " + context.Cause(ctx).Error(), Err: err}
	}
	c := &call{host: host, base: log, limits: &p.Limits, name: p.Name, id: env.Call.ID, grant: &p.grant,
		attrs: []any{slog.String("plugin", p.Name), slog.String("method", env.Method)}}
	if log == nil {
		c.base = p.log
	}
	if env.Call.ID != 0 {
		c.attrs = append(c.attrs, slog.Int64("call", env.Call.ID), slog.Int("attempt", env.Call.Attempt))
	}

	callCtx, cancel := context.WithTimeout(ctx, p.Limits.Timeout)
	defer cancel()
	defer context.AfterFunc(p.stopping, cancel)() // the plugin closing under the call ends it too
	callCtx = context.WithValue(callCtx, callKey{}, c)
	c.ctx = callCtx

	in := p.borrow()
	if in == nil {
		if in, err = p.newInstance(callCtx, c); err != nil {
			c.flush()
			return p.failure(ctx, callCtx, c, nil, "instantiate: ", err)
		}
	} else if !in.memory.use() { // closed since it was pooled: the registry is closing
		return &CallError{Kind: KindCancelled, Message: ErrClosed.Error(), Err: ErrClosed}
	}
	in.current = c
	stopped := in.watch(callCtx)
	failure, err := in.run(callCtx, data)
	if stopped() && err == nil { // the time was up as the call returned: the flag stays set
		err = context.Cause(callCtx)
	}
	in.current = nil
	c.flush()
	if err != nil {
		in.discard()
		return p.failure(ctx, callCtx, c, in, "", err)
	}
	if failure != nil && failure.Kind == KindTrapped { // a result outside memory: the guest is confused
		in.discard()
		return failure
	}
	in.memory.done() // before release: once pooled, another call may use it
	p.release(in)
	if failure != nil {
		return failure
	}
	return nil
}

// enter counts a call in, unless the plugin is closed.
func (p *Plugin) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.running.Add(1)
	return true
}

// borrow takes a warm instance, or nil when a new one is needed.
func (p *Plugin) borrow() *instance {
	if p.Limits.Fresh {
		return nil
	}
	return p.pool.get()
}

// release returns an instance after a call that did not trap, unless its memory grew
// beyond Limits.RecycleAbove or its tables grew at all (instrument.go).
func (p *Plugin) release(in *instance) {
	if p.Limits.Fresh || int64(in.mem.Size()) > p.Limits.RecycleAbove || p.tablesGrew(in) {
		in.close()
		return
	}
	p.pool.put(in)
}

// run writes the envelope into the instance and calls fc_invoke. It returns a
// *CallError when the guest reported a failure, err when the guest trapped or was
// stopped.
func (in *instance) run(ctx context.Context, envelope []byte) (*CallError, error) {
	in.stack[0] = uint64(len(envelope))
	if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	ptr := uint32(in.stack[0])
	if ptr == 0 {
		return &CallError{Kind: KindFailed, Message: fmt.Sprintf("guest could not allocate %d bytes for the envelope", len(envelope))}, nil
	}
	if !in.mem.Write(ptr, envelope) {
		return &CallError{Kind: KindTrapped, Message: fmt.Sprintf("fc_alloc returned a buffer outside memory (%d bytes at %#x)", len(envelope), ptr)}, nil
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(envelope))
	if err := in.invoke.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, err
	}
	if in.stack[0] == 0 {
		return nil, nil
	}
	ptr, n := abi.Unpack(in.stack[0])
	msg, ok := in.mem.Read(ptr, n)
	if !ok {
		return &CallError{Kind: KindTrapped, Message: fmt.Sprintf("fc_invoke returned an error message outside memory (%d bytes at %#x)", n, ptr)}, nil
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	text := storable(string(msg))
	if text == "" {
		text = "call failed"
	}
	return &CallError{Kind: KindFailed, Message: text}, nil
}

// failure classifies an error of wazero (a trap, an exit, a closed module) during a call
// or an instantiation. in is the instance that failed, if any.
func (p *Plugin) failure(parent, callCtx context.Context, c *call, in *instance, prefix string, err error) *CallError {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return &CallError{Kind: KindCancelled, Message: prefix + ErrClosed.Error(), Err: errors.Join(ErrClosed, err)}
	}
	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	switch {
	case isExit && (exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded),
		callCtx.Err() != nil && !isExit:
		if parent.Err() != nil {
			return &CallError{Kind: KindCancelled, Message: prefix + "cancelled: " + context.Cause(parent).Error(), Err: err}
		}
		return &CallError{Kind: KindTimedOut, Message: fmt.Sprintf("%stimed out after %s", prefix, p.Limits.Timeout), Err: err}
	}
	msg := firstLine(err.Error())
	if isExit {
		msg = fmt.Sprintf("exited with code %d", exit.ExitCode())
	}
	if s := c.stderr.String(); s != "" {
		msg += " (stderr: " + storable(firstLines(s, 2)) + ")"
	}
	kind := KindTrapped
	if p.atStackLimit(in) {
		msg = fmt.Sprintf("stack overflow: the stack limit of %d bytes was reached (%s)", p.Limits.StackLimit, msg)
	}
	if p.atMemoryCap(in) || strings.Contains(c.stderr.String(), "out of memory") {
		kind = KindMemory
		msg = fmt.Sprintf("memory limit of %d bytes reached: %s", p.Limits.MemoryLimit, msg)
	}
	return &CallError{Kind: kind, Message: prefix + msg, Err: err}
}

// atMemoryCap reports whether an instance's memory is within the last eighth of its cap:
// most guests trap or exit when memory.grow fails, which, short of a hook on memory.grow,
// is how a host can tell that the cap was the cause.
func (p *Plugin) atMemoryCap(in *instance) bool {
	return in != nil && int64(in.mem.Size()) > p.Limits.MemoryLimit-p.Limits.MemoryLimit/8
}

// storable makes text that came from a guest fit a PostgreSQL text column, where the
// error message of a call is recorded: valid UTF-8 without NUL characters, each
// offending byte replaced by U+FFFD. PostgreSQL refuses anything else, and with it the
// call's outcome.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// firstLines keeps the first n non-empty lines of s, joined by " | ".
func firstLines(s string, n int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" && len(lines) < n {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}
