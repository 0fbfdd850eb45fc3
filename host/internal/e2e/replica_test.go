package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/host/pgembed"
)

// replicaPair is a primary PostgreSQL server and a streaming replica of it, each a
// process of the test, on fixed loopback ports.
type replicaPair struct {
	t        *testing.T
	bin      string // the directory of pg_basebackup
	owner    *syscall.Credential
	password string
	primary  *pgembed.Cluster
	replica  *pgembed.Cluster
	// primaryDir and replicaDir are the clusters' directories (data/ below each).
	primaryDir, replicaDir   string
	primaryPort, replicaPort int
}

// startReplicaPair starts a primary and a streaming replica made from it with
// pg_basebackup (-R writes primary_conninfo and standby.signal). With synchronous, the
// primary waits for the replica to flush each commit before acknowledging it
// (synchronous_standby_names = '*', synchronous_commit = on); without, replication
// is asynchronous. fsync is off on both: the test kills processes, not the machine, so
// what a process wrote survives in the page cache.
func startReplicaPair(t *testing.T, synchronous bool) *replicaPair {
	t.Helper()
	dir, err := os.MkdirTemp("", "futurecalls-e2e-replicas-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_basebackup")
	if len(bins) == 0 {
		t.Fatal("pg_basebackup not found in /usr/lib/postgresql/*/bin: install PostgreSQL's server binaries")
	}
	sort.Strings(bins)
	p := &replicaPair{t: t, bin: filepath.Dir(bins[len(bins)-1]), owner: serverOwner(t),
		primaryDir: filepath.Join(dir, "primary"), replicaDir: filepath.Join(dir, "replica"),
		primaryPort: freePort(t), replicaPort: freePort(t)}
	t.Cleanup(func() {
		for _, c := range []*pgembed.Cluster{p.primary, p.replica} {
			if c != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_ = c.Stop(ctx)
				cancel()
			}
		}
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("database servers' directories kept in %s", dir)
		}
	})

	p.primary = p.start(p.primaryDir, p.primaryPort)
	u, _ := url.Parse(p.primary.URL())
	p.password, _ = u.User.Password()
	p.exec(p.primary.URL(), "ALTER SYSTEM SET fsync = off", "SELECT pg_reload_conf()")

	// The replica: a base backup of the primary, streaming from it.
	if err := os.MkdirAll(p.replicaDir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.replicaDir, "password"), []byte(p.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(p.replicaDir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.owner != nil {
		if err := os.Chown(data, int(p.owner.Uid), int(p.owner.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(p.bin, "pg_basebackup"), "-D", data, "-R", "-X", "stream", "-c", "fast",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=%s application_name=replica", p.primaryPort, pgembed.Role))
	cmd.Env = append(os.Environ(), "PGPASSWORD="+p.password)
	if p.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.owner}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	p.replica = p.start(p.replicaDir, p.replicaPort)

	if synchronous {
		p.exec(p.primary.URL(), "ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()")
	}
	want := "async"
	if synchronous {
		want = "sync"
	}
	waitFor(t, time.Minute, "the replica to stream from the primary", func() (bool, string) {
		state := p.query(p.primary.URL(), "SELECT coalesce(string_agg(sync_state, ','), '') FROM pg_stat_replication WHERE state = 'streaming'")
		return state == want, "replication: " + state
	})
	return p
}

// start starts the cluster in dir on port, durable (synchronous_commit on).
func (p *replicaPair) start(dir string, port int) *pgembed.Cluster {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgembed.Start(ctx, pgembed.Options{Dir: dir, Port: port})
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// url returns the URL naming both servers, for clients that must find the one that
// takes writes: target_session_attrs=read-write.
func (p *replicaPair) url() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pgembed.Role, p.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.primaryPort)) + "," + net.JoinHostPort("127.0.0.1", strconv.Itoa(p.replicaPort)),
		Path: "/" + pgembed.Database, RawQuery: "sslmode=disable&target_session_attrs=read-write&connect_timeout=5"}
	return u.String()
}

// killPrimary kills the primary's whole process group with SIGKILL, as a crash would:
// the postmaster and every backend at once, with no shutdown checkpoint.
func (p *replicaPair) killPrimary() {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.primaryDir, "data", "postmaster.pid"))
	if err != nil {
		p.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		p.t.Fatalf("postmaster.pid: %v", err)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill the primary: %v", err)
	}
}

// holdBack stops the primary's WAL sender process (SIGSTOP), as a slow network or a
// busy replica would hold replication back; the kill of the primary ends it. With a
// synchronous standby the primary's commits wait meanwhile; with an asynchronous one
// they are acknowledged, and lost when the primary dies.
func (p *replicaPair) holdBack() {
	p.t.Helper()
	pid, err := strconv.Atoi(p.query(p.primary.URL(), "SELECT pid::text FROM pg_stat_replication"))
	if err != nil {
		p.t.Fatalf("the primary's WAL sender: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		p.t.Fatalf("stop the WAL sender: %v", err)
	}
}

// promote makes the replica the primary (pg_promote, waiting for it to finish).
func (p *replicaPair) promote() {
	p.t.Helper()
	if got := p.query(p.replica.URL(), "SELECT pg_promote(true, 60)::text"); got != "true" {
		p.t.Fatalf("pg_promote answered %s", got)
	}
}

// exec runs statements on the database at dbURL.
func (p *replicaPair) exec(dbURL string, statements ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			p.t.Fatalf("%s: %v", s, err)
		}
	}
}

// query runs a query returning one text value on the database at dbURL.
func (p *replicaPair) query(dbURL, sql string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		p.t.Fatalf("%s: %v", sql, err)
	}
	return out
}
