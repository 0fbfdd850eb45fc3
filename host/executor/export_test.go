package executor

import (
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// Signals lets a test wait for the steps of an executor.
type Signals struct{ s *testSignals }

// EnableSignals switches on e's test signals; call it before Run.
func EnableSignals(e *Executor) *Signals {
	e.testSignals.scanned.init()
	e.testSignals.claimed.init()
	e.testSignals.recorded.init()
	return &Signals{&e.testSignals}
}

// signalTimeout bounds a wait for a signal: far beyond any step's time on a loaded
// machine, so that only a step that never comes fails the test.
const signalTimeout = 60 * time.Second

func wait[T any](t testing.TB, what string, s *testSignal[T]) T {
	t.Helper()
	select {
	case v := <-s.ch:
		return v
	case <-time.After(signalTimeout):
		t.Fatalf("no %s signal within %s", what, signalTimeout)
		panic("unreachable")
	}
}

// drain forgets the signals sent so far.
func drain[T any](s *testSignal[T]) {
	for {
		select {
		case <-s.ch:
		default:
			return
		}
	}
}

// Scans forgets the scans so far, then waits for the next n and returns how many calls
// each claimed.
func (s *Signals) Scans(t testing.TB, n int) []int {
	t.Helper()
	drain(&s.s.scanned)
	claimed := make([]int, n)
	for i := range claimed {
		claimed[i] = wait(t, "scanned", &s.s.scanned)
	}
	return claimed
}

// Scanned waits for the first scan not yet read, and returns how many calls it claimed.
func (s *Signals) Scanned(t testing.TB) int {
	t.Helper()
	return wait(t, "scanned", &s.s.scanned)
}

// Claimed waits for the next claim of one or more calls and returns them.
func (s *Signals) Claimed(t testing.TB) []store.Call {
	t.Helper()
	return wait(t, "claimed", &s.s.claimed)
}

// Recorded waits for the next batch of outcomes written and returns its size.
func (s *Signals) Recorded(t testing.TB) int {
	t.Helper()
	return wait(t, "recorded", &s.s.recorded)
}
