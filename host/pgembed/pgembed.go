// Package pgembed runs a private PostgreSQL cluster from the machine's PostgreSQL
// binaries: the host's embedded default when no database URL is configured, and the
// database of the tests.
//
// The cluster lives in a directory the host owns. On first start it is initialised
// (initdb) with a generated password; afterwards it is reused, so stored calls survive
// restarts. The server listens on a free loopback port only, runs as a child of the host
// (and dies with it), and is stopped with a fast, clean shutdown by [Cluster.Stop].
//
// PostgreSQL refuses to run as root. When the host runs as root, the cluster runs as an
// unprivileged user ("postgres" when it exists, else "nobody"), which must be able to
// enter every parent directory of the cluster directory.
//
// Layout of the directory:
//
//	data/          the cluster (PGDATA)
//	password       the generated password of the "futurecalls" superuser
//	postgres.log   the server's log
//	lock           held by the running host, so two hosts never share one cluster
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package pgembed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Role and Database are the names of the superuser and database the cluster is created
// with.
const (
	Role     = "futurecalls"
	Database = "futurecalls"
)

// ErrNoBinaries means no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin: " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) " +
	"or set database.url (FC_DATABASE_URL) to an existing PostgreSQL database")

// ErrInUse means another process holds the cluster directory.
var ErrInUse = errors.New("the embedded database directory is in use by another host process; " +
	"several hosts must share one PostgreSQL through database.url")

// Options configure Start.
type Options struct {
	// Dir is the cluster directory; created when missing.
	Dir string
	// BinDir holds initdb and postgres; empty searches PATH and /usr/lib/postgresql.
	BinDir string
	// User runs the server when the host is root; empty picks postgres, then nobody.
	User string
	// Ephemeral trades durability for speed (no fsync, no full-page writes): for tests.
	Ephemeral bool
	// Port is the loopback TCP port the server listens on; 0 picks a free one at every
	// start. A fixed port keeps the URL across restarts, so that clients holding it
	// (other processes, tests restarting the database under a running host) reconnect.
	Port int
	// Logger receives start and stop messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	url    string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	lock   *os.File
	log    *slog.Logger
}

// URL returns the connection URL of the cluster's database.
func (c *Cluster) URL() string { return c.url }

// Start initialises the cluster on first use, starts the server and waits until it
// accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedded postgres: %w", err)
	}
	bin, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	runAs, err := runAsUser(opts.User)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("embedded postgres: create %s: %w", dir, err)
	}
	if runAs != nil {
		if err := checkTraversable(dir, runAs); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, lock: lock, log: log, exited: make(chan struct{})}
	if err := c.start(ctx, bin, runAs, opts.Ephemeral, opts.Port); err != nil {
		lock.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string, runAs *credential, ephemeral bool, port int) error {
	data := filepath.Join(c.dir, "data")
	password, err := c.password()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		c.log.Info("initialising embedded PostgreSQL cluster", slog.String("dir", data))
		if err := c.initdb(ctx, bin, data, password, runAs); err != nil {
			return err
		}
	} else if err := checkVersion(bin, data); err != nil {
		return err
	}
	if err := stopOrphan(ctx, data, c.log); err != nil {
		return err
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return fmt.Errorf("embedded postgres: %w", err)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("embedded postgres: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=200", "-c", "timezone=UTC"}
	if ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C in the terminal reaches the host, which stops the
	// server after its own work. Pdeathsig stops the server if the host dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	if runAs != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: runAs.uid, Gid: runAs.gid}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("embedded postgres: start server: %w", err)
	}
	c.cmd = cmd
	go func() { _ = cmd.Wait(); close(c.exited) }()

	u := url.URL{Scheme: "postgres", User: url.UserPassword(Role, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/" + Database,
		RawQuery: "sslmode=disable"}
	c.url = u.String()
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop(context.Background())
		return err
	}
	c.log.Info("embedded PostgreSQL started", slog.String("dir", data), slog.Int("port", port))
	return nil
}

// password reads the cluster's password, generating it on first use.
func (c *Cluster) password() (string, error) {
	path := filepath.Join(c.dir, "password")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("embedded postgres: write password: %w", err)
	}
	return pw, nil
}

func (c *Cluster) initdb(ctx context.Context, bin, data, password string, runAs *credential) error {
	// initdb reads the password from a file the server's user can read; it is removed
	// right after.
	pwfile := filepath.Join(c.dir, "initdb-password")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("embedded postgres: %w", err)
	}
	defer func() {
		if err := os.Remove(pwfile); err != nil {
			c.log.Warn("embedded postgres: the initdb password file was not removed", slog.String("path", pwfile), slog.Any("error", err))
		}
	}()
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("embedded postgres: %w", err)
	}
	if runAs != nil {
		for _, p := range []string{pwfile, data} {
			if err := os.Chown(p, int(runAs.uid), int(runAs.gid)); err != nil {
				return fmt.Errorf("embedded postgres: hand %s to user %s: %w", p, runAs.name, err)
			}
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", Role,
		"--pwfile", pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-instructions")
	if runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: runAs.uid, Gid: runAs.gid}}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(data) // a half-made cluster would fail every later start
		return fmt.Errorf("embedded postgres: initdb failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// waitReady connects until the server answers, it exits, or ctx ends; then creates
// the database on first start.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	admin := strings.Replace(c.url, "/"+Database+"?", "/postgres?", 1)
	for {
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			defer conn.Close(context.Background())
			var exists bool
			if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists); err != nil {
				return fmt.Errorf("embedded postgres: %w", err)
			}
			if !exists {
				if _, err := conn.Exec(ctx, "CREATE DATABASE "+Database); err != nil {
					return fmt.Errorf("embedded postgres: create database: %w", err)
				}
			}
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("embedded postgres: server exited during start-up; its log (%s) ends with:\n%s",
				filepath.Join(c.dir, "postgres.log"), tail(filepath.Join(c.dir, "postgres.log"), 15))
		case <-ctx.Done():
			return fmt.Errorf("embedded postgres: server did not accept connections: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop shuts the server down (fast shutdown: running transactions are rolled back) and
// waits for it to exit, killing it if ctx ends first.
func (c *Cluster) Stop(ctx context.Context) error {
	defer c.lock.Close()
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("embedded postgres: killed after %w", ctx.Err())
	}
	c.log.Info("embedded PostgreSQL stopped")
	return nil
}

// findBinaries returns the directory holding initdb and postgres.
func findBinaries(binDir string) (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if binDir != "" {
		if !has(binDir) {
			return "", fmt.Errorf("database.embedded.binDir %s does not hold initdb and postgres", binDir)
		}
		return binDir, nil
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range append(dirs, "/usr/local/pgsql/bin") {
		if has(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// checkVersion refuses to start binaries of another major version on a cluster.
func checkVersion(bin, data string) error {
	b, err := os.ReadFile(filepath.Join(data, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("embedded postgres: %w", err)
	}
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return fmt.Errorf("embedded postgres: %s --version: %w", bin, err)
	}
	want := strings.TrimSpace(string(b))
	// "postgres (PostgreSQL) 15.18 (Debian ...)"
	fields := strings.Fields(string(out))
	if len(fields) >= 3 && strings.Split(fields[2], ".")[0] != want {
		return fmt.Errorf("embedded postgres: the cluster in %s was made by PostgreSQL %s but the binaries in %s are %s; "+
			"point database.embedded.binDir at PostgreSQL %s binaries or upgrade the cluster with pg_upgrade", data, want, bin, fields[2], want)
	}
	return nil
}

// stopOrphan stops a server left running on data by a host that died without
// stopping it. The caller holds the directory lock, so no live host owns it.
func stopOrphan(ctx context.Context, data string, log *slog.Logger) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("postgres")) {
		return nil // stale file: postgres removes it itself
	}
	log.Warn("stopping an embedded PostgreSQL left running by an earlier host", slog.Int("pid", pid))
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		return fmt.Errorf("embedded postgres: stop orphaned server %d: %w", pid, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("embedded postgres: orphaned server %d did not stop", pid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockDir takes an exclusive lock on dir/lock for the life of the process.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded postgres: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", ErrInUse, dir)
	}
	return f, nil
}

type credential struct {
	name     string
	uid, gid uint32
}

// runAsUser picks the user the server runs as: nil when the host is not root.
func runAsUser(name string) (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	candidates := []string{name}
	if name == "" {
		candidates = []string{"postgres", "nobody"}
	}
	for _, n := range candidates {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			return nil, fmt.Errorf("database.embedded.user %q is root; PostgreSQL refuses to run as root", n)
		}
		return &credential{name: n, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("the host runs as root and PostgreSQL refuses root, but user %s does not exist: "+
		"create it or set database.embedded.user", strings.Join(candidates, " / "))
}

// checkTraversable makes sure the server's user can reach dir.
func checkTraversable(dir string, c *credential) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("embedded postgres: %w", err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		ok := mode&0o001 != 0 || (st.Uid == c.uid && mode&0o100 != 0) || (st.Gid == c.gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("embedded postgres runs as user %s, which cannot enter %s: run 'chmod o+x %s' or set database.embedded.dir elsewhere", c.name, d, d)
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
