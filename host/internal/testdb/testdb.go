// Package testdb gives each test its own PostgreSQL database with the schema applied,
// so tests on real PostgreSQL run in parallel and leave nothing behind.
//
// The server is the one named by DATABASE_URL, or else a private cluster started with
// [pgembed] (the host's own embedded starter) for the test binary. The schema is migrated
// once into a template database; each test gets a copy. There is no skipping: without
// PostgreSQL binaries or a DATABASE_URL, every test that asks for a database fails.
//
// It is for tests only: the depguard rule of .golangci.yml keeps it out of non-test code.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/host/store"
)

var (
	once     sync.Once
	server   *url.URL // a database on the server, for CREATE/DROP DATABASE
	template string
	cluster  *pgembed.Cluster
	tmpDir   string
	setupErr error
)

// Main runs a package's tests and then stops the private cluster, if one was started.
// Use it as the package's TestMain: func TestMain(m *testing.M) { testdb.Main(m) }.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with cleaning of its own to do before it exits: it runs
// the tests, stops the private cluster, and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = cluster.Stop(ctx)
		cancel()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	return code
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		dir, err := os.MkdirTemp("", "futurecalls-testdb-")
		if err != nil {
			return err
		}
		tmpDir = dir
		// The cluster may run as another user (when tests run as root): let it in.
		if err := os.Chmod(dir, 0o711); err != nil {
			return err
		}
		cluster, err = pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(dir, "pg"), Ephemeral: true})
		if err != nil {
			return fmt.Errorf("no DATABASE_URL, and the private PostgreSQL did not start: %w", err)
		}
		raw = cluster.URL()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	server = u
	template = "fc_template_" + randomSuffix()
	if err := adminExec(ctx, "CREATE DATABASE "+template); err != nil {
		return err
	}
	s, err := store.Open(ctx, dbURL(template), store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Migrate(ctx, slog.New(slog.DiscardHandler))
}

// URL creates a new database with the schema applied and returns its URL. The
// database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("test database: %v", setupErr)
	}
	name := "fc_test_" + randomSuffix()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dbURL(name)
}

// Store opens a store on a new test database; it is closed when the test ends.
func Store(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), URL(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dbURL(name string) string {
	u := *server
	u.Path = "/" + name
	return u.String()
}

func adminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, server.String())
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
