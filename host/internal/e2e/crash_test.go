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
	// The claim lease is the plugin time limit plus the margin: 8 s.
	opts := hostOptions{db: url, plugins: plugins, args: []string{"--sandbox.timeout=7s", "--futureCall.claimLeaseMargin=1s"}}

	// The victim first takes six slow calls, half of them with attempts to spare, so
	// that it surely holds calls of both kinds when it dies.
	victim := s.start("victim", opts)
	victimID := victim.id()
	sleeps := make([]abi.ScheduleRequest, 6)
	for i := range sleeps {
		sleeps[i] = abi.ScheduleRequest{Plugin: "probe", Method: "sleep", Args: json.RawMessage(`{"ms": 6000}`)}
		if i%2 == 0 {
			sleeps[i].Retry = &abi.RetryPolicy{MaxAttempts: 3, Backoff: "100ms"}
		}
	}
	slow := scheduleAll(t, []*client.Client{victim.client}, sleeps)
	waitFor(t, 30*time.Second, "the victim to claim the slow calls", func() (bool, string) {
		n := d.count("SELECT count(*) FROM future_call WHERE method = 'sleep' AND claimed_by = $1", victimID)
		return n == len(slow), fmt.Sprintf("%d of %d claimed by the victim", n, len(slow))
	})

	survivors := []*host{s.start("survivor1", opts), s.start("survivor2", opts)}
	reqs, labels := recordRequests("k", n)
	for i := range reqs {
		if i%3 == 0 {
			reqs[i].Retry = &abi.RetryPolicy{MaxAttempts: 2, Backoff: "100ms"}
		}
	}
	scheduleAll(t, []*client.Client{victim.client, survivors[0].client, survivors[1].client}, reqs)

	// Mid-run: a third of the records done, and the victim holding calls.
	waitFor(t, 2*time.Minute, "a third of the calls to run", func() (bool, string) {
		done := d.count("SELECT count(*) FROM future_call_history WHERE method = 'record'")
		return done >= n/3, fmt.Sprintf("%d of %d record calls done", done, n)
	})
	children := descendants(victim.cmd.Process.Pid)
	killedAt := time.Now()
	victim.signal(syscall.SIGKILL)
	if code := victim.wait(10 * time.Second); code != -1 || !strings.Contains(victim.state.String(), "killed") {
		t.Fatalf("victim exited with %v, want killed", victim.state)
	}
	held := heldCalls(t, d, victimID)
	t.Logf("killed the victim holding %d calls: %s", len(held), describeHeld(held))
	if len(held) < len(slow) {
		t.Fatalf("the victim held %d calls when killed, want at least the %d slow ones", len(held), len(slow))
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

	// The held calls: interrupted under the victim's name, by a survivor; run again
	// on a survivor when they had attempts left.
	except := map[string]bool{}
	survivorIDs := map[string]bool{survivors[0].id(): true, survivors[1].id(): true}
	interrupted, rerun := 0, 0
	for _, c := range held {
		rows := d.history("call_id = $1", c.id)
		if len(rows) == 0 {
			t.Errorf("held call %d (%s %s): no history", c.id, c.method, c.label)
			continue
		}
		first := rows[0]
		if first.Outcome != "interrupted" || first.Host != victimID || first.Attempt != c.attempt ||
			!strings.Contains(first.Error, "host "+victimID+" claimed the call") || !strings.Contains(first.Error, "found by host") {
			t.Errorf("held call %d (%s): first history row %+v, want interrupted under the victim's name, found by a survivor", c.id, c.method, first)
		}
		interrupted++
		retries := c.attempt < c.maxAttempts
		switch {
		case retries && (len(rows) != 2 || !first.Retried || rows[1].Outcome != "succeeded" || !survivorIDs[rows[1].Host]):
			t.Errorf("held call %d (%s, attempt %d of %d): history %+v, want interrupted then succeeded on a survivor",
				c.id, c.method, c.attempt, c.maxAttempts, rows)
		case retries:
			rerun++
		case len(rows) != 1 || first.Retried:
			t.Errorf("held call %d (%s, no attempts left): history %+v, want one interrupted row", c.id, c.method, rows)
		}
		// A record call run again echoes once; one that was not never echoes; an
		// echo call the victim held may have logged its line before it died, but
		// never twice (it has no attempts to spare).
		switch {
		case c.method == "record" && !retries:
			except[c.label] = true
			if n := echoes(append(survivors, victim)...)[c.label]; n != 0 {
				t.Errorf("record call %d (%s) was interrupted, yet its follow-up echoed %d times", c.id, c.label, n)
			}
		case c.method == "echo":
			except[c.label] = true
			if n := echoes(append(survivors, victim)...)[c.label]; n > 1 {
				t.Errorf("echo call %d (%s) held by the victim echoed %d times", c.id, c.label, n)
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
	t.Logf("crash: 1 host killed (SIGKILL) holding %d calls: %d recorded as interrupted, %d of them run again (retries); other calls: %s; all finished %s after the kill",
		len(held), interrupted, rerun, res, reaped.Round(time.Millisecond))
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
	entries, err := second.client.History(context.Background(), client.HistoryOptions{CallID: call.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries.Entries) != 1 || entries.Entries[0].Outcome != "succeeded" {
		t.Errorf("history of the call scheduled before the crash: %+v, want one succeeded run", entries.Entries)
	}
	t.Logf("embedded: %d database processes stopped with their killed host; the next host ran the stored call", len(children))
}
