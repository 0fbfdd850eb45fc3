package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestDatabaseRestart runs two hosts on a PostgreSQL of its own while calls fall due,
// and takes the database away twice: a pg_ctl restart, then a stop of a few seconds.
// While it is away the API answers 503 "unavailable" at once (not 500, not a hang);
// the hosts log the loss, reconnect and carry on; and every call runs exactly once,
// none of them lost to an interruption.
func TestDatabaseRestart(t *testing.T) {
	n := scale(4_000, 40_000)
	spread := time.Duration(scale(12, 60)) * time.Second
	pg := startPostgres(t)
	d := openDatabase(t, pg.url)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	hosts := []*host{
		s.start("host1", hostOptions{db: pg.url, plugins: plugins}),
		s.start("host2", hostOptions{db: pg.url, plugins: plugins}),
	}

	// The calls fall due evenly over the spread; the outages come while they run.
	reqs, labels := recordRequests("r", n)
	t0 := time.Now().Add(time.Second)
	for i := range reqs {
		at := t0.Add(time.Duration(i) * spread / time.Duration(n)).UTC()
		reqs[i].At = &at
	}
	scheduleAll(t, []*client.Client{hosts[0].client, hosts[1].client}, reqs)

	// Fault 1: pg_ctl restart, as an operator would, once a quarter of the calls ran.
	d.waitRan(n/4, time.Minute)
	took := pg.pgctl("restart", "-m", "fast")
	t.Logf("pg_ctl restart took %s", took.Round(time.Millisecond))

	// Fault 2: the database stopped for a while, once half of the calls ran.
	d.waitRan(n/2, time.Minute)
	pg.pgctl("stop", "-m", "fast")
	stopped := time.Now()
	var answers []string
	for _, h := range hosts {
		for _, probe := range []struct{ method, path, body string }{
			{http.MethodGet, "/v1/calls?limit=1", ""},
			{http.MethodPost, "/v1/calls", `{"plugin": "probe", "method": "echo", "args": {"text": "while away"}}`},
			{http.MethodGet, "/v1/history?limit=1", ""},
			{http.MethodGet, "/readyz", ""},
		} {
			status, body, elapsed := request(t, h, probe.method, probe.path, probe.body)
			answers = append(answers, fmt.Sprintf("%s %s %s: %d in %s", h.name, probe.method, probe.path, status, elapsed.Round(time.Millisecond)))
			if status != http.StatusServiceUnavailable || elapsed > 5*time.Second {
				t.Errorf("%s %s %s while the database is away: %d after %s (%s), want 503 within 5s", h.name, probe.method, probe.path, status, elapsed, body)
			}
			var e struct{ Error *client.Error } // the API's error body
			if probe.path != "/readyz" && (json.Unmarshal([]byte(body), &e) != nil || e.Error == nil || e.Error.Code != client.CodeUnavailable) {
				t.Errorf("%s %s %s: body %s, want the error code %q", h.name, probe.method, probe.path, body, client.CodeUnavailable)
			}
		}
	}
	t.Logf("API while the database is away: %s", strings.Join(answers, "; "))
	time.Sleep(time.Until(stopped.Add(4 * time.Second)))
	pg.start()
	down := time.Since(stopped)
	restarted := time.Now()

	d.waitDrained(2*n, 3*time.Minute)
	res := checkExactlyOnce(t, d, labels, nil, hosts...)
	if bad := d.groups("SELECT outcome, count(*) FROM future_call_history WHERE outcome <> 'succeeded' GROUP BY 1"); len(bad) > 0 {
		t.Errorf("calls that did not succeed: %v", bad)
	}
	for _, h := range hosts {
		var lost []string
		for _, l := range h.lines() {
			if l.str("level") == "ERROR" || l.str("level") == "WARN" {
				lost = append(lost, l.str("msg"))
			}
		}
		if len(lost) == 0 {
			t.Errorf("host %s logged nothing about the database going away", h.name)
		}
		for _, l := range h.find("request") {
			if status, _ := strconv.Atoi(l.str("status")); status >= 500 && status != http.StatusServiceUnavailable {
				t.Errorf("host %s answered %d to %s %s", h.name, status, l.str("method"), l.str("path"))
			}
		}
		after := d.count("SELECT count(*) FROM future_call_history WHERE host = $1 AND finished_at > $2", h.id(), restarted)
		if after == 0 {
			t.Errorf("host %s ran no call after the database came back", h.name)
		}
		t.Logf("host %s: %d warnings and errors (first: %q); %d calls run after the database came back", h.name, len(lost), first(lost), after)
	}
	t.Logf("database restart: 2 faults (pg_ctl restart, %s stopped); %s; every call done %s after the database came back",
		down.Round(time.Millisecond), res, time.Since(restarted).Round(time.Millisecond))
}

// first returns the first of s, or "".
func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// request sends one request to h's API (no token) and returns the status, the body and
// how long the answer took; a request that gets no answer in 15 s fails the test.
func request(t *testing.T, h *host, method, path, body string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: no answer after %s: %v", method, path, h.name, time.Since(start), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// postgres is a PostgreSQL server of one test, on a fixed port so that it keeps its URL
// across restarts.
type postgres struct {
	t       *testing.T
	opts    pgembed.Options
	cluster *pgembed.Cluster
	url     string
	bin     string
	owner   *syscall.Credential // runs pg_ctl when the tests run as root
}

// startPostgres starts the test's own server; it is stopped when the test ends.
func startPostgres(t *testing.T) *postgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "futurecalls-e2e-pg-")
	if err != nil {
		t.Fatal(err)
	}
	// The server runs as another user when the tests run as root: let it in.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	pg := &postgres{t: t, opts: pgembed.Options{Dir: filepath.Join(dir, "pg"), Ephemeral: true, Port: freePort(t)}}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		bins = append(bins, p)
	}
	if len(bins) == 0 {
		t.Fatal("pg_ctl not found in /usr/lib/postgresql/*/bin or PATH: install PostgreSQL's server binaries")
	}
	sort.Strings(bins)
	pg.bin = bins[len(bins)-1]
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("the tests run as root, and pg_ctl needs the user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.owner = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pg.start()
	t.Cleanup(func() {
		// pg_ctl restart leaves a server pgembed does not own: stop whichever runs.
		pg.stop()
		_, _ = pg.run("stop", "-m", "immediate")
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
	return pg
}

func (pg *postgres) data() string { return filepath.Join(pg.opts.Dir, "data") }

// start starts the server (again), on its port.
func (pg *postgres) start() {
	pg.t.Helper()
	pg.stop()
	c, err := pgembed.Start(context.Background(), pg.opts)
	if err != nil {
		pg.t.Fatal(err)
	}
	if pg.url != "" && c.URL() != pg.url {
		pg.t.Fatalf("the restarted database has the URL %s, want %s", c.URL(), pg.url)
	}
	pg.cluster, pg.url = c, c.URL()
}

// stop stops the server pgembed started, if it runs.
func (pg *postgres) stop() {
	if pg.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pg.cluster.Stop(ctx); err != nil {
		pg.t.Errorf("stop the database: %v", err)
	}
	pg.cluster = nil
}

// pgctl runs pg_ctl on the server's data directory, waiting for it to finish, and
// returns how long it took.
func (pg *postgres) pgctl(args ...string) time.Duration {
	pg.t.Helper()
	start := time.Now()
	if out, err := pg.run(args...); err != nil {
		pg.t.Fatalf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// run runs pg_ctl with args[0] as its mode, as the server's owner.
func (pg *postgres) run(args ...string) ([]byte, error) {
	all := []string{args[0], "-D", pg.data(), "-w", "-t", "60"}
	if args[0] == "restart" || args[0] == "start" {
		// The server's output goes to a file: on pg_ctl's own, the server would
		// keep its pipes open.
		all = append(all, "-l", filepath.Join(pg.data(), "pg_ctl.log"))
	}
	cmd := exec.Command(pg.bin, append(all, args[1:]...)...)
	if pg.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.owner}
	}
	return cmd.CombinedOutput()
}
