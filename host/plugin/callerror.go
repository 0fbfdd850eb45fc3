package plugin

import (
	"errors"
	"fmt"

	"github.com/futurecalls/futurecalls/abi"
)

// Kind classifies why a call failed.
type Kind int

// The kinds of CallError.
const (
	// KindFailed: the guest returned an error message.
	KindFailed Kind = iota + 1
	// KindTrapped: the guest trapped (unreachable, out-of-bounds access, stack
	// overflow) or called WASI proc_exit.
	KindTrapped
	// KindTimedOut: the call ran longer than the plugin's time limit.
	KindTimedOut
	// KindCancelled: the caller's context ended (shutdown) or the registry closed.
	KindCancelled
	// KindMemory: the guest failed at its memory cap (it trapped or exited with its
	// memory at the cap, or said it ran out of memory).
	KindMemory
	// KindBroken: the call cannot run: the plugin has no such method or the arguments
	// do not fit its signature (Err is then a *signature.Error). No guest code ran.
	KindBroken
)

var kindNames = map[Kind]string{
	KindFailed: "failed", KindTrapped: "trapped", KindTimedOut: "timed out",
	KindCancelled: "cancelled", KindMemory: "memory", KindBroken: "broken",
}

// String names the kind.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Outcome is the history outcome of a call that failed with this kind. Trapped and
// memory failures are recorded as failed: the message says which.
func (k Kind) Outcome() abi.Outcome {
	switch k {
	case KindTimedOut:
		return abi.OutcomeTimedOut
	case KindCancelled:
		return abi.OutcomeInterrupted
	case KindBroken:
		return abi.OutcomeBroken
	default:
		return abi.OutcomeFailed
	}
}

// CallError is why a call did not succeed.
type CallError struct {
	Kind Kind
	// Message says what happened, on one line: the guest's own error message for
	// KindFailed.
	Message string
	// Err is the underlying error, if any (a wazero trap with its stack trace, a
	// *signature.Error, a context error).
	Err error
}

// Error is "<kind>: <message>".
func (e *CallError) Error() string { return e.Kind.String() + ": " + e.Message }

// Unwrap returns Err.
func (e *CallError) Unwrap() error { return e.Err }

// ErrClosed is the Err of a call refused because the registry is closed.
var ErrClosed = errors.New("plugin registry closed")
