package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// attack is one hostile call and how the host must end it.
type attack struct {
	// plugin is the plugin's name, which is also its module's name in
	// host/internal/testplugins.
	plugin, method, args string
	// outcome is the history's outcome; errorHas is part of its error.
	outcome, errorHas string
	// memory marks an attack on the host's memory: TestHostileMemoryBudget runs it
	// too, against the host's memory budget.
	memory bool
}

func (a attack) String() string { return a.plugin + "." + a.method + " " + a.args }

// attackLimits are the sandbox limits of the host under attack that the attacks'
// errors name.
type attackLimits struct {
	hostileMemory, probeMemory int64
	hostileTimeout             string
}

// hostileAttacks is the end-to-end suite's table of attacks: a new hostile module is
// one line here. secretFile and listener are what the sandbox probes try to reach.
func hostileAttacks(l attackLimits, secretFile, listener string) []attack {
	return []attack{
		{"hostile", "loop", `{}`, "timed_out", "timed out after " + l.hostileTimeout, false},
		{"hostile", "spin", `{}`, "timed_out", "timed out after " + l.hostileTimeout, false},
		{"hostile", "grow", `{}`, "failed", fmt.Sprintf("memory limit of %d bytes reached", l.hostileMemory), true},
		{"probe", "alloc", `{"mb": 1000}`, "failed", fmt.Sprintf("memory limit of %d bytes reached", l.probeMemory), true},
		{"hostile", "recurse", `{}`, "failed", "stack overflow", true},
		{"hostile", "trap", `{}`, "failed", "unreachable", false},
		{"hostile", "flood", `{}`, "succeeded", "", false},
		{"hostile", "spam", `{}`, "succeeded", "", false},
		{"hostile", "exit", `{}`, "failed", "exited with code 3", false},
		{"hostile", "badptr", `{}`, "failed", "fc_invoke returned an error message outside memory", false},
		{"probe", "exit", `{"code": 7}`, "failed", "exited with code 7", false},
		{"probe", "panic", `{"message": "boom"}`, "failed", "panic: boom", false},
		{"liar", "ghost", `{}`, "failed", "liar: no call named ghost here", false},
		// Text the database cannot store as it is, the call's failure recorded all the same.
		{"probe", "nul", `{"where": "error"}`, "failed", "nul\uFFFDbyte \uFFFD", false},
		{"probe", "nul", `{"where": "schedule"}`, "failed", "", false},
		{"probe", "nul", `{"where": "stderr"}`, "failed", "exited with code 5 (stderr: nul\uFFFDbyte \uFFFD)", false},
		{"probe", "readFile", `{"path": "/etc/passwd"}`, "succeeded", "", false},
		{"probe", "readFile", fmt.Sprintf(`{"path": %q}`, secretFile), "succeeded", "", false},
		{"probe", "env", `{"name": "E2E_SECRET"}`, "succeeded", "", false},
		{"probe", "dial", fmt.Sprintf(`{"address": %q}`, listener), "succeeded", "", false},
	}
}

// memoryAttacks returns the attacks on the host's memory.
func memoryAttacks(attacks []attack) []attack {
	var out []attack
	for _, a := range attacks {
		if a.memory {
			out = append(out, a)
		}
	}
	return out
}

// attackPlugins returns the modules of the plugins the attacks call, probe included
// (the good calls' plugin).
func attackPlugins(t testing.TB, attacks []attack) []string {
	t.Helper()
	names := []string{"probe"}
	for _, a := range attacks {
		names = append(names, a.plugin)
	}
	slices.Sort(names)
	var files []string
	for _, name := range slices.Compact(names) {
		files = append(files, testplugins.Path(t, name))
	}
	return files
}

// attackID is the identifier of attack j in round r.
func attackID(round, j int) string { return fmt.Sprintf("attack-%d-%d", round, j) }

// attackQueue returns the calls to schedule, in the order the host claims them: in each
// of rounds, every attack followed by one good call, then the rest of the good calls.
// The attacks so run side by side, each beside good calls, and the good calls go on
// while the longest attacks run.
func attackQueue(attacks []attack, rounds int, goods []abi.ScheduleRequest) []abi.ScheduleRequest {
	var out []abi.ScheduleRequest
	next := 0
	for r := range rounds {
		for j, a := range attacks {
			out = append(out, abi.ScheduleRequest{Plugin: a.plugin, Method: a.method, Args: json.RawMessage(a.args), Identifier: attackID(r, j)})
			if next < len(goods) {
				out = append(out, goods[next])
				next++
			}
		}
	}
	return append(out, goods[next:]...)
}

// checkAttacks checks that every attack of every round ended as it must, one history
// row each, and logs how each ended.
func checkAttacks(t *testing.T, d *database, attacks []attack, rounds int) {
	t.Helper()
	for r := range rounds {
		for j, a := range attacks {
			rows := d.history("identifier = $1", attackID(r, j))
			if len(rows) != 1 {
				t.Errorf("%s (round %d): %d history rows, want 1: %+v", a, r+1, len(rows), rows)
				continue
			}
			row := rows[0]
			if row.Outcome != a.outcome || !strings.Contains(row.Error, a.errorHas) || (a.outcome != "succeeded" && row.Error == "") {
				t.Errorf("%s (round %d): %s %q, want %s with an error saying %q", a, r+1, row.Outcome, row.Error, a.outcome, a.errorHas)
			} else if r == 0 {
				t.Logf("%-40s %-10s %s", a, row.Outcome, row.Error)
			}
		}
	}
}

// checkAlongside checks, from the history's run times, that the attacks ran side by
// side with good calls (probe.record), and logs how many good calls ran beside each
// attack and how many attacks ran at once at most.
func checkAlongside(t *testing.T, d *database, attacks []attack, rounds int) {
	t.Helper()
	beside := d.groups(`SELECT a.identifier, count(g.id) FROM future_call_history a
		LEFT JOIN future_call_history g ON g.method = 'record' AND g.started_at < a.finished_at AND g.finished_at > a.started_at
		WHERE a.identifier LIKE 'attack-%' GROUP BY 1`)
	atOnce := d.count(`SELECT coalesce(max(n), 0) FROM (SELECT count(b.id) AS n FROM future_call_history a
		JOIN future_call_history b ON b.identifier LIKE 'attack-%' AND b.started_at <= a.started_at AND b.finished_at > a.started_at
		WHERE a.identifier LIKE 'attack-%' GROUP BY a.id) AS at_once`)
	total, withGood := 0, 0
	var parts []string
	for j, a := range attacks {
		n := 0
		for r := range rounds {
			n += beside[attackID(r, j)]
		}
		total += n
		if n > 0 {
			withGood++
		}
		parts = append(parts, fmt.Sprintf("%s.%s %d", a.plugin, a.method, n))
	}
	t.Logf("good calls that ran beside each attack (%d rounds): %s; %d of %d attacks beside good calls; up to %d attacks at once",
		rounds, strings.Join(parts, ", "), withGood, len(attacks), atOnce)
	if total == 0 {
		t.Error("no good call ran beside an attack: the attacks did not run alongside good calls")
	}
}

// warmUp runs the good calls warm through h until every one is done, so that its pools
// and heap are as a working host's, then returns its memory and resets its peak: the
// baseline of its memory budget.
func warmUp(t *testing.T, d *database, h *host, warm []abi.ScheduleRequest) memoryFigures {
	t.Helper()
	before := d.count("SELECT count(*) FROM future_call_history")
	scheduleAll(t, []*client.Client{h.client}, warm)
	d.waitDrained(before+2*len(warm), time.Minute)
	m, err := memoryOf(h.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := resetPeak(h.cmd.Process.Pid); err != nil {
		t.Fatalf("reset the peak memory of host %s: %v", h.name, err)
	}
	return m
}
