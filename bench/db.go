package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/host/store"
)

// server is the PostgreSQL server every scenario runs against: the one DATABASE_URL
// names, or a private cluster started with pgembed, the host's embedded default.
type server struct {
	admin   *url.URL // a database on the server, for CREATE and DROP DATABASE
	cluster *pgembed.Cluster
	dir     string
	version string
}

// startServer connects to DATABASE_URL or starts a private, durable cluster (fsync on,
// as the host's embedded default runs it) in a temporary directory.
func startServer(ctx context.Context) (*server, error) {
	s := &server{}
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		dir, err := os.MkdirTemp("", "futurecalls-bench-")
		if err != nil {
			return nil, err
		}
		s.dir = dir
		// The cluster runs as an unprivileged user when we are root: let it in.
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, err
		}
		if s.cluster, err = pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(dir, "pg")}); err != nil {
			s.stop()
			return nil, err
		}
		raw = s.cluster.URL()
	}
	u, err := url.Parse(raw)
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	s.admin = u
	if err := s.exec(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SHOW server_version").Scan(&s.version)
	}); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop stops the private cluster, if one was started, and removes its directory.
func (s *server) stop() {
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = s.cluster.Stop(ctx)
		cancel()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// database creates an empty database with the futurecalls schema and returns its URL and
// a function that drops it. Each measurement gets its own, so that no run inherits the
// dead rows of another.
func (s *server) database(ctx context.Context) (string, func(), error) {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "fcbench_" + hex.EncodeToString(b)
	if err := s.exec(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+name)
		return err
	}); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.exec(ctx, func(conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		})
	}
	u := *s.admin
	u.Path = "/" + name
	st, err := store.Open(ctx, u.String(), store.Options{})
	if err != nil {
		drop()
		return "", nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		drop()
		return "", nil, err
	}
	return u.String(), drop, nil
}

// exec runs fn on a connection to the admin database.
func (s *server) exec(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.admin.Redacted(), err)
	}
	defer conn.Close(context.Background())
	return fn(conn)
}
