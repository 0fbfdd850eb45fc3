package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// footprintPlugins are the 10 plugins the P5 host loads: the two benchmark plugins,
// whose sleep(ms) holds calls in flight, and eight of the examples, so that every
// language is loaded (three Go, two C, two Rust, two AssemblyScript, one WAT).
var footprintPlugins = []string{
	cNoop.file, goNoop.file,
	"plugins/example.wasm", "plugins/drip.wasm", "plugins/example_c.wasm", "plugins/example_rust.wasm",
	"plugins/drip_rust.wasm", "plugins/example_as.wasm", "plugins/drip_as.wasm", "plugins/example_wat.wasm",
}

// footprint is one P5 row: the RSS of a host process with the 10 plugins loaded, idle
// (the baseline) and with calls in flight.
type footprint struct {
	mix      string // which calls are in flight
	inFlight int
	idle     int64 // VmRSS in bytes with nothing running
	busy     int64 // the largest VmRSS seen with every call in flight
	idlePSS  int64 // Pss with nothing running
	busyPSS  int64 // Pss in the sample of busy
	peak     int64 // VmHWM at the end: the peak of the whole process, loading included
}

// inFlightMix says how many sleep calls of each benchmark plugin a P5 row holds in flight.
type inFlightMix struct {
	label             string
	cSleeps, goSleeps int
}

// measureFootprint starts bin/host (monolith, unlimited concurrency) for each mix, on a
// fresh database and a plugins directory of footprintPlugins, schedules the mix's
// sleep calls through its REST API and reads the process's /proc status while all of
// them run.
func (e *env) measureFootprint(ctx context.Context) ([]footprint, error) {
	dir, err := e.linkPlugins(footprintPlugins...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	mixes := []inFlightMix{
		{"64 C sleeps", 64, 0},
		{"32 C + 32 Go sleeps", 32, 32},
		{"64 Go sleeps", 0, 64},
	}
	// A first start compiles the plugins into the cache, as a host's first start does;
	// the measured starts load them from it.
	if _, err := e.hostFootprint(ctx, dir, inFlightMix{label: "warm-up"}); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	var out []footprint
	for _, m := range mixes {
		f, err := e.hostFootprint(ctx, dir, m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.label, err)
		}
		e.log.Info("P5 footprint", slog.String("mix", f.mix), slog.Int64("idle MiB", f.idle>>20),
			slog.Int64("busy MiB", f.busy>>20), slog.Int64("idle PSS MiB", f.idlePSS>>20),
			slog.Int64("busy PSS MiB", f.busyPSS>>20), slog.Int64("peak MiB", f.peak>>20))
		out = append(out, f)
	}
	return out, nil
}

// sleepMS is how long each in-flight call sleeps: long enough to measure, short enough
// to wait for.
const sleepMS = 4000

func (e *env) hostFootprint(ctx context.Context, pluginsDir string, m inFlightMix) (footprint, error) {
	f := footprint{mix: m.label, inFlight: m.cSleeps + m.goSleeps}
	url, drop, err := e.srv.database(ctx)
	if err != nil {
		return f, err
	}
	defer drop()
	host, err := e.startHost(ctx, url, pluginsDir, nil, "FC_FUTURECALL_CONCURRENCYLIMIT=-1")
	if err != nil {
		return f, err
	}
	defer host.stop()
	pool, err := openPool(ctx, url, 1)
	if err != nil {
		return f, err
	}
	defer pool.Close()
	cl, pid := host.client, host.cmd.Process.Pid
	if f.inFlight == 0 {
		return f, nil
	}
	time.Sleep(time.Second) // let the start-up settle
	if f.idle, _, err = procMemory(pid); err != nil {
		return f, err
	}
	if f.idlePSS, err = procPSS(pid); err != nil {
		return f, err
	}
	var reqs []abi.ScheduleRequest
	for i := range f.inFlight {
		plugin := cNoop.name
		if i >= m.cSleeps {
			plugin = goNoop.name
		}
		reqs = append(reqs, abi.ScheduleRequest{Plugin: plugin, Method: "sleep", Args: []byte(`{"ms": ` + strconv.Itoa(sleepMS) + `}`)})
	}
	if _, err := cl.ScheduleBatch(ctx, reqs); err != nil {
		return f, err
	}
	// Sample while every call is in flight: claimed, and not yet finished.
	deadline := time.Now().Add(sleepMS * time.Millisecond)
	for time.Now().Before(deadline) {
		var running int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM future_call WHERE claimed_by IS NOT NULL").Scan(&running); err != nil {
			return f, err
		}
		if running == f.inFlight {
			rss, _, err := procMemory(pid)
			if err != nil {
				return f, err
			}
			pss, err := procPSS(pid)
			if err != nil {
				return f, err
			}
			if rss > f.busy {
				f.busy, f.busyPSS = rss, pss
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f.busy == 0 {
		return f, fmt.Errorf("never saw %d calls in flight", f.inFlight)
	}
	_, f.peak, err = procMemory(pid)
	return f, err
}

// environWithout is the harness's environment less the variables starting with prefix:
// the host's configuration comes from the harness alone.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady waits until the host answers /readyz.
func waitReady(ctx context.Context, cl *client.Client, exited <-chan error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("the host exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := cl.Plugins(ctx); err == nil {
			return nil
		}
	}
	return fmt.Errorf("the host did not answer within 2 minutes")
}

// procMemory reads VmRSS and VmHWM of a process, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// procPSS reads the proportional set size of a process (Pss in /proc/<pid>/smaps_rollup),
// in bytes: its resident pages, each shared page divided among the mappings that map
// it. VmRSS counts a page once per mapping, even when one process maps it many times,
// as a host does with the memory image its instances share (host/plugin's
// memoryImage); Pss counts it once, as the kernel charges it to the process's cgroup.
func procPSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			f := strings.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no Pss in /proc/%d/smaps_rollup", pid)
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
