package store

import (
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// Outcome is the result of one attempt of a claimed call.
type Outcome struct {
	// ID and Attempt identify the claim; the outcome is dropped when the claim was lost.
	ID      int64
	Attempt int
	// Plugin and Method name the call, for the caller's metrics and logs; Complete
	// does not read them.
	Plugin, Method string
	// Kind is abi.OutcomeSucceeded, OutcomeFailed, OutcomeTimedOut, OutcomeInterrupted
	// or OutcomeBroken.
	Kind       abi.Outcome
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// RetryAt, when set, puts the call back in the schedule for another attempt
	// instead of removing it.
	RetryAt *time.Time
	// HTTPRequests is how many fc.http requests the attempt made, refused ones included.
	HTTPRequests int
	// PluginVersion is the version of the plugin the attempt ran on; empty when it
	// did not run.
	PluginVersion string
	// Effects are the follow-up calls and cancellations the call asked for, applied in
	// order, only if it succeeded.
	Effects []Effect
	// State, when set on a success, holds the call's writes to its plugin's state,
	// committed with the outcome unless a key it read has changed (see Complete).
	State *StateCommit
}

// Attempt names one attempt of a call, which is one claim of it: a reap ends the claim,
// and the next claim is the next attempt. Outcomes are matched to the schedule by
// attempt, never by call id alone, so that an attempt whose claim was reaped cannot
// commit effects on the strength of a later attempt's claim.
type Attempt struct {
	ID      int64
	Attempt int
}

// attemptOf is the attempt o is the outcome of.
func attemptOf(o Outcome) Attempt { return Attempt{ID: o.ID, Attempt: o.Attempt} }

// Effect is one fc.schedule, fc.cancel or fc.publish request of a call: one of
// Schedule, CancelIdentifier and Publish is set.
type Effect struct {
	Schedule         *NewCall
	CancelIdentifier string
	Publish          *NewMessage
}
