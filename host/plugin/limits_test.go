package plugin_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// allocatedDuring returns the bytes the Go heap handed out while f ran (wazero keeps
// tables and the guest's call stack there). Only tests that do not run in parallel
// use it, so that other tests' allocations do not count.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestTableBomb: a guest growing its table (declared without a maximum) by 2^27
// elements gets -1 from table.grow, as memory.grow answers beyond the memory limit, and
// the host allocates nothing for it; an instance whose table grew within the limit is
// not returned to the pool.
func TestTableBomb(t *testing.T) {
	reg := loadPlugins(t, plugin.Limits{TableLimit: 1000}, "tablebomb")
	p := mustPlugin(t, reg, "tablebomb")
	var err error
	allocated := allocatedDuring(func() {
		err = p.Invoke(context.Background(), envelope("tablebomb", "bomb", "{}"), nil, nil)
	})
	if err != nil {
		t.Fatalf("bomb: %v", err)
	}
	if allocated > 16<<20 {
		t.Errorf("the host allocated %d bytes during the bomb, want under 16 MiB", allocated)
	}

	capt, log := newCapture()
	invokeOK(t, p, "small", "{}", nil, log)
	invokeOK(t, p, "size", "{}", nil, log)
	capt.want(t, "table size 4")
}

// TestTableLimitAtLoad: a module whose table starts above the table limit is refused,
// naming the table and the limit.
func TestTableLimitAtLoad(t *testing.T) {
	dir := testplugins.DirWith(t, testplugins.Path(t, "tablebomb"))
	reg := load(t, plugin.Config{Dir: dir, Defaults: plugin.Limits{TableLimit: 3}}, nil)
	problems := reg.Problems()
	if len(problems) != 1 {
		t.Fatalf("problems %v, want the table refused", problems)
	}
	if want := "table 0 starts with 4 elements, more than the table limit of 3"; !strings.Contains(problems[0].Error(), want) {
		t.Errorf("problem %q, want it to say %q", problems[0], want)
	}
}

// TestStackLimit: recursion traps with the stack-limit error, whatever its frames
// (small, 300 live locals, through call_indirect), and the host's memory for the
// call's stack stays within the documented bound (4 × StackLimit, package doc); calls
// within the budget succeed again and again on warm instances, so the budget in use
// returns to zero after each call.
func TestStackLimit(t *testing.T) {
	const limit = 1 << 20
	reg := loadPlugins(t, plugin.Limits{StackLimit: limit, Timeout: time.Minute}, "recurse")
	p := mustPlugin(t, reg, "recurse")
	for _, method := range []string{"plain", "locals", "indirect"} {
		t.Run(method, func(t *testing.T) {
			var err error
			allocated := allocatedDuring(func() {
				err = p.Invoke(context.Background(), envelope("recurse", method, "{}"), nil, nil)
			})
			t.Logf("%s: the host allocated %d KiB during the call", method, allocated>>10)
			if allocated > 4*limit+(1<<20) {
				t.Errorf("the host allocated %d bytes during the call, want at most 4 × %d + 1 MiB", allocated, limit)
			}
			wantKind(t, err, plugin.KindTrapped, "stack overflow: the stack limit of 1048576 bytes was reached")
		})
	}
	for range 1000 {
		invokeOK(t, p, "shallow", "{}", nil, nil)
	}
}
