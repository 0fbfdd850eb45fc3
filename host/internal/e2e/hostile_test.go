package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestHostilePlugins runs misbehaving calls through a running host, between good
// calls: each must end with a clear error in the history (or, for the floods, be cut
// down to the limits) while the good calls keep running and succeed exactly once and
// the host stays up. Invalid modules in the plugins directory are refused at load with
// their reason while the others load, and calls that try to reach files, environment
// variables, descriptors or the network get nothing.
func TestHostilePlugins(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)

	refused := map[string]string{ // file → part of the reason in the log
		"badmanifest.wasm": "not a valid JSON manifest",
		"cannotrun.wasm":   "does not export fc_invoke",
		"invalid.wasm":     "compile: ",
		"foreign.wasm":     "imports env.now: only fc and wasi_snapshot_preview1 may be imported",
	}
	files := []string{testplugins.Path(t, "probe"), testplugins.Path(t, "hostile"), testplugins.Path(t, "liar"),
		testplugins.Example(t, "example")}
	for file := range refused {
		files = append(files, testplugins.Path(t, strings.TrimSuffix(file, ".wasm")))
	}
	plugins := testplugins.DirWith(t, files...)

	// Something to find outside the sandbox: a file, an environment variable, a
	// listening socket, and another one the host inherits as its descriptor 3.
	secretFile := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secretFile, []byte("the password is swordfish\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var connections atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	// Not ln itself: once its File is taken, an Accept under way can keep its Close
	// waiting forever (it happened).
	inherited, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inherited.Close() })
	lnFile, err := inherited.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lnFile.Close() })

	// The hostile plugin's time limit stops its endless loops; its other calls (a
	// stack overflow, 200,000 lines of output) end well within it, even on a loaded
	// machine, unless the host runs under the race detector.
	hostileTimeout := "2s"
	if raceBuild {
		hostileTimeout = "20s"
	}
	config := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(config, []byte(`
sandbox:
  timeout: 30s
  maxFollowUps: 50
  plugins:
    hostile:
      memoryLimit: 16MiB
      timeout: `+hostileTimeout+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := s.start("host", hostOptions{db: url, plugins: plugins, files: []*os.File{lnFile},
		env:  []string{"E2E_SECRET=swordfish"},
		args: []string{"--config=" + config, "--futureCall.concurrencyLimit=4"}})

	// Load: the good plugins load, each bad one is refused with its reason.
	list, err := h.client.Plugins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if want := []string{"example", "hostile", "liar", "probe"}; !slices.Equal(names, want) {
		t.Errorf("loaded plugins %q, want %q", names, want)
	}
	notLoaded := map[string]string{}
	for _, l := range h.find("plugin not loaded") {
		notLoaded[filepath.Base(l.str("file"))] = l.str("error")
	}
	for file, want := range refused {
		if got := notLoaded[file]; !strings.Contains(got, want) {
			t.Errorf("%s: logged %q at load, want a refusal saying %q", file, got, want)
		}
	}

	type hostile struct {
		plugin, method, args string
		outcome              string
		errorHas             string // part of the history's error
	}
	hostiles := []hostile{
		{"hostile", "loop", `{}`, "timed_out", "timed out after " + hostileTimeout},
		{"hostile", "spin", `{}`, "timed_out", "timed out after " + hostileTimeout},
		{"hostile", "grow", `{}`, "failed", "memory limit of 16777216 bytes reached"},
		{"probe", "alloc", `{"mb": 1000}`, "failed", "memory limit of 67108864 bytes reached"},
		{"hostile", "recurse", `{}`, "failed", "stack overflow"},
		{"hostile", "trap", `{}`, "failed", "unreachable"},
		{"hostile", "flood", `{}`, "succeeded", ""},
		{"hostile", "spam", `{}`, "succeeded", ""},
		{"hostile", "exit", `{}`, "failed", "exited with code 3"},
		{"hostile", "badptr", `{}`, "failed", "fc_invoke returned an error message outside memory"},
		{"probe", "exit", `{"code": 7}`, "failed", "exited with code 7"},
		{"probe", "panic", `{"message": "boom"}`, "failed", "panic: boom"},
		{"liar", "ghost", `{}`, "failed", "liar: no call named ghost here"},
		// Text the database cannot store as it is, the call's failure recorded all the same.
		{"probe", "nul", `{"where": "error"}`, "failed", "nul\uFFFDbyte \uFFFD"},
		{"probe", "nul", `{"where": "schedule"}`, "failed", ""},
		{"probe", "nul", `{"where": "stderr"}`, "failed", "exited with code 5 (stderr: nul\uFFFDbyte \uFFFD)"},
		{"probe", "readFile", `{"path": "/etc/passwd"}`, "succeeded", ""},
		{"probe", "readFile", fmt.Sprintf(`{"path": %q}`, secretFile), "succeeded", ""},
		{"probe", "env", `{"name": "E2E_SECRET"}`, "succeeded", ""},
		{"probe", "dial", fmt.Sprintf(`{"address": %q}`, ln.Addr().String()), "succeeded", ""},
	}
	good, labels := recordRequests("h", scale(300, 3000))
	var reqs []abi.ScheduleRequest
	for i, g := range good {
		reqs = append(reqs, g)
		if i%10 == 0 {
			reqs = append(reqs, abi.ScheduleRequest{Plugin: "hostile", Method: "ok", Identifier: fmt.Sprintf("ok-%d", i)})
		}
		if j := i / (len(good) / len(hostiles)); i%(len(good)/len(hostiles)) == 0 && j < len(hostiles) {
			c := hostiles[j]
			reqs = append(reqs, abi.ScheduleRequest{Plugin: c.plugin, Method: c.method, Args: json.RawMessage(c.args),
				Identifier: fmt.Sprintf("hostile-%d", j)})
		}
	}
	start := time.Now()
	scheduleAll(t, []*client.Client{h.client}, reqs)

	// Every call and follow-up finishes: the spam's 50 follow-ups included.
	oks := 0
	for _, r := range reqs {
		if r.Method == "ok" {
			oks++
		}
	}
	d.waitDrained(len(reqs)+len(good)+50, 3*time.Minute)
	took := time.Since(start)
	if !h.running() {
		t.Fatal("the host died")
	}

	for j, c := range hostiles {
		rows := d.history("identifier = $1", fmt.Sprintf("hostile-%d", j))
		name := c.plugin + "." + c.method + " " + c.args
		if len(rows) != 1 {
			t.Errorf("%s: %d history rows, want 1: %+v", name, len(rows), rows)
			continue
		}
		r := rows[0]
		if r.Outcome != c.outcome || !strings.Contains(r.Error, c.errorHas) || (c.outcome != "succeeded" && r.Error == "") {
			t.Errorf("%s: %s %q, want %s with an error saying %q", name, r.Outcome, r.Error, c.outcome, c.errorHas)
		} else {
			t.Logf("%-40s %-10s %s", name, r.Outcome, r.Error)
		}
	}

	// The floods were held to their limits: the log got at most 64 KiB of flood
	// lines and a note that the output was truncated; the spam stopped at 50
	// follow-ups, which ran.
	floodLines, floodBytes := 0, 0
	for _, l := range h.lines() {
		if strings.HasPrefix(l.str("msg"), "flood flood") {
			floodLines++
			floodBytes += len(l.str("msg"))
		}
	}
	if floodBytes > 64<<10 || floodLines == 0 {
		t.Errorf("the flood reached the log as %d lines of %d bytes, want some, within 64 KiB", floodLines, floodBytes)
	}
	if n := len(h.find("output truncated")); n == 0 {
		t.Error(`no "output truncated" line for the flood`)
	}
	if n := d.count("SELECT count(*) FROM future_call_history WHERE plugin = 'hostile' AND method = 'ok' AND identifier IS NULL AND outcome = 'succeeded'"); n != 50 {
		t.Errorf("the spam's follow-ups: %d ran, want the 50 allowed", n)
	}
	if n := d.count("SELECT count(*) FROM future_call_history WHERE plugin = 'hostile' AND method = 'ok' AND identifier IS NOT NULL AND outcome = 'succeeded'"); n != oks {
		t.Errorf("%d of the %d good hostile.ok calls succeeded", n, oks)
	}
	if n := d.count("SELECT count(*) FROM future_call_history WHERE method = 'echo' AND args->>'text' LIKE 'nul%'"); n != 0 {
		t.Errorf("probe.nul's follow-up was stored and ran %d times, though its call failed", n)
	}

	// The sandbox probes got nothing.
	sandbox := map[string]string{}
	for _, l := range h.lines() {
		msg := l.str("msg")
		for _, p := range []string{"readFile", "env ", "dial"} {
			if strings.HasPrefix(msg, p) {
				sandbox[msg] = msg
				t.Logf("sandbox: %s", msg)
			}
		}
	}
	wantLines := []string{
		"readFile /etc/passwd: error ",
		"readFile " + secretFile + ": error ",
		"readFile: list /: error ",
		"readFile: list .: error ",
		`env E2E_SECRET: set=false value=""; 0 variables`,
		"dial " + ln.Addr().String() + ": error ",
		"dial: open descriptors []",
	}
	for _, want := range wantLines {
		found := false
		for msg := range sandbox {
			found = found || strings.HasPrefix(msg, want)
		}
		if !found {
			t.Errorf("no sandbox line starting %q", want)
		}
	}
	for msg := range sandbox {
		if strings.Contains(msg, "swordfish") || strings.Contains(msg, "root:") || strings.Contains(msg, "connected") {
			t.Errorf("a plugin reached outside its sandbox: %s", msg)
		}
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("the listener got %d connections from the plugin", n)
	}

	res := checkExactlyOnce(t, d, labels, nil, h)
	t.Logf("hostile: %d faults injected (%d hostile calls, 4 invalid modules) among %d good calls (%s) and %d good hostile.ok calls; all done in %s",
		len(hostiles)+len(refused), len(hostiles), len(good), res, oks, took.Round(time.Millisecond))
}
