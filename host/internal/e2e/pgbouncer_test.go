package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgbouncer is a PgBouncer process of one test, in transaction pooling mode, in front
// of one PostgreSQL server.
type pgbouncer struct {
	t       *testing.T
	port    int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startPgBouncer starts PgBouncer (pool_mode = transaction, at most poolSize server
// connections per database) in front of the server of serverURL, on a free loopback
// port; clients name any database of that server. It runs as the user postgres when
// the tests run as root (PgBouncer refuses root), and is stopped when the test ends.
// A missing pgbouncer fails the test: make deps-pgbouncer installs it.
func startPgBouncer(t *testing.T, serverURL string, poolSize int) *pgbouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer" // Debian's, outside a non-root PATH
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("pgbouncer not found in PATH or /usr/sbin: run make deps-pgbouncer (Debian package pgbouncer)")
		}
	}
	server, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := server.User.Password()
	dir, err := os.MkdirTemp("", "futurecalls-e2e-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	pb := &pgbouncer{t: t, port: freePort(t), logPath: filepath.Join(dir, "pgbouncer.log"), exited: make(chan struct{})}
	// auth_type = any: clients on loopback log in without a password, as the user the
	// [databases] line names; PgBouncer logs in to PostgreSQL with that user's password.
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s password=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
admin_users = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
stats_period = 1
`, server.Hostname(), server.Port(), server.User.Username(), password, pb.port, server.User.Username(), poolSize)
	iniPath := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(iniPath, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(pb.logPath)
	if err != nil {
		t.Fatal(err)
	}
	pb.cmd = exec.Command(bin, iniPath)
	pb.cmd.Stdout, pb.cmd.Stderr = out, out
	pb.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if owner := serverOwner(t); owner != nil {
		for _, p := range []string{dir, iniPath, pb.logPath} {
			if err := os.Chown(p, int(owner.Uid), int(owner.Gid)); err != nil {
				t.Fatal(err)
			}
		}
		pb.cmd.SysProcAttr.Credential = owner
	}
	if err := pb.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start pgbouncer: %v", err)
	}
	go func() { _ = pb.cmd.Wait(); out.Close(); close(pb.exited) }()
	t.Cleanup(func() {
		_ = pb.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-pb.exited:
		case <-time.After(10 * time.Second):
			_ = pb.cmd.Process.Kill()
			<-pb.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(pb.logPath)
			t.Logf("--- last lines of pgbouncer (%s):\n%s", pb.logPath, tailLines(b, 30))
			return
		}
		_ = os.RemoveAll(dir)
	})
	waitFor(t, 30*time.Second, "pgbouncer to accept connections", func() (bool, string) {
		select {
		case <-pb.exited:
			b, _ := os.ReadFile(pb.logPath)
			t.Fatalf("pgbouncer exited: %v\n%s", pb.cmd.ProcessState, tailLines(b, 20))
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pb.port)), time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return pb
}

// url returns the URL of database through PgBouncer.
func (pb *pgbouncer) url(database string) string {
	u := url.URL{Scheme: "postgres", User: url.User("futurecalls"),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(pb.port)), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// transactions returns how many transactions PgBouncer passed on to database so far
// (SHOW STATS on its admin console, whose figures are at most a second old).
func (pb *pgbouncer) transactions(database string) int64 {
	pb.t.Helper()
	time.Sleep(1500 * time.Millisecond) // stats_period
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(pb.url("pgbouncer"))
	if err != nil {
		pb.t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		pb.t.Fatalf("pgbouncer admin console: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SHOW STATS")
	if err != nil {
		pb.t.Fatalf("SHOW STATS: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		values := rows.RawValues() // text: the admin console speaks the simple protocol
		cols := rows.FieldDescriptions()
		var name string
		var xacts int64
		for i, c := range cols {
			switch c.Name {
			case "database":
				name = string(values[i])
			case "total_xact_count":
				xacts, _ = strconv.ParseInt(string(values[i]), 10, 64)
			}
		}
		if name == database {
			return xacts
		}
	}
	if err := rows.Err(); err != nil {
		pb.t.Fatal(err)
	}
	return 0
}

// serverOwner returns the user that database servers and PgBouncer run as when the
// tests run as root (postgres), or nil when they do not run as root.
func serverOwner(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("the tests run as root, and PostgreSQL and PgBouncer need the user postgres: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}
