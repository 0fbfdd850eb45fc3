package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// heldCall is a call a killed host had claimed and not finished.
type heldCall struct {
	id          int64
	method      string
	label       string // of a record call, or of an echo call (from its identifier)
	attempt     int
	maxAttempts int
}

// slowSleep is how long the slow calls of TestCrash sleep: far longer than the test
// takes from their claim to its kill point (two hosts starting and running their first
// calls, a few seconds even on a loaded machine), so that they are surely running when
// the victim dies, however fast or slow the rest of the workload goes. It is not
// scaled with the workload: the kill point does not depend on it.
func slowSleep() time.Duration {
	if raceBuild {
		return time.Minute
	}
	return 20 * time.Second
}

// TestCrash kills one of three hosts with SIGKILL while it runs calls. The calls it
// held (claimed, unfinished) must be found by the survivors once their lease runs out
// and recorded as interrupted under the dead host's name, or run again by a survivor
// when they asked for retries; every other call must run exactly once; and nothing the
// killed host started may outlive it.
func TestCrash(t *testing.T) {
	n := scale(3_000, 30_000)
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	// The time limit covers the slow calls' sleep with time to spare on a loaded
	// machine; the claim lease is that limit plus the margin.
	sleep := slowSleep()
	opts := hostOptions{db: url, plugins: plugins, args: []string{
		"--sandbox.timeout=" + (sleep + 5*time.Second).String(), "--futureCall.claimLeaseMargin=1s"}}

	// The victim first takes six slow calls, half of them with attempts to spare, so
	// that it surely holds calls of both kinds when it dies.
	victim := s.start("victim", opts)
	victimID := victim.id()
	sleeps := make([]abi.ScheduleRequest, 6)
	for i := range sleeps {
		sleeps[i] = abi.ScheduleRequest{Plugin: "probe", Method: "sleep", Args: json.RawMessage(fmt.Sprintf(`{"ms": %d}`, sleep.Milliseconds()))}
		if i%2 == 0 {
			sleeps[i].Retry = &abi.RetryPolicy{MaxAttempts: 3, Backoff: "100ms"}
		}
	}
	slow := scheduleAll(t, []*client.Client{victim.client}, sleeps)
	waitFor(t, 30*time.Second, "the victim to claim the slow calls", func() (bool, string) {
		n := d.count("SELECT count(*) FROM future_call WHERE method = 'sleep' AND claimed_by = $1", victimID)
		return n == len(slow), fmt.Sprintf("%d of %d claimed by the victim", n, len(slow))
	})
	claimed := time.Now()

	// The record calls go in through the survivors while the hosts run them, so that
	// the kill point does not wait for a soak's scheduling to end (and no batch is
	// sent to the victim as it dies).
	survivors := []*host{s.start("survivor1", opts), s.start("survivor2", opts)}
	survivorIDs := map[string]bool{survivors[0].id(): true, survivors[1].id(): true}
	reqs, labels := recordRequests("k", n)
	for i := range reqs {
		if i%3 == 0 {
			reqs[i].Retry = &abi.RetryPolicy{MaxAttempts: 2, Backoff: "100ms"}
		}
	}
	scheduled := make(chan error, 1)
	go func() {
		_, err := schedule([]*client.Client{survivors[0].client, survivors[1].client}, reqs)
		scheduled <- err
	}()

	// Mid-run: every host has run record calls, and the victim still holds its slow
	// calls. They sleep far longer than it takes to get here; should they end first
	// all the same, the test says so rather than kill a victim that holds nothing.
	var slowHeld int
	waitFor(t, 2*time.Minute, "every host to run record calls while the victim holds its slow calls", func() (bool, string) {
		slowHeld = d.count("SELECT count(*) FROM future_call WHERE method = 'sleep' AND claimed_by = $1", victimID)
		ran := d.groups("SELECT host, count(*) FROM future_call_history WHERE method = 'record' GROUP BY 1")
		status := fmt.Sprintf("the victim holds %d of %d slow calls; record calls run per host: %v", slowHeld, len(slow), ran)
		if slowHeld < len(slow) {
			return true, status
		}
		return ran[victimID] > 0 && ran[survivors[0].id()] > 0 && ran[survivors[1].id()] > 0, status
	})
	if slowHeld < len(slow) {
		t.Fatalf("the slow calls (sleeping %s) ended %s after their claim, before every host ran record calls: the kill would find nothing to interrupt",
			sleep, time.Since(claimed).Round(time.Millisecond))
	}
	children := descendants(victim.cmd.Process.Pid)
	killedAt := time.Now()
	victim.signal(syscall.SIGKILL)
	if code := victim.wait(10 * time.Second); code != -1 || !strings.Contains(victim.state.String(), "killed") {
		t.Fatalf("victim exited with %v, want killed", victim.state)
	}
	atKill := heldCalls(t, d, victimID)
	recordsAtKill := d.count("SELECT count(*) FROM future_call_history WHERE method = 'record'")
	t.Logf("killed the victim %s after it claimed the slow calls (%d of %d record calls done), holding %d calls: %s",
		killedAt.Sub(claimed).Round(time.Millisecond), recordsAtKill, n, len(atKill), describeHeld(atKill))
	if len(atKill) < len(slow) {
		t.Fatalf("the victim held %d calls when killed, want at least the %d slow ones", len(atKill), len(slow))
	}
	if err := <-scheduled; err != nil {
		t.Fatal(err)
	}

	// Nothing of the victim lingers: no process it started, none in its group.
	waitFor(t, 10*time.Second, "the victim's descendants to exit", func() (bool, string) {
		var left []string
		for _, pid := range append(children, descendants(victim.cmd.Process.Pid)...) {
			if alive(pid) {
				left = append(left, fmt.Sprint(pid))
			}
		}
		if err := syscall.Kill(-victim.cmd.Process.Pid, 0); err == nil {
			left = append(left, "its process group")
		}
		return len(left) == 0, "still running: " + strings.Join(left, ", ")
	})

	// Every call finishes. The history holds a row per record and echo call, plus
	// the extra interrupted rows of the retried held calls.
	d.waitDrained(n, 3*time.Minute)
	reaped := time.Since(killedAt)

	// The calls the victim held: those it had claimed when it died, and those whose
	// claim it had asked for and PostgreSQL committed after its death (the server
	// finishes a statement whose client is gone). Each is recorded as interrupted
	// under its name by a survivor, then run again on a survivor when it had attempts
	// left.
	except := map[string]bool{}
	held := d.history("outcome = 'interrupted' AND host = $1", victimID)
	heldIDs := map[int64]bool{}
	for _, r := range held {
		heldIDs[r.CallID] = true
	}
	for _, c := range atKill {
		if !heldIDs[c.id] {
			t.Errorf("call %d (%s %s), claimed by the victim when it died, was not recorded as interrupted", c.id, c.method, c.label)
		}
	}
	if n := d.count("SELECT count(*) FROM future_call_history WHERE outcome = 'interrupted'"); n != len(held) {
		t.Errorf("%d calls were interrupted, %d of them held by the victim", n, len(held))
	}
	logged := echoes(append(survivors, victim)...)
	rerun := 0
	for _, first := range held {
		rows := d.history("call_id = $1", first.CallID)
		name := fmt.Sprintf("held call %d (%s %s, attempt %d)", first.CallID, first.Method, first.Label, first.Attempt)
		if rows[0].Outcome != "interrupted" || rows[0].Host != victimID || !strings.Contains(first.Error, "host "+victimID+" claimed the call") || !strings.Contains(first.Error, "found by host") {
			t.Errorf("%s: history %+v, want it first interrupted under the victim's name, found by a survivor", name, rows)
		}
		switch {
		case first.Retried && (len(rows) != 2 || rows[1].Outcome != "succeeded" || !survivorIDs[rows[1].Host]):
			t.Errorf("%s: history %+v, want interrupted then succeeded on a survivor", name, rows)
		case first.Retried:
			rerun++
		case len(rows) != 1:
			t.Errorf("%s, no attempts left: history %+v, want one interrupted row", name, rows)
		}
		// A record call run again echoes once; one that was not never echoes; an
		// echo call the victim held may have logged its line before it died, but
		// never twice (it has no attempts to spare).
		switch {
		case first.Method == "record" && !first.Retried:
			except[first.Label] = true
			if logged[first.Label] != 0 {
				t.Errorf("%s was interrupted, yet its follow-up echoed %d times", name, logged[first.Label])
			}
		case first.Method == "echo":
			except[first.Label] = true
			if logged[first.Label] > 1 {
				t.Errorf("%s echoed %d times", name, logged[first.Label])
			}
		}
	}
	reapers := 0
	for _, sv := range survivors {
		if len(sv.find("recorded calls of a host that died as interrupted")) > 0 {
			reapers++
		}
	}
	if reapers == 0 {
		t.Error("no survivor logged that it recorded the victim's calls as interrupted")
	}
	res := checkExactlyOnce(t, d, labels, except, append(survivors, victim)...)
	t.Logf("crash: 1 host killed (SIGKILL) holding %d calls (%d when it died, %d claimed in its last moment): all recorded as interrupted, %d of them run again (retries); other calls: %s; all finished %s after the kill",
		len(held), len(atKill), len(held)-len(atKill), rerun, res, reaped.Round(time.Millisecond))
}

// heldCalls returns the calls host id had claimed and not finished.
func heldCalls(t *testing.T, d *database, id string) []heldCall {
	t.Helper()
	rows, err := d.pool.Query(context.Background(), `SELECT id, method, coalesce(args->>'label', substr(identifier, 7), ''),
		attempt, max_attempts FROM future_call WHERE claimed_by = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []heldCall
	for rows.Next() {
		var c heldCall
		if err := rows.Scan(&c.id, &c.method, &c.label, &c.attempt, &c.maxAttempts); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func describeHeld(held []heldCall) string {
	count := map[string]int{}
	for _, c := range held {
		kind := c.method
		if c.attempt < c.maxAttempts {
			kind += " (retries left)"
		}
		count[kind]++
	}
	var parts []string
	for k, v := range count {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	return strings.Join(parts, ", ")
}

// TestCrashEmbedded kills, with SIGKILL, a host running its own embedded PostgreSQL:
// the database server and its processes must not outlive it, and a host started again
// on the same directory must find its calls there.
func TestCrashEmbedded(t *testing.T) {
	s := newSuite(t)
	// The server runs as another user when the tests run as root: let it in.
	if err := os.Chmod(s.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	first := s.start("embedded", hostOptions{plugins: plugins})
	call, err := first.client.Schedule(context.Background(), abi.ScheduleRequest{Plugin: "probe", Method: "echo",
		Args: json.RawMessage(`{"text": "after the crash"}`), Delay: "3s"})
	if err != nil {
		t.Fatal(err)
	}
	children := descendants(first.cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatal("the host runs no embedded database process")
	}
	first.signal(syscall.SIGKILL)
	first.wait(10 * time.Second)
	waitFor(t, 30*time.Second, "the embedded database to stop with its host", func() (bool, string) {
		var left []string
		for _, pid := range children {
			if alive(pid) {
				left = append(left, fmt.Sprint(pid))
			}
		}
		return len(left) == 0, fmt.Sprintf("%d of %d processes left: %s", len(left), len(children), strings.Join(left, " "))
	})

	second := s.start("embedded-again", hostOptions{plugins: plugins})
	second.waitLog("echo: after the crash", 30*time.Second)
	// The outcome is recorded by the completer a moment after the guest returns.
	waitFor(t, 30*time.Second, "the call scheduled before the crash to be recorded as one succeeded run", func() (bool, string) {
		entries, err := second.client.History(context.Background(), client.HistoryOptions{CallID: call.ID})
		if err != nil {
			return false, err.Error()
		}
		return len(entries.Entries) == 1 && entries.Entries[0].Outcome == "succeeded", fmt.Sprintf("history: %+v", entries.Entries)
	})
	t.Logf("embedded: %d database processes stopped with their killed host; the next host ran the stored call", len(children))
}
