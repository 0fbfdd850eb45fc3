package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// suite runs the host processes of one test. Their output goes to files in dir; when
// the test fails, the end of each file is printed and dir is kept.
type suite struct {
	t   *testing.T
	dir string

	mu    sync.Mutex
	hosts []*host
}

// newSuite makes the suite of test t. Hosts still running when the test ends are
// stopped (SIGTERM, then SIGKILL).
func newSuite(t *testing.T) *suite {
	t.Helper()
	dir, err := os.MkdirTemp("", "futurecalls-e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{t: t, dir: dir}
	t.Cleanup(func() {
		s.mu.Lock()
		hosts := append([]*host(nil), s.hosts...)
		s.mu.Unlock()
		for _, h := range hosts {
			h.shutdown(30 * time.Second)
		}
		for _, h := range hosts {
			if raceBuild && bytes.Contains(h.output(), []byte("WARNING: DATA RACE")) {
				t.Errorf("host %s: the race detector reported a data race (see %s)", h.name, h.logPath)
			}
		}
		if !t.Failed() {
			_ = os.RemoveAll(dir)
			return
		}
		for _, h := range hosts {
			t.Logf("--- last lines of host %s (%s):\n%s", h.name, h.logPath, tailLines(h.output(), 40))
		}
		t.Logf("host logs kept in %s", dir)
	})
	return s
}

// hostOptions configure a host process. The zero value of each field takes the
// suite's default.
type hostOptions struct {
	// db is database.url; empty runs the embedded PostgreSQL in the suite's directory.
	db string
	// plugins is plugins.dir.
	plugins string
	// args are more arguments after "run" and the defaults, which they override.
	args []string
	// env are more environment variables (KEY=value).
	env []string
	// token is the client's bearer token; tokens are set with env or args.
	token string
	// listenHost is the host part of api.listen (127.0.0.1 unless set).
	listenHost string
	// files are passed on to the process from descriptor 3 on.
	files []*os.File
}

// host is one host process.
type host struct {
	s       *suite
	name    string
	cmd     *exec.Cmd
	port    int
	logPath string
	// api is the API's base URL; client talks to it.
	api    string
	client *client.Client
	// exited is closed once the process has exited; state is then its exit state.
	exited chan struct{}
	state  *os.ProcessState
}

// defaultArgs are the flags every host of the suite gets: quick scans, a short claim
// lease margin, JSON logs (parsed by the tests), and the shared compilation cache.
func (s *suite) defaultArgs(o hostOptions, port int) []string {
	listen := o.listenHost
	if listen == "" {
		listen = "127.0.0.1"
	}
	args := []string{
		"--api.listen=" + net.JoinHostPort(listen, strconv.Itoa(port)),
		"--plugins.cacheDir=" + testplugins.CacheDir(s.t),
		"--futureCall.scanInterval=200",
		"--futureCall.claimLeaseMargin=2s",
		"--futureCall.concurrencyLimit=8",
		"--log.format=json",
		"--log.level=info",
	}
	if o.plugins != "" {
		args = append(args, "--plugins.dir="+o.plugins)
	}
	if o.db != "" {
		args = append(args, "--database.url="+o.db)
	} else {
		args = append(args, "--database.embedded.dir="+filepath.Join(s.dir, "pg"))
	}
	return args
}

// start starts a host with "run" and waits until its API answers. A port that was
// taken between choosing it and binding it is retried with another.
func (s *suite) start(name string, o hostOptions) *host {
	s.t.Helper()
	for try := 1; ; try++ {
		h := s.launch(name, o, "run")
		err := h.waitReady(2 * time.Minute)
		if err == nil {
			return h
		}
		if try < 3 && bytes.Contains(h.output(), []byte("address already in use")) {
			s.t.Logf("host %s: port %d was taken; trying another", name, h.port)
			continue
		}
		s.t.Fatalf("host %s did not become ready: %v\n%s", name, err, tailLines(h.output(), 40))
	}
}

// launch starts a host process with the given command ("run", "check") and the
// suite's default flags, without waiting.
func (s *suite) launch(name string, o hostOptions, command string, more ...string) *host {
	s.t.Helper()
	port := freePort(s.t)
	h := &host{s: s, name: name, port: port, exited: make(chan struct{}),
		logPath: filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))}
	h.api = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	opts := []client.Option{client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if o.token != "" {
		opts = append(opts, client.WithToken(o.token))
	}
	c, err := client.New(h.api, opts...)
	if err != nil {
		s.t.Fatal(err)
	}
	h.client = c

	args := append([]string{command}, s.defaultArgs(o, port)...)
	args = append(args, o.args...)
	args = append(args, more...)
	out, err := os.Create(h.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	h.cmd = exec.Command(hostBinary, args...)
	h.cmd.Env = hostEnv(o.env)
	h.cmd.Stdout, h.cmd.Stderr = out, out
	h.cmd.ExtraFiles = o.files
	// Its own process group, so that a signal meant for the test runner does not
	// reach it first, and its descendants can be found.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		out.Close()
		s.t.Fatalf("start host %s: %v", name, err)
	}
	go func() {
		_ = h.cmd.Wait()
		h.state = h.cmd.ProcessState
		out.Close()
		close(h.exited)
	}()
	s.mu.Lock()
	s.hosts = append(s.hosts, h)
	s.mu.Unlock()
	return h
}

// waitReady waits until GET /healthz answers 200.
func (h *host) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-h.exited:
			return fmt.Errorf("exited with %v", h.state)
		default:
		}
		resp, err := hc.Get(h.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer from %s/healthz within %s", h.api, timeout)
}

// wait waits until the process exits and returns its exit code; it fails the test
// when that takes longer than timeout.
func (h *host) wait(timeout time.Duration) int {
	h.s.t.Helper()
	select {
	case <-h.exited:
		return h.state.ExitCode()
	case <-time.After(timeout):
		h.s.t.Fatalf("host %s did not exit within %s", h.name, timeout)
		return -1
	}
}

// running reports whether the process is still running.
func (h *host) running() bool {
	select {
	case <-h.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the process.
func (h *host) signal(sig syscall.Signal) {
	h.s.t.Helper()
	if err := h.cmd.Process.Signal(sig); err != nil && h.running() {
		h.s.t.Fatalf("signal host %s: %v", h.name, err)
	}
}

// shutdown stops the process, if it still runs: SIGTERM, then SIGKILL after grace.
func (h *host) shutdown(grace time.Duration) {
	if !h.running() {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(grace):
		_ = h.cmd.Process.Kill()
		<-h.exited
	}
}

// output returns what the process wrote so far.
func (h *host) output() []byte {
	b, _ := os.ReadFile(h.logPath)
	return b
}

// logLine is one line of a host's JSON log.
type logLine map[string]any

// str returns the named attribute as text.
func (l logLine) str(key string) string {
	switch v := l[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// lines returns the JSON lines of the host's log; other lines (a panic, a race
// report) are skipped.
func (h *host) lines() []logLine {
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(h.output()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' {
			continue
		}
		var l logLine
		if json.Unmarshal(b, &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// find returns the log lines whose message starts with prefix.
func (h *host) find(prefix string) []logLine {
	var out []logLine
	for _, l := range h.lines() {
		if strings.HasPrefix(l.str("msg"), prefix) {
			out = append(out, l)
		}
	}
	return out
}

// id returns the host id the process logged at start ("starting", host=...): the
// name in claims and in the history.
func (h *host) id() string {
	h.s.t.Helper()
	for _, l := range h.find("starting") {
		if id := l.str("host"); id != "" {
			return id
		}
	}
	h.s.t.Fatalf("host %s logged no id", h.name)
	return ""
}

// waitLog waits until the host logs a line whose message starts with prefix.
func (h *host) waitLog(prefix string, timeout time.Duration) logLine {
	h.s.t.Helper()
	var found logLine
	waitFor(h.s.t, timeout, fmt.Sprintf("host %s to log %q", h.name, prefix), func() (bool, string) {
		if l := h.find(prefix); len(l) > 0 {
			found = l[0]
			return true, ""
		}
		return false, ""
	})
	return found
}

// run runs the host binary to completion with the given command line (after the
// suite's default flags when withDefaults) and returns its stdout, its stderr and its
// exit code. It fails the test when the process does not exit within timeout.
func (s *suite) run(timeout time.Duration, o hostOptions, command string, args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	all := append([]string{command}, s.defaultArgs(o, freePort(s.t))...)
	all = append(all, o.args...)
	all = append(all, args...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hostBinary, all...)
	cmd.Env = hostEnv(o.env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		s.t.Fatalf("host %s did not finish within %s\nstderr:\n%s", command, timeout, tailLines(errOut.Bytes(), 40))
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		s.t.Fatalf("run host %s: %v", command, err)
	}
	logPath := filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", command, time.Now().UnixNano()))
	_ = os.WriteFile(logPath, append(append([]byte{}, errOut.Bytes()...), out.Bytes()...), 0o644)
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// hostEnv is the environment of a host process: the test's, without any FC_ variable
// (the host's configuration: a developer's FC_DATABASE_URL must not reach the hosts of
// a test), plus more.
func hostEnv(more []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FC_") {
			env = append(env, kv)
		}
	}
	return append(env, more...)
}

// parseLines parses JSON log lines out of text.
func parseLines(text string) []logLine {
	var out []logLine
	for line := range strings.Lines(text) {
		var l logLine
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond until it reports done, failing the test after timeout with what
// and the last status cond gave.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (done bool, status string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var status string
	for {
		var done bool
		done, status = cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %s", timeout, what, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tailLines returns the last n lines of b.
func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// scheduleAll schedules reqs through the batch endpoint, in batches of at most 1000,
// spreading the batches over the clients. It returns the calls in the order of reqs.
func scheduleAll(t testing.TB, clients []*client.Client, reqs []abi.ScheduleRequest) []client.Call {
	t.Helper()
	calls, err := schedule(clients, reqs)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// schedule is scheduleAll for a goroutine other than the test's: it returns the error
// rather than failing the test.
func schedule(clients []*client.Client, reqs []abi.ScheduleRequest) ([]client.Call, error) {
	const batch = 1000
	out := make([]client.Call, 0, len(reqs))
	for i := 0; i < len(reqs); i += batch {
		c := clients[(i/batch)%len(clients)]
		calls, err := c.ScheduleBatch(context.Background(), reqs[i:min(i+batch, len(reqs))])
		if err != nil {
			return out, fmt.Errorf("schedule calls %d to %d: %w", i, min(i+batch, len(reqs)), err)
		}
		out = append(out, calls...)
	}
	return out, nil
}

// recordRequests returns n requests for probe.record, labelled prefix000000 on.
func recordRequests(prefix string, n int) ([]abi.ScheduleRequest, []string) {
	reqs := make([]abi.ScheduleRequest, n)
	labels := make([]string, n)
	for i := range n {
		labels[i] = fmt.Sprintf("%s%06d", prefix, i)
		reqs[i] = abi.ScheduleRequest{Plugin: "probe", Method: "record", Args: json.RawMessage(`{"label": "` + labels[i] + `"}`)}
	}
	return reqs, labels
}

// descendants returns the processes below pid, found through /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// alive reports whether process pid exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
