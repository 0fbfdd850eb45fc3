package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// storeCalls schedules reqs through a serverless host (which runs nothing) and stops
// it, leaving the calls stored for a command to look at.
func storeCalls(t *testing.T, s *suite, url, plugins string, reqs []abi.ScheduleRequest) []client.Call {
	t.Helper()
	h := s.start("scheduler", hostOptions{db: url, plugins: plugins, args: []string{"--role=serverless"}})
	calls := scheduleAll(t, []*client.Client{h.client}, reqs)
	h.signal(syscall.SIGTERM)
	if code := h.wait(30 * time.Second); code != 0 {
		t.Fatalf("the serverless host exited with %d on SIGTERM, want 0", code)
	}
	return calls
}

// req makes a schedule request.
func req(plugin, method, args string, delay string) abi.ScheduleRequest {
	return abi.ScheduleRequest{Plugin: plugin, Method: method, Args: json.RawMessage(args), Delay: delay}
}

// unavailableMsg is the warning of calls whose plugin is not loaded here.
const unavailableMsg = "future calls unavailable here: they wait for a host that has their plugin"

// TestMaintenanceRole runs `host run --role maintenance` against stored calls, some of
// them broken (their plugin is gone): it checks them, logs one warning per group of
// broken calls and exits 0, without serving the API or running the calls that are due.
// Their plugin is only missing here, so deleteBrokenCalls leaves them; with
// deleteUnavailableCalls it moves them into the history as deleted_broken.
func TestMaintenanceRole(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	probe, example := testplugins.Path(t, "probe"), testplugins.Example(t, "example")
	storeCalls(t, s, url, testplugins.DirWith(t, probe, example), []abi.ScheduleRequest{
		req("probe", "echo", `{"text": "due now"}`, ""),
		req("probe", "echo", `{"text": "due later"}`, "1h"),
		req("example", "doWork", `{}`, "1h"),
		req("example", "doWork", `{}`, "2h"),
		req("example", "doOtherWork", `{"data": "x"}`, "1h"),
	})
	onlyProbe := testplugins.DirWith(t, probe)

	tests := []struct {
		name    string
		args    []string
		stored  int      // calls stored afterwards
		deleted int      // deleted_broken rows in the history afterwards
		logs    []string // messages the run logs
	}{
		{"check", nil, 5, 0, []string{unavailableMsg, "checked stored calls: none is broken, some are unavailable here", "maintenance done"}},
		// Calls whose plugin is only missing here are never deleted as broken ...
		{"delete broken", []string{"--deleteBrokenCalls=true"}, 5, 0, []string{unavailableMsg, "checked stored calls: none is broken, some are unavailable here", "maintenance done"}},
		// ... only when the operator says so.
		{"delete unavailable", []string{"--deleteUnavailableCalls=true"}, 2, 3, []string{unavailableMsg, "checked stored calls: none is broken, some are unavailable here", "maintenance done"}},
		{"nothing broken", nil, 2, 3, []string{"checked stored calls: none is broken", "maintenance done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, stderr, code := s.run(2*time.Minute, hostOptions{db: url, plugins: onlyProbe}, "run", append([]string{"--role=maintenance"}, tt.args...)...)
			took := time.Since(start)
			if code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr)
			}
			lines := parseLines(stderr)
			var msgs []string
			for _, l := range lines {
				msgs = append(msgs, l.str("msg"))
				if l.str("msg") == unavailableMsg {
					if l.str("level") != "WARN" || l.str("plugin") != "example" || l.str("kind") != string(check.PluginMissing) {
						t.Errorf("broken calls logged as %v, want a warning of plugin example, kind %s", l, check.PluginMissing)
					}
				}
				if strings.HasPrefix(l.str("msg"), "API listening") || strings.HasPrefix(l.str("msg"), "echo: ") {
					t.Errorf("the maintenance role served or ran something: %v", l)
				}
			}
			for _, want := range tt.logs {
				if !slices.Contains(msgs, want) {
					t.Errorf("no log line %q; logged %q", want, msgs)
				}
			}
			if n := d.count("SELECT count(*) FROM future_call"); n != tt.stored {
				t.Errorf("%d calls stored, want %d", n, tt.stored)
			}
			if n := d.count("SELECT count(*) FROM future_call_history WHERE outcome = 'deleted_broken' AND plugin = 'example' AND error LIKE '%example%'"); n != tt.deleted {
				t.Errorf("%d deleted_broken history rows naming the plugin, want %d", n, tt.deleted)
			}
			if n := d.count("SELECT count(*) FROM future_call_history WHERE outcome <> 'deleted_broken'"); n != 0 {
				t.Errorf("%d calls ran", n)
			}
			t.Logf("maintenance (%s): exit 0 after %s", tt.name, took.Round(time.Millisecond))
		})
	}
}

// TestPreDeployCheck runs `host check --plugins DIR` against stored calls with
// candidate plugin directories: the same plugins (exit 0), a next version of the probe
// plugin that removed a call and changed a parameter's type (exit 3), one without the
// example plugin (exit 3), and checks that cannot be done (exit 1). The JSON report on
// stdout says what would break; the stored calls are left alone.
func TestPreDeployCheck(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	probe, example := testplugins.Path(t, "probe"), testplugins.Example(t, "example")
	current := testplugins.DirWith(t, probe, example)
	var reqs []abi.ScheduleRequest
	for i := range 3 {
		reqs = append(reqs,
			req("probe", "echo", fmt.Sprintf(`{"text": "%d"}`, i), "1h"),
			req("probe", "record", fmt.Sprintf(`{"label": "l%d"}`, i), "1h"),
			req("probe", "fail", `{"message": "m"}`, "1h"),
			req("example", "doWork", `{}`, "1h"),
			req("example", "doOtherWork", `{"data": "d"}`, "1h"))
	}
	calls := storeCalls(t, s, url, current, reqs)
	ids := map[string][]int64{}
	for _, c := range calls {
		ids[c.Plugin+"."+c.Method] = append(ids[c.Plugin+"."+c.Method], c.ID)
	}

	type group struct {
		call    string
		kind    check.Kind
		pointer string // of the first violation, for args_mismatch
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		broken int64
		groups []group
	}{
		{"same plugins", []string{"--plugins", current}, check.ExitOK, 0, nil},
		{"next probe", []string{"--plugins", testplugins.DirWith(t, testplugins.Path(t, "probe_v2"), example)}, check.ExitBroken, 6,
			[]group{{"probe.fail", check.MethodMissing, ""}, {"probe.record", check.ArgsMismatch, "/label"}}},
		{"example removed", []string{"--plugins", testplugins.DirWith(t, probe)}, check.ExitBroken, 0,
			[]group{{"example.doOtherWork", check.PluginMissing, ""}, {"example.doWork", check.PluginMissing, ""}}},
		{"database unreachable", []string{"--plugins", current, fmt.Sprintf("--database.url=postgres://nobody:x@127.0.0.1:%d/none?connect_timeout=5", freePort(t))},
			check.ExitError, 0, nil},
		{"candidate directory missing", []string{"--plugins", t.TempDir() + "/missing"}, check.ExitError, 0, nil},
		{"no candidate directory", nil, check.ExitError, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			stdout, stderr, code := s.run(2*time.Minute, hostOptions{db: url, plugins: current}, "check", tt.args...)
			took := time.Since(start)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.code == check.ExitError {
				if strings.TrimSpace(stdout) != "" {
					t.Errorf("a check that could not be done printed a report:\n%s", stdout)
				}
				if strings.TrimSpace(stderr) == "" {
					t.Error("a check that could not be done said nothing on stderr")
				}
				t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), tailLines([]byte(stderr), 1))
				return
			}
			var r check.Report
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout)
			}
			if r.Checked != int64(len(calls)) || r.Broken != tt.broken || r.Deleted != 0 || len(r.Groups) != len(tt.groups) {
				t.Errorf("report: checked %d, broken %d, deleted %d, %d groups; want %d, %d, 0, %d\n%s",
					r.Checked, r.Broken, r.Deleted, len(r.Groups), len(calls), tt.broken, len(tt.groups), stdout)
			}
			if r.Groups == nil {
				t.Error(`"groups" is null, want a list`)
			}
			for i, want := range tt.groups {
				if i >= len(r.Groups) {
					break
				}
				g := r.Groups[i]
				if g.Plugin+"."+g.Method != want.call || g.Kind != want.kind || g.Count != 3 ||
					!slices.Equal(g.SampleIDs, ids[want.call]) || g.Reason == "" {
					t.Errorf("group %d: %+v, want %s %s with 3 calls %v and a reason", i, g, want.call, want.kind, ids[want.call])
				}
				if want.pointer != "" && (len(g.Violations) == 0 || g.Violations[0].Pointer != want.pointer) {
					t.Errorf("group %s: violations %+v, want one at %s", want.call, g.Violations, want.pointer)
				}
			}
			t.Logf("exit %d after %s: %d checked, %d broken in %d groups", code, took.Round(time.Millisecond), r.Checked, r.Broken, len(r.Groups))
		})
	}
	// The check looked and touched nothing.
	if n := d.count("SELECT count(*) FROM future_call"); n != len(calls) {
		t.Errorf("%d calls stored after the checks, want the %d scheduled", n, len(calls))
	}
	if n := d.count("SELECT count(*) FROM future_call_history"); n != 0 {
		t.Errorf("the checks wrote %d history rows", n)
	}
}

// TestExecutionOff schedules calls that are due at once on a serverless host and on a
// monolith with futureCallExecutionEnabled=false: both accept them and run nothing.
// A monolith started afterwards runs them all.
func TestExecutionOff(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	off := []*host{
		s.start("serverless", hostOptions{db: url, plugins: plugins, args: []string{"--role=serverless"}}),
		s.start("disabled", hostOptions{db: url, plugins: plugins, args: []string{"--futureCallExecutionEnabled=false"}}),
	}
	var labels []string
	for i, h := range off {
		reqs, l := recordRequests(fmt.Sprintf("x%d-", i), 50)
		scheduleAll(t, []*client.Client{h.client}, reqs)
		labels = append(labels, l...)
		h.waitLog("future call execution is off on this host", 5*time.Second)
	}
	if n := d.count("SELECT count(*) FROM future_call WHERE claimed_by IS NULL AND run_at <= now()"); n != len(labels) {
		t.Errorf("%d due calls waiting, want all %d", n, len(labels))
	}

	// Whether the hosts that run nothing took a call, before the monolith started or
	// while it ran, the history says: it names the host of every run.
	runner := s.start("monolith", hostOptions{db: url, plugins: plugins})
	d.waitDrained(2*len(labels), time.Minute)
	for _, h := range off {
		if n := d.count("SELECT count(*) FROM future_call_history WHERE host = $1", h.id()); n != 0 {
			t.Errorf("host %s ran %d calls, want none", h.name, n)
		}
		if n := len(echoes(h)); n != 0 {
			t.Errorf("host %s echoed %d calls, want none", h.name, n)
		}
	}
	res := checkExactlyOnce(t, d, labels, nil, append(off, runner)...)
	t.Logf("execution off: %d calls scheduled on hosts that run nothing stayed waiting; then %s on a monolith", len(labels), res)
}

// TestGracefulShutdown sends SIGTERM to a host running calls. Within the shutdown
// grace, the running calls finish and are recorded; past it, they are interrupted
// (and put back when they have attempts left). Either way the host exits 0 and leaves
// no call claimed.
func TestGracefulShutdown(t *testing.T) {
	tests := []struct {
		name  string
		grace string
		ms    int
		// want: outcome of the calls without and with attempts to spare
		once, retried string
	}{
		{"calls finish within the grace", "30s", 1500, "succeeded", "succeeded"},
		{"grace runs out", "500ms", 60_000, "interrupted", "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := testdb.URL(t)
			d := openDatabase(t, url)
			s := newSuite(t)
			h := s.start("host", hostOptions{db: url, plugins: testplugins.DirWith(t, testplugins.Path(t, "probe")),
				args: []string{"--futureCall.shutdownGrace=" + tt.grace, "--sandbox.timeout=2m"}})
			var reqs []abi.ScheduleRequest
			for i := range 4 {
				r := req("probe", "sleep", fmt.Sprintf(`{"ms": %d}`, tt.ms), "")
				if i%2 == 1 {
					r.Retry = &abi.RetryPolicy{MaxAttempts: 3, Backoff: "1h"}
				}
				reqs = append(reqs, r)
			}
			calls := scheduleAll(t, []*client.Client{h.client}, reqs)
			waitFor(t, 30*time.Second, "the calls to be claimed", func() (bool, string) {
				n := d.count("SELECT count(*) FROM future_call WHERE claimed_by IS NOT NULL")
				return n == len(calls), fmt.Sprintf("%d claimed", n)
			})
			time.Sleep(200 * time.Millisecond) // the calls are in the guest
			start := time.Now()
			h.signal(syscall.SIGTERM)
			if code := h.wait(time.Minute); code != 0 {
				t.Errorf("exit code %d after SIGTERM, want 0", code)
			}
			took := time.Since(start)
			h.waitLog("stopped", time.Second)
			if n := d.count("SELECT count(*) FROM future_call WHERE claimed_by IS NOT NULL"); n != 0 {
				t.Errorf("%d calls left claimed by a host that stopped", n)
			}
			for i, c := range calls {
				rows := d.history("call_id = $1", c.ID)
				want := tt.once
				if i%2 == 1 {
					want = tt.retried
				}
				if len(rows) != 1 || rows[0].Outcome != want {
					t.Errorf("call %d (retries: %t): history %+v, want one %s row", c.ID, i%2 == 1, rows, want)
					continue
				}
				// A call with attempts to spare is put back for another host.
				retried := i%2 == 1 && want == "interrupted"
				if rows[0].Retried != retried {
					t.Errorf("call %d: retry recorded %t, want %t", c.ID, rows[0].Retried, retried)
				}
				stored := d.count("SELECT count(*) FROM future_call WHERE id = $1 AND claimed_by IS NULL", c.ID)
				if (stored == 1) != retried {
					t.Errorf("call %d: stored %d times after the shutdown, want it stored only when put back", c.ID, stored)
				}
			}
			t.Logf("SIGTERM with grace %s: exit 0 after %s, no call left claimed", tt.grace, took.Round(time.Millisecond))
		})
	}
}
