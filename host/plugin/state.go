package plugin

import (
	"bytes"
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/futurecalls/futurecalls/abi"
)

// StateCalls is what a running call may ask of its plugin's state (fc.state_get,
// fc.state_put, fc.state_delete); the executor implements it per call, as part of
// HostCalls. Keys reach it checked by [abi.CheckStateKey], values within the limits.
// An error makes the host function return -3 (-1 when it wraps ErrInvalidRequest), its
// message being what the guest's fc.last_error reads.
type StateCalls interface {
	// StateGet returns the value under key as the call sees it: its own writes so far,
	// else the committed state. found is false when the key has no value.
	StateGet(ctx context.Context, key string) (value []byte, found bool, err error)
	// StatePut keeps the write of value under key for when the call succeeds. value
	// belongs to the callee from then on.
	StatePut(ctx context.Context, key string, value []byte) error
	// StateDelete keeps the deletion of key's value for when the call succeeds.
	StateDelete(ctx context.Context, key string) error
}

// hostStateGet is fc.state_get(ptr, len) -> i64: the length of the value (kept for
// fc.result), or -4 when the key has none. Every request counts against
// Limits.MaxStateReads, refused ones included, as fc.schedule's do against
// MaxFollowUps: a guest looping on reads runs into the limit rather than flooding the
// database.
func hostStateGet(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		stack[0] = api.EncodeI64(abi.ScheduleHostError)
		return
	}
	defer guard(c, abi.HostStateGet, stack, true)
	if c.stateReads >= c.limits.MaxStateReads {
		stack[0] = c.refuse(abi.ScheduleLimit, "at most %d state reads per call (sandbox.state.maxReads), refused ones included",
			c.limits.MaxStateReads)
		return
	}
	c.stateReads++
	key, refusal := c.stateKey(mod, stack[0], stack[1])
	if refusal != 0 {
		stack[0] = refusal
		return
	}
	value, found, err := c.host.StateGet(c.ctx, key)
	switch {
	case err != nil:
		stack[0] = c.hostError(err)
	case !found:
		c.result = nil
		stack[0] = c.refuse(abi.NotFound, "no value under key %q", key)
	default:
		stack[0] = c.produce(value)
	}
}

// hostStatePut is fc.state_put(kptr, klen, vptr, vlen) -> i64: 0 once the write is kept
// for the call's success. A value over Limits.StateValueLimit, or one that would bring
// the call's writes over Limits.StateWriteLimit, is refused with -2.
func hostStatePut(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		stack[0] = api.EncodeI64(abi.ScheduleHostError)
		return
	}
	defer guard(c, abi.HostStatePut, stack, true)
	key, refusal := c.stateKey(mod, stack[0], stack[1])
	if refusal != 0 {
		stack[0] = refusal
		return
	}
	value, ok := mod.Memory().Read(uint32(stack[2]), uint32(stack[3]))
	switch {
	case !ok:
		stack[0] = c.refuse(abi.ScheduleInvalid, "the value is outside memory")
		return
	case int64(len(value)) > c.limits.StateValueLimit:
		stack[0] = c.refuse(abi.ScheduleLimit, "a state value is at most %d bytes (sandbox.state.valueLimit): this one has %d",
			c.limits.StateValueLimit, len(value))
		return
	}
	stack[0] = c.stateWrite(int64(len(key)+len(value)), func() error {
		return c.host.StatePut(c.ctx, key, bytes.Clone(value))
	})
}

// hostStateDelete is fc.state_delete(ptr, len) -> i64: 0 once the deletion is kept for
// the call's success. Its key counts against Limits.StateWriteLimit.
func hostStateDelete(ctx context.Context, mod api.Module, stack []uint64) {
	c := callFrom(ctx)
	if c == nil {
		stack[0] = api.EncodeI64(abi.ScheduleHostError)
		return
	}
	defer guard(c, abi.HostStateDelete, stack, true)
	key, refusal := c.stateKey(mod, stack[0], stack[1])
	if refusal != 0 {
		stack[0] = refusal
		return
	}
	stack[0] = c.stateWrite(int64(len(key)), func() error { return c.host.StateDelete(c.ctx, key) })
}

// stateKey reads and checks a key the guest passes, and whether the host can serve
// state requests at all; a non-zero refusal is the code to answer instead.
func (c *call) stateKey(mod api.Module, ptr, length uint64) (key string, refusal uint64) {
	data, ok := mod.Memory().Read(uint32(ptr), uint32(length))
	if !ok {
		return "", c.refuse(abi.ScheduleInvalid, "the key is outside memory")
	}
	// At most one byte beyond the limit is copied: enough for the check to refuse it.
	key = string(data[:min(len(data), abi.MaxStateKeyBytes+1)])
	if err := abi.CheckStateKey(key); err != nil {
		return "", c.refuse(abi.ScheduleInvalid, "%s", err.Error())
	}
	if c.host == nil {
		return "", c.refuse(abi.ScheduleHostError, "not available")
	}
	return key, 0
}

// stateWrite counts n bytes of a write against Limits.StateWriteLimit and, within it,
// hands the write to the host: the answer is 0 or the refusal's code.
func (c *call) stateWrite(n int64, write func() error) uint64 {
	if c.stateWritten+n > c.limits.StateWriteLimit {
		return c.refuse(abi.ScheduleLimit, "at most %d bytes of state writes per call (sandbox.state.writeLimit): "+
			"this one of %d bytes would bring the call's to %d", c.limits.StateWriteLimit, n, c.stateWritten+n)
	}
	if err := write(); err != nil {
		return c.hostError(err)
	}
	c.stateWritten += n
	return api.EncodeI64(0)
}
