package executor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
)

// withFollowUps is a successful outcome whose follow-ups carry n bytes of arguments each.
func withFollowUps(count, n int) store.Outcome {
	o := store.Outcome{Kind: abi.OutcomeSucceeded}
	args := json.RawMessage(`{"text":"` + strings.Repeat("x", n) + `"}`)
	for range count {
		o.Effects = append(o.Effects, store.Effect{Schedule: &store.NewCall{Plugin: "p", Method: "m", Args: args, Identifier: "id"}})
	}
	return o
}

func TestOutcomeBytesCountsEffects(t *testing.T) {
	t.Parallel()
	bare := outcomeBytes(store.Outcome{Kind: abi.OutcomeSucceeded})
	big := outcomeBytes(withFollowUps(3, 1<<20))
	if bare <= 0 || big < bare+3*(1<<20) || big > bare+3*(1<<20+1024) {
		t.Errorf("outcomeBytes: bare %d, with 3 follow-ups of 1 MiB %d; want about %d more", bare, big, 3<<20)
	}
	cancel := outcomeBytes(store.Outcome{Effects: []store.Effect{{CancelIdentifier: strings.Repeat("i", 1000)}}})
	if cancel < bare+1000 {
		t.Errorf("outcomeBytes of a cancel of a 1000-byte identifier = %d, want at least %d", cancel, bare+1000)
	}
	payload := json.RawMessage(`{"text":"` + strings.Repeat("x", 1<<20) + `"}`)
	delivery := store.NewCall{Plugin: "p", Method: "m", Args: payload}
	msg := outcomeBytes(store.Outcome{Effects: []store.Effect{{Publish: &store.NewMessage{Topic: "t", Payload: payload,
		Deliveries: []store.NewCall{delivery, delivery, delivery}}}}})
	if msg < bare+4*(1<<20) {
		t.Errorf("outcomeBytes of a 1 MiB message to 3 subscribers = %d, want at least %d (the payload and each delivery's copy)", msg, bare+4<<20)
	}
}

func TestBatchesAreBoundedInBytesAndCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		queue []store.Outcome
		want  []int // batch lengths, in order
	}{
		{"small outcomes: maxBatch at a time", repeat(store.Outcome{Kind: abi.OutcomeSucceeded}, maxBatch+10), []int{maxBatch, 10}},
		{"1 MiB follow-ups: three per batch", repeat(withFollowUps(1, 1<<20), 7), []int{3, 3, 1}},
		{"an outcome over the cap goes alone", []store.Outcome{withFollowUps(5, 1<<20), withFollowUps(1, 10)}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			for q := tt.queue; len(q) > 0; {
				n := batchLen(q)
				var bytes int64
				for _, o := range q[:n] {
					bytes += outcomeBytes(o)
				}
				if n > 1 && bytes > maxBatchBytes {
					t.Errorf("a batch of %d outcomes holds %d bytes, more than %d", n, bytes, maxBatchBytes)
				}
				got, q = append(got, n), q[n:]
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batches %v, want %v", got, tt.want)
			}
		})
	}
}

func repeat(o store.Outcome, n int) []store.Outcome {
	out := make([]store.Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}
