package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// memoryBudget is the most resident memory a host may use while it runs calls, whatever
// its guests do: what it holds when started and warm (baseline, measured in the same
// run, which includes its warm pools), plus, for each call it may run at once
// (concurrency), the budget of one call that host/plugin/doc.go documents
// (plugin.Limits.CallBudget) for the default limits with memoryLimit, and one table.
func memoryBudget(baseline int64, concurrency int, memoryLimit int64) int64 {
	l := plugin.DefaultLimits()
	l.MemoryLimit = memoryLimit
	return baseline + int64(concurrency)*l.CallBudget(1)
}

// memoryFigures are a process's resident set sizes, in bytes.
type memoryFigures struct {
	// rss is VmRSS: resident now.
	rss int64
	// hwm is VmHWM: the peak resident size since the process started, or since the
	// peak was last reset (resetPeak).
	hwm int64
}

func (m memoryFigures) String() string {
	return fmt.Sprintf("RSS %s, peak %s", mib(m.rss), mib(m.hwm))
}

// memoryOf reads the resident set sizes of process pid from /proc/<pid>/status.
func memoryOf(pid int) (memoryFigures, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memoryFigures{}, err
	}
	var m memoryFigures
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var into *int64
		switch string(name) {
		case "VmRSS":
			into = &m.rss
		case "VmHWM":
			into = &m.hwm
		default:
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(value), []byte("kB")))), 10, 64)
		if err != nil {
			return memoryFigures{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		*into = kb << 10
	}
	if m.rss == 0 || m.hwm == 0 {
		return memoryFigures{}, fmt.Errorf("/proc/%d/status holds no VmRSS and VmHWM", pid)
	}
	return m, nil
}

// resetPeak sets the peak resident size (VmHWM) of process pid back to its current
// resident size (Linux: "5" to /proc/<pid>/clear_refs), so that the peak read later is
// the peak since now, not the start-up's.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// memoryWatch samples a host's resident size while a test runs, so that the test can
// report the peak while the work ran as well as after it.
type memoryWatch struct {
	h    *host
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples int
	maxRSS  int64
	err     error
}

// watchMemory starts sampling h's resident size every 50 ms until stop.
func watchMemory(h *host) *memoryWatch {
	w := &memoryWatch{h: h, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			m, err := memoryOf(h.cmd.Process.Pid)
			w.mu.Lock()
			if err != nil && h.running() {
				w.err = err
			}
			if err == nil {
				w.samples++
				w.maxRSS = max(w.maxRSS, m.rss)
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// finish stops sampling and returns the largest resident size sampled and how many
// samples were taken; it fails the test when the host's figures could not be read.
func (w *memoryWatch) finish(t testing.TB) (maxRSS int64, samples int) {
	t.Helper()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("read the memory of host %s: %v", w.h.name, w.err)
	}
	return w.maxRSS, w.samples
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// TestHostileMemoryBudget runs the attacks on the host's memory (memoryAttacks: memory
// bombs, deep recursion) round after round, side by side at the host's concurrency with
// good calls, on a host with the default sandbox limits. The host's peak resident size
// (VmHWM) from the end of its warm-up on must stay within memoryBudget, and every good
// call must succeed.
func TestHostileMemoryBudget(t *testing.T) {
	const concurrency = 4
	const memoryLimit = 64 << 20
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	attacks := memoryAttacks(hostileAttacks(attackLimits{hostileMemory: memoryLimit, probeMemory: memoryLimit}, "", ""))
	h := s.start("host", hostOptions{db: url, plugins: testplugins.DirWith(t, attackPlugins(t, attacks)...),
		args: []string{fmt.Sprintf("--futureCall.concurrencyLimit=%d", concurrency),
			fmt.Sprintf("--sandbox.memoryLimit=%d", memoryLimit), "--sandbox.timeout=30s"}})

	warm, warmLabels := recordRequests("w", 50)
	baseline := warmUp(t, d, h, warm)
	budget := memoryBudget(baseline.rss, concurrency, memoryLimit)
	rounds := scale(4, 12)
	good, labels := recordRequests("g", scale(300, 3000))
	reqs := attackQueue(attacks, rounds, good)
	watch := watchMemory(h)
	start := time.Now()
	scheduleAll(t, []*client.Client{h.client}, reqs)
	d.waitDrained(2*len(warm)+len(reqs)+len(good), 3*time.Minute)
	took := time.Since(start)
	sampled, samples := watch.finish(t)
	if !h.running() {
		t.Fatal("the host died")
	}
	after, err := memoryOf(h.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	checkAttacks(t, d, attacks, rounds)
	checkAlongside(t, d, attacks, rounds)
	res := checkExactlyOnce(t, d, append(warmLabels, labels...), nil, h)
	t.Logf("memory budget: warm host %s; %d rounds of %d memory attacks beside %s in %s; RSS sampled while they ran up to %s (%d samples); after: %s; peak %.2f× the warm RSS; budget %s = %s + %d × %s per call (plugin.Limits.CallBudget, memory limit %s)",
		baseline, rounds, len(attacks), res, took.Round(time.Millisecond), mib(sampled), samples, after,
		float64(after.hwm)/float64(baseline.rss), mib(budget), mib(baseline.rss), concurrency, mib((budget-baseline.rss)/concurrency), mib(memoryLimit))
	if after.hwm > budget {
		t.Errorf("the host's peak resident size under attack was %s, over its budget of %s (%.2f× the budget)",
			mib(after.hwm), mib(budget), float64(after.hwm)/float64(budget))
	}
}
