package plugin_test

import (
	"context"
	"testing"

	"github.com/futurecalls/futurecalls/host/plugin"
)

// countingState is a recorder that counts the state requests reaching HostCalls.
type countingState struct {
	recorder
	gets, puts, deletes int
}

func (c *countingState) StateGet(ctx context.Context, key string) ([]byte, bool, error) {
	c.gets++
	return c.recorder.StateGet(ctx, key)
}

func (c *countingState) StatePut(ctx context.Context, key string, value []byte) error {
	c.puts++
	return c.recorder.StatePut(ctx, key, value)
}

func (c *countingState) StateDelete(ctx context.Context, key string) error {
	c.deletes++
	return c.recorder.StateDelete(ctx, key)
}

// TestStateCalls: the state functions reach HostCalls, and the guest reads what it
// wrote: state.incr counts, state.own reads its own put back and then -4 after its
// delete.
func TestStateCalls(t *testing.T) {
	t.Parallel()
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "state"), "state")
	rec := &countingState{}
	for range 12 {
		invokeOK(t, p, "incr", "{}", rec, nil)
	}
	if got := string(rec.state["counter"]); got != "12" {
		t.Errorf("counter = %q after 12 increments, want 12", got)
	}
	invokeOK(t, p, "own", "{}", rec, nil) // fails with "step <n>" where an answer differs
	if _, ok := rec.state["mine"]; ok {
		t.Error("own deleted mine, but it is still there")
	}
}

// TestStateKeysChecked: keys that are empty, over 256 bytes, hold a NUL or are not
// UTF-8 are refused with -1 by all three functions before HostCalls sees them.
func TestStateKeysChecked(t *testing.T) {
	t.Parallel()
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "state"), "state")
	rec := &countingState{}
	invokeOK(t, p, "wrong", "{}", rec, nil) // fails with "step <n>" unless each is refused with -1
	if rec.gets+rec.puts+rec.deletes != 0 {
		t.Errorf("HostCalls saw %d gets, %d puts, %d deletes of bad keys, want none", rec.gets, rec.puts, rec.deletes)
	}
}

// TestStateLimits: a value over sandbox.state.valueLimit, writes over
// sandbox.state.writeLimit and reads over sandbox.state.maxReads are refused with -2,
// and what was refused never reaches HostCalls.
func TestStateLimits(t *testing.T) {
	t.Parallel()
	t.Run("Value", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "state"), "state")
		rec := &countingState{}
		invokeOK(t, p, "big", "{}", rec, nil) // 64 KiB + 1 must be refused with -2
		if rec.puts != 0 {
			t.Errorf("%d puts reached HostCalls, want 0", rec.puts)
		}
	})
	t.Run("Writes", func(t *testing.T) {
		t.Parallel()
		const limit = 100 << 10
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{StateWriteLimit: limit}, "state"), "state")
		rec := &countingState{}
		invokeOK(t, p, "flood", "{}", rec, nil) // 1 KiB values under 10-byte keys until -2
		if want := limit / (1024 + 10); rec.puts != want {
			t.Errorf("%d puts accepted, want %d", rec.puts, want)
		}
	})
	t.Run("Reads", func(t *testing.T) {
		t.Parallel()
		p := mustPlugin(t, loadPlugins(t, plugin.Limits{MaxStateReads: 25}, "state"), "state")
		rec := &countingState{}
		invokeOK(t, p, "loop", "{}", rec, nil) // reads until -2
		if rec.gets != 25 {
			t.Errorf("%d reads reached HostCalls, want 25", rec.gets)
		}
	})
	if d := plugin.DefaultLimits(); d.StateValueLimit != 64<<10 || d.StateWriteLimit != 1<<20 || d.StateKeyLimit != 10000 ||
		d.MaxStateReads != plugin.DefaultMaxStateReads {
		t.Errorf("default state limits %+v, want those of abi/README.md", d)
	}
}
