package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// bombFigures is what the memory bomb child process measured, in bytes of resident
// memory (VmRSS, and VmHWM reset before each phase through /proc/self/clear_refs).
type bombFigures struct {
	Limit      int64 // the plugin's memory limit
	Before     int64 // resident before any bomb
	OnePeak    int64 // peak while one bomb ran
	FourPeak   int64 // peak while four bombs ran at once
	RoundsPeak int64 // peak over eleven rounds of four bombs at once
	After      int64 // resident once the bombs' instances were discarded
}

// bombChildEnv makes the test binary, run again by TestMemoryBomb, the child that
// measures.
const bombChildEnv = "FC_MEMORY_BOMB_CHILD"

// TestMemoryBomb: a guest that grows its memory to the cap costs the host at most about
// the cap, not a multiple of it, and the memory goes back to the operating system as
// soon as the instance is discarded. Two bombs: membomb.fill writes into every page it
// gets, hostile.grow grows without writing (then traps). The figures come from a child
// process (this test binary run again), whose peak resident memory no other test
// inflates.
//
// The bound: n bombs at once hold n × the limit of guest memory; on top of it the
// margin allows 24 MiB per bomb (wazero's per-instance structures, the goroutine, the
// allocations of the call) and 32 MiB for the process (the Go heap's growth and the
// race detector's shadow of it while the calls run). Before the mmap-backed memory, a
// bomb cost about 4 × the limit (growth copied the Go slice; the old copies waited for
// the garbage collector) and the memory came back minutes later.
func TestMemoryBomb(t *testing.T) {
	t.Parallel()
	for _, bomb := range []string{"membomb.fill", "hostile.grow"} {
		t.Run(bomb, func(t *testing.T) {
			t.Parallel()
			f := bombChild(t, bomb)
			mib := func(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
			t.Logf("%s: limit %s; resident before %s; peak above it: one bomb %s, four at once %s, eleven rounds of four %s; after %s",
				bomb, mib(f.Limit), mib(f.Before), mib(f.OnePeak-f.Before), mib(f.FourPeak-f.Before), mib(f.RoundsPeak-f.Before), mib(f.After))
			bound := func(n int64) int64 { return n*(f.Limit+24<<20) + 32<<20 }
			for _, c := range []struct {
				name  string
				bombs int64
				peak  int64
			}{{"one bomb", 1, f.OnePeak}, {"four bombs at once", 4, f.FourPeak}, {"eleven rounds of four", 4, f.RoundsPeak}} {
				if got := c.peak - f.Before; got > bound(c.bombs) {
					t.Errorf("%s raised the peak by %s, want at most %s", c.name, mib(got), mib(bound(c.bombs)))
				}
			}
			if got := f.After - f.Before; got > 32<<20 {
				t.Errorf("resident memory stayed %s above where it was before the bombs, want at most 32 MiB", mib(got))
			}
		})
	}
}

// bombChild runs TestMemoryBombChild in a new process with bomb ("plugin.method") and
// returns its figures.
func bombChild(t *testing.T, bomb string) bombFigures {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryBombChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), bombChildEnv+"="+bomb)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if _, rest, ok := strings.Cut(strings.TrimSpace(line), "figures: "); ok {
			var f bombFigures
			if err := json.Unmarshal([]byte(rest), &f); err != nil {
				t.Fatalf("child figures %q: %v", rest, err)
			}
			return f
		}
	}
	t.Fatalf("the child reported no figures:\n%s", out)
	return bombFigures{}
}

// TestMemoryBombChild is the child process of TestMemoryBomb; it does nothing when run
// by the test binary itself.
func TestMemoryBombChild(t *testing.T) {
	bomb := os.Getenv(bombChildEnv)
	if bomb == "" {
		return
	}
	name, method, _ := strings.Cut(bomb, ".")
	const limit = 64 << 20
	p := mustPlugin(t, loadPlugins(t, plugin.Limits{MemoryLimit: limit}, name), name)
	bombs := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				err := p.Invoke(context.Background(), envelope(name, method, "{}"), nil, nil)
				if ce := (*plugin.CallError)(nil); err != nil && !(errors.As(err, &ce) && ce.Kind == plugin.KindMemory) {
					t.Errorf("%s: %v, want success or a failure at the memory limit", bomb, err)
				}
			})
		}
		wg.Wait()
	}
	f := bombFigures{Limit: limit, Before: status(t, "VmRSS")}
	resetPeak(t)
	bombs(1)
	f.OnePeak = status(t, "VmHWM")
	resetPeak(t)
	bombs(4)
	f.FourPeak = status(t, "VmHWM")
	resetPeak(t)
	for range 11 {
		bombs(4)
	}
	f.RoundsPeak = status(t, "VmHWM")
	f.After = status(t, "VmRSS")
	data, _ := json.Marshal(f)
	t.Logf("figures: %s", data)
}

// status reads a field of /proc/self/status in bytes ("VmRSS", "VmHWM").
func status(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// resetPeak makes VmHWM start again from the current resident memory.
func resetPeak(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak resident memory: %v", err)
	}
}

// signalHandler is a slog handler that closes logged when the first line is logged.
type signalHandler struct {
	once   *sync.Once
	logged chan struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(context.Context, slog.Record) error {
	h.once.Do(func() { close(h.logged) })
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestCloseUnderRunningGuest: closing the registry while a guest writes to its memory
// stops the call; the guest's memory, which lives outside the Go heap, is released only
// after the call ended (unmapping it under the guest would crash the host).
func TestCloseUnderRunningGuest(t *testing.T) {
	t.Parallel()
	reg, err := plugin.Load(context.Background(), plugin.Config{
		Dir: testplugins.DirWith(t, testplugins.Path(t, "membomb")), CacheDir: testplugins.CacheDir(t),
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlugin(t, reg, "membomb")
	logged := make(chan struct{})
	log := slog.New(signalHandler{once: &sync.Once{}, logged: logged})
	done := make(chan error)
	go func() { done <- p.Invoke(context.Background(), envelope("membomb", "churn", "{}"), nil, log) }()
	<-logged // the guest runs, and writes to its memory from now on
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // close at once, under the running call
	if err := reg.Close(ctx); err == nil {
		t.Error("Close with a call running and no time to wait: want an error")
	}
	wantKind(t, <-done, plugin.KindCancelled, "plugin registry closed")
}
