// Package app assembles a host from its configuration and runs it in its role:
// monolith (API and executor), serverless (API only) or maintenance (migrate, check the
// stored calls against the plugins, exit). cmd/host only parses the command line and
// calls [Run].
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/pgembed"
	"github.com/futurecalls/futurecalls/host/store"
)

// NewLogger returns the host's logger, writing to w as configured.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// HostID names this host process in claims and in the history: host name, process id
// and a random suffix, so a restarted process never passes for its predecessor.
func HostID() string {
	name, err := os.Hostname()
	if err != nil {
		name = "host"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", name, os.Getpid(), hex.EncodeToString(b))
}

// openStore connects to the configured database, starting the embedded cluster when
// no URL is configured, and migrates it when asked. The returned close function
// releases both.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (*store.Store, func(), error) {
	url := cfg.Database.URL
	var cluster *pgembed.Cluster
	if url == "" {
		var err error
		cluster, err = pgembed.Start(ctx, pgembed.Options{Dir: cfg.Database.Embedded.Dir,
			BinDir: cfg.Database.Embedded.BinDir, User: cfg.Database.Embedded.User, Logger: log})
		if err != nil {
			return nil, nil, err
		}
		url = cluster.URL()
	}
	stopCluster := func() {
		if cluster != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := cluster.Stop(ctx); err != nil {
				log.Error("stopping the embedded database", slog.Any("error", err))
			}
		}
	}
	maxConns := cfg.Database.MaxConns
	if maxConns == 0 {
		maxConns = 10
		if c := cfg.FutureCall.Concurrency(); c > 0 {
			maxConns += min(c, 100)
		}
	}
	s, err := store.Open(ctx, url, store.Options{MaxConns: maxConns,
		NotifyWithin:      time.Duration(cfg.FutureCall.ScanInterval) * time.Millisecond,
		TransactionPooler: cfg.Database.Pooler == config.PoolerTransaction,
		DirectURL:         cfg.Database.ListenURL})
	if err != nil {
		stopCluster()
		return nil, nil, err
	}
	if !migrate {
		return s, func() { s.Close(); stopCluster() }, nil
	}
	if err := s.Migrate(ctx, log); err != nil {
		s.Close()
		stopCluster()
		return nil, nil, err
	}
	return s, func() { s.Close(); stopCluster() }, nil
}
