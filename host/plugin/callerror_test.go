package plugin_test

import (
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// Each way a call fails is recorded as one history outcome; trapped and memory failures
// are failures, their message says which.
func TestKindOutcome(t *testing.T) {
	for kind, want := range map[plugin.Kind]abi.Outcome{
		plugin.KindFailed:    abi.OutcomeFailed,
		plugin.KindTrapped:   abi.OutcomeFailed,
		plugin.KindMemory:    abi.OutcomeFailed,
		plugin.KindTimedOut:  abi.OutcomeTimedOut,
		plugin.KindCancelled: abi.OutcomeInterrupted,
		plugin.KindBroken:    abi.OutcomeBroken,
	} {
		if got := kind.Outcome(); got != want {
			t.Errorf("%s: %s, want %s", kind, got, want)
		}
	}
}
