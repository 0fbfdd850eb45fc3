package plugin_test

import (
	"context"
	"testing"

	"github.com/futurecalls/futurecalls/host/plugin"
)

// TestBufferLimit: the bytes of a call's accepted follow-ups are bounded by
// Limits.BufferLimit, whatever the count limit allows; beyond it fc.schedule answers -2
// and fc.last_error names the budget.
func TestBufferLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{BufferLimit: limit}, "bufferbomb"), "bufferbomb")
	rec := &recorder{}
	err := p.Invoke(context.Background(), envelope("bufferbomb", "fill", "{}"), rec, nil)
	// bufferbomb fails with the reason of the refusal.
	wantKind(t, err, plugin.KindFailed, "at most 1048576 bytes of follow-ups and cancellations per call (sandbox.bufferLimit)")
	var kept int
	for _, r := range rec.scheduled {
		kept += len(r)
	}
	if len(rec.scheduled) != limit/(64<<10) || kept > limit {
		t.Errorf("%d follow-ups of %d bytes in all accepted, want %d (64 KiB each, at most %d bytes)",
			len(rec.scheduled), kept, limit/(64<<10), limit)
	}

	// The default leaves room for a follow-up with the largest arguments (1 MiB).
	if plugin.DefaultLimits().BufferLimit < 2<<20 {
		t.Errorf("default buffer limit %d: a follow-up with 1 MiB of arguments would not fit", plugin.DefaultLimits().BufferLimit)
	}
}

// TestCancelIdentifierChecked: fc.cancel refuses with -1 the identifiers the REST API
// refuses (invalid UTF-8, a NUL, more than 256 bytes) and the empty one, before
// HostCalls, hence the database, sees them.
func TestCancelIdentifierChecked(t *testing.T) {
	t.Parallel()
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{}, "cancelbad"), "cancelbad")
	rec := &recorder{}
	invokeOK(t, p, "bad", "{}", rec, nil) // cancelbad fails when one is not refused with -1
	if len(rec.cancelled) != 0 {
		t.Errorf("HostCalls.Cancel got %q, want nothing", rec.cancelled)
	}
}

// TestRefusedRequestsCount: refused fc.cancel and fc.schedule requests count against
// the per-call request limit, so a guest cannot make the host work in a loop of refused
// requests for its whole time limit.
func TestRefusedRequestsCount(t *testing.T) {
	t.Parallel()
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{MaxFollowUps: 10}, "cancelbad"), "cancelbad")
	// cancelbad.loop sends a bad identifier until it is refused with -2 instead of -1.
	invokeOK(t, p, "loop", "{}", &recorder{}, nil)
}
