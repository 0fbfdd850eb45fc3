package pgembed_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/host/store"
)

func tempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// When tests run as root the server runs as another user, which must get in.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "pg")
}

func TestCallsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	dir := tempDir(t)
	start := func() *pgembed.Cluster {
		t.Helper()
		c, err := pgembed.Start(ctx, pgembed.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	first := start()
	s, err := store.Open(ctx, first.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	call, err := s.Schedule(ctx, store.NewCall{Plugin: "example", Method: "doWork", Args: json.RawMessage(`{}`), RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A second host on the same directory is refused while the first runs.
	if _, err := pgembed.Start(ctx, pgembed.Options{Dir: dir}); !errors.Is(err, pgembed.ErrInUse) {
		t.Errorf("second start on a directory in use: %v, want ErrInUse", err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	second := start()
	t.Cleanup(func() { _ = second.Stop(ctx) })
	if second.URL() == first.URL() && !strings.Contains(first.URL(), "127.0.0.1") {
		t.Errorf("unexpected URL %s", second.URL())
	}
	s, err = store.Open(ctx, second.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, call.ID)
	if err != nil {
		t.Fatalf("call scheduled before the restart: %v", err)
	}
	if got.Method != "doWork" || !got.RunAt.Equal(call.RunAt) {
		t.Errorf("call after restart = %+v, want %+v", got, call)
	}
}

func TestPasswordIsRequired(t *testing.T) {
	ctx := context.Background()
	c, err := pgembed.Start(ctx, pgembed.Options{Dir: tempDir(t), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(ctx) })
	wrong := strings.Replace(c.URL(), "futurecalls:", "futurecalls:wrong", 1)
	s, err := store.Open(ctx, wrong, store.Options{})
	if err == nil {
		err = s.Ping(ctx)
		s.Close()
	}
	if err == nil {
		t.Fatal("connected with a wrong password: the embedded cluster must not trust local connections")
	}
}

func TestMissingBinariesSayWhatToDo(t *testing.T) {
	_, err := pgembed.Start(context.Background(), pgembed.Options{Dir: tempDir(t), BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "binDir") {
		t.Fatalf("err = %v, want one naming database.embedded.binDir", err)
	}
	if !strings.Contains(pgembed.ErrNoBinaries.Error(), "apt-get install postgresql") ||
		!strings.Contains(pgembed.ErrNoBinaries.Error(), "database.url") {
		t.Errorf("ErrNoBinaries should say how to install PostgreSQL or set database.url: %v", pgembed.ErrNoBinaries)
	}
}

// TestFixedPortKeepsTheURL restarts a cluster on the port it was given: the URL stays
// the same, so a client holding it (a running host) reconnects to the restarted server.
func TestFixedPortKeepsTheURL(t *testing.T) {
	ctx := context.Background()
	dir := tempDir(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := pgembed.Options{Dir: dir, Ephemeral: true, Port: port}

	first, err := pgembed.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := ":" + strconv.Itoa(port) + "/"; !strings.Contains(first.URL(), want) {
		t.Fatalf("URL %s does not use port %d", first.URL(), port)
	}
	s, err := store.Open(ctx, first.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("the database answered while stopped")
	}

	second, err := pgembed.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop(ctx) })
	if second.URL() != first.URL() {
		t.Errorf("URL after the restart = %s, want %s", second.URL(), first.URL())
	}
	// The pool opened before the restart reconnects on its own.
	if err := s.Ping(ctx); err != nil {
		t.Errorf("the store did not reconnect after the restart: %v", err)
	}

	// A port taken by another server fails the start with the server's reason.
	if _, err := pgembed.Start(ctx, pgembed.Options{Dir: tempDir(t), Ephemeral: true, Port: port}); err == nil {
		t.Error("a second cluster started on a port in use")
	}
}
