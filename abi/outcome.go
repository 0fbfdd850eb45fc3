package abi

import "slices"

// Outcome is how one attempt of a call ended, or why a call left the schedule without
// running: the history records one per entry, and the API reports and filters by it. It
// is named once, here, for the host, its API and the client SDK.
type Outcome string

// The outcomes, as stored in the history and written in the API.
const (
	// OutcomeSucceeded: the call returned without an error; its follow-ups were stored.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed: the guest returned an error, trapped or ran out of memory.
	OutcomeFailed Outcome = "failed"
	// OutcomeTimedOut: the call ran longer than its plugin's time limit.
	OutcomeTimedOut Outcome = "timed_out"
	// OutcomeInterrupted: the host stopped, or died and another host found the call's
	// lease run out, before the call finished.
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomeBroken: the call cannot run: its plugin has no such method any more, or
	// the arguments do not fit its signature. It is not retried.
	OutcomeBroken Outcome = "broken"
	// OutcomeDeletedBroken: the call was deleted without running because it was broken.
	OutcomeDeletedBroken Outcome = "deleted_broken"
	// OutcomeCancelled: the call was cancelled before it ran.
	OutcomeCancelled Outcome = "cancelled"
)

// Outcomes returns every Outcome, in the order the API documents them.
func Outcomes() []Outcome {
	return []Outcome{OutcomeSucceeded, OutcomeFailed, OutcomeTimedOut, OutcomeInterrupted, OutcomeBroken,
		OutcomeDeletedBroken, OutcomeCancelled}
}

// Valid reports whether o is one of Outcomes.
func (o Outcome) Valid() bool { return slices.Contains(Outcomes(), o) }
