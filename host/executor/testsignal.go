package executor

import "github.com/futurecalls/futurecalls/host/store"

// testSignal lets a test wait for a step of the executor instead of sleeping for it.
// It is off (nil) unless a test switches it on from export_test.go; off, signal is a
// nil check.
type testSignal[T any] struct{ ch chan T }

// testSignalBuffer is how many signals a test may leave unread before the executor
// panics: a test that switches a signal on must read it.
const testSignalBuffer = 1000

func (s *testSignal[T]) init() { s.ch = make(chan T, testSignalBuffer) }

func (s *testSignal[T]) signal(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
		panic("executor: test signal buffer full: the test does not read it")
	}
}

// testSignals are the steps a test can wait for.
type testSignals struct {
	// scanned: a scan for due calls ended, with how many calls it claimed (-1 when the
	// claim failed, 0 when none was due or no slot was free).
	scanned testSignal[int]
	// claimed: calls were claimed and are about to start.
	claimed testSignal[[]store.Call]
	// recorded: a batch of outcomes was written (those whose claim was lost
	// included), with how many it held.
	recorded testSignal[int]
}
