package executor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/executor"
	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/store"
)

// privateCluster starts a PostgreSQL cluster of the test's own, which the test may stop
// and start again (at the same address), with the schema applied.
type privateCluster struct {
	t       *testing.T
	opts    pgembed.Options
	cluster *pgembed.Cluster
}

func startPrivateCluster(t *testing.T) *privateCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "futurecalls-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The cluster runs as another user when the tests run as root: let it in.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pg := &privateCluster{t: t, opts: pgembed.Options{Dir: filepath.Join(dir, "pg"), Ephemeral: true, Port: port}}
	pg.start()
	t.Cleanup(pg.stop)
	s, err := store.Open(ctx, pg.cluster.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return pg
}

func (pg *privateCluster) start() {
	pg.t.Helper()
	c, err := pgembed.Start(ctx, pg.opts)
	if err != nil {
		pg.t.Fatal(err)
	}
	pg.cluster = c
}

func (pg *privateCluster) stop() {
	pg.t.Helper()
	if pg.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := pg.cluster.Stop(ctx); err != nil {
		pg.t.Fatal(err)
	}
	pg.cluster = nil
}

// heldUntil runs each call for real, then reports it on ran and holds its outcome
// until release is closed.
type heldUntil struct {
	executor.Invoker
	ran     chan<- int64
	release <-chan struct{}
}

func (h *heldUntil) Invoke(ctx context.Context, p string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	version, err := h.Invoker.Invoke(ctx, p, env, host, log)
	h.ran <- env.Call.ID
	<-h.release
	return version, err
}

// TestCallsThatFinishDuringADatabaseOutageKeepTheirSuccess stops the database while
// calls run, lets them finish, and keeps it down for longer than their whole lease:
// once it is back, every call must be recorded as succeeded, with its follow-up, and
// none reaped as interrupted.
func TestCallsThatFinishDuringADatabaseOutageKeepTheirSuccess(t *testing.T) {
	t.Parallel()
	pg := startPrivateCluster(t)
	r := newRigAt(t, pg.cluster.URL(), plugin.Limits{})
	const n = 8
	const lease = 2 * time.Second
	calls := make([]store.NewCall, n)
	for i := range calls {
		calls[i] = probe("record", fmt.Sprintf(`{"label":"%d"}`, i), time.Now())
	}
	r.schedule(t, calls...)
	ran, release := make(chan int64, n), make(chan struct{})
	r.start(t, "h", executor.Options{Concurrency: n, Lease: lease, Plugins: &heldUntil{Invoker: r.catalog, ran: ran, release: release}})
	for range n {
		select {
		case <-ran:
		case <-time.After(time.Minute):
			t.Fatal("the calls did not all run")
		}
	}

	pg.stop()
	close(release) // the calls finish while the database is down
	time.Sleep(lease + time.Second)
	pg.start()

	r.store.Pool().Reset() // its connections died with the server
	r.waitFor(t, "follow-ups run", n, "SELECT count(*) FROM future_call_history WHERE method = 'echo' AND outcome = 'succeeded'")
	if got := r.count(t, "SELECT count(*) FROM future_call_history WHERE method = 'record' AND outcome = 'succeeded'"); got != n {
		t.Errorf("%d calls recorded as succeeded, want %d", got, n)
	}
	if got := r.count(t, "SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'"); got != 0 {
		t.Errorf("%d history rows are not successes (interrupted calls?), want none", got)
	}
}

// TestACallLongerThanItsLeaseKeepsItsClaim runs a call three times as long as the
// lease while another host reaps expired claims: the heartbeat keeps the claim, and
// the call is recorded as succeeded, once.
func TestACallLongerThanItsLeaseKeepsItsClaim(t *testing.T) {
	t.Parallel()
	r := newRig(t, plugin.Limits{})
	const lease = time.Second
	call := r.schedule(t, probe("sleep", fmt.Sprintf(`{"ms":%d}`, 3*lease.Milliseconds()), time.Now()))[0]
	runner := r.startSignalled(t, "runner", executor.Options{Lease: lease})
	if claimed := runner.Claimed(t); len(claimed) != 1 || claimed[0].ID != call.ID {
		t.Fatalf("claimed %+v, want the long call", claimed)
	}
	// Only now: the reaper must not have claimed the call itself.
	r.start(t, "reaper", executor.Options{Lease: lease, ScanInterval: 50 * time.Millisecond})
	if n := runner.Recorded(t); n != 1 {
		t.Fatalf("recorded %d outcomes, want the long call's", n)
	}
	if got := r.count(t, "SELECT count(*) FROM future_call_history WHERE call_id = $1 AND outcome = 'succeeded' AND host = 'runner'", call.ID); got != 1 {
		t.Errorf("history of the long call: %d successes by its runner, want 1", got)
	}
}
