// Package store keeps the schedule of future calls and the history of finished ones in
// PostgreSQL, through a pgx connection pool. All SQL of the host lives here and in
// migrations/.
//
// Every time the store hands out is UTC. Claims use FOR UPDATE SKIP LOCKED, so any
// number of hosts can share one database and a due call is claimed by exactly one of
// them.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/migrations"
)

// DueChannel is the LISTEN/NOTIFY channel on which a host announces a call due soon.
// The payload is the call's run time in Unix milliseconds.
const DueChannel = "futurecalls_due"

// ErrNotFound means no stored call has the given id.
var ErrNotFound = errors.New("call not found")

// ErrNoSession means the store has no connection that keeps a session: it reaches the
// database through a transaction pooler and no direct URL was given, so LISTEN is not
// possible. Wake-ups are off; the executors' scans find due calls.
var ErrNoSession = errors.New("no direct database connection for LISTEN (database.listenUrl): wake-ups are off")

// Store is the schedule in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// pooled: the pool's connections lead to a transaction pooler, and hold no session.
	pooled bool
	// direct connects to the database itself, for LISTEN and for the migrations'
	// session lock, when Options.DirectURL is set; nil uses the pool when it holds
	// sessions.
	direct *pgx.ConnConfig
	// notifyWithin: a call due sooner than this after being scheduled wakes the executors.
	notifyWithin time.Duration
}

// Options configure Open.
type Options struct {
	// MaxConns caps the connection pool; 0 keeps pgx's default.
	MaxConns int
	// NotifyWithin: scheduling a call due within this time sends a wake-up on
	// DueChannel, so executors do not wait for their next scan. Set it to the scan
	// interval of the hosts sharing the database.
	NotifyWithin time.Duration
	// TransactionPooler says that the URL leads to a pooler that hands out server
	// connections per transaction (PgBouncer's pool_mode = transaction): the store then
	// uses no named prepared statements, and LISTEN and the migrations go through
	// DirectURL, or are done without (see [ErrNoSession], [Store.Migrate]).
	TransactionPooler bool
	// DirectURL is the database itself, bypassing the pooler, for LISTEN and for
	// migrations. Empty uses the URL given to Open, unless TransactionPooler is set.
	DirectURL string
}

// ExecModeThroughPooler is the way queries run through a transaction pooler:
// statement descriptions are cached per connection and every query is sent as an
// unnamed statement (Parse, Bind, Execute, Sync in one round trip), so no prepared
// statement has to outlive the transaction that created it. pgx's default,
// QueryExecModeCacheStatement, prepares named statements on a server connection that
// the pooler then hands to another client; PgBouncer supports those only from 1.21
// (max_prepared_statements), and Debian 12 ships 1.18.
const ExecModeThroughPooler = pgx.QueryExecModeCacheDescribe

// Open connects to the database at url. It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	setRuntimeParams(cfg.ConnConfig)
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	var direct *pgx.ConnConfig
	if opts.DirectURL != "" {
		if direct, err = pgx.ParseConfig(opts.DirectURL); err != nil {
			return nil, fmt.Errorf("parse direct database url: %w", err)
		}
		setRuntimeParams(direct)
	}
	if opts.TransactionPooler {
		cfg.ConnConfig.DefaultQueryExecMode = ExecModeThroughPooler
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{pool: pool, pooled: opts.TransactionPooler, direct: direct, notifyWithin: opts.NotifyWithin}, nil
}

// setRuntimeParams sets the session parameters every connection of the store starts
// with. PgBouncer passes both on (it tracks TimeZone and application_name per client).
func setRuntimeParams(c *pgx.ConnConfig) {
	c.RuntimeParams["timezone"] = "UTC"
	c.RuntimeParams["application_name"] = "futurecalls"
}

// HasSession reports whether the store can hold a session of its own (for LISTEN):
// false behind a transaction pooler without a direct URL.
func (s *Store) HasSession() bool { return s.direct != nil || !s.pooled }

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Pool returns the connection pool, for tests and benchmarks, which read and load the
// tables directly, and for callers that check its configuration.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate brings the schema up to date. Several hosts may call it at once: a
// PostgreSQL session advisory lock, taken on the direct URL when there is one, else on
// one of the pool's connections, lets one migrate while the others wait. Behind a transaction pooler without a direct URL, where a
// session lock could be released on another server connection than the one that took
// it, goose's table lock (a row in futurecalls_schema_lock, with a lease) does the same.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	var db *sql.DB
	var lockOpt goose.ProviderOption
	if s.HasSession() {
		if s.direct != nil {
			db = stdlib.OpenDB(*s.direct)
		} else {
			db = stdlib.OpenDBFromPool(s.pool)
		}
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		lockOpt = goose.WithSessionLocker(locker)
	} else {
		db = stdlib.OpenDBFromPool(s.pool)
		locker, err := lock.NewPostgresTableLocker(lock.WithTableName("futurecalls_schema_lock"))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		lockOpt = goose.WithLocker(locker)
	}
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		lockOpt, goose.WithTableName("futurecalls_schema_version"))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("applied migration", slog.String("file", r.Source.Path), slog.Duration("took", r.Duration))
		}
	}
	return nil
}

// Call is a stored call.
type Call struct {
	ID         int64           `json:"id"`
	Plugin     string          `json:"plugin"`
	Method     string          `json:"method"`
	Args       json.RawMessage `json:"args"`
	RunAt      time.Time       `json:"runAt"`
	Identifier string          `json:"identifier,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	// Attempt counts the attempts started so far.
	Attempt int   `json:"attempt"`
	Retry   Retry `json:"retry"`
	// ClaimedBy is the host running the call, empty while it waits.
	ClaimedBy  string     `json:"claimedBy,omitempty"`
	ClaimedAt  *time.Time `json:"claimedAt,omitempty"`
	LeaseUntil *time.Time `json:"leaseUntil,omitempty"`
	// LastError is the error of the previous attempt of a call waiting for a retry.
	LastError string `json:"lastError,omitempty"`
	// Series is set when the call is an occurrence of a recurring call.
	Series *Series `json:"series,omitempty"`
	// MessageID is the message the call delivers, 0 for other calls.
	MessageID int64 `json:"messageId,omitempty"`
}

// Series is the schedule of a recurring call: Cron in TimeZone, or Every on Anchor.
// Its occurrences are stored one at a time: when one finishes, the store inserts the
// next, in the transaction that records the outcome.
type Series struct {
	// ID identifies the series; the store assigns it to a new series.
	ID       int64         `json:"id"`
	Cron     string        `json:"cron,omitempty"`
	TimeZone string        `json:"timezone,omitempty"`
	Every    time.Duration `json:"every,omitempty"`
	Anchor   time.Time     `json:"anchor,omitempty"`
}

// Retry is the retry policy stored with a call, fixed when it was scheduled.
type Retry = abi.Retry

// NewCall is a call to schedule. Args must already fit the method's signature.
type NewCall struct {
	Plugin     string
	Method     string
	Args       json.RawMessage
	RunAt      time.Time
	Identifier string
	Retry      Retry
	// Series makes the call the first occurrence of a new series (Series.ID zero), or
	// the next occurrence of an existing one.
	Series *Series
	// MessageID is the message the call delivers; Publish sets it.
	MessageID int64
}

// callColumns are selected, in this order, by scanCall.
const callColumns = `id, plugin, method, args, run_at, coalesce(identifier, ''), created_at, attempt,
	max_attempts, backoff_ms, max_backoff_ms, coalesce(claimed_by, ''), claimed_at, lease_until, coalesce(last_error, ''),
	series_id, coalesce(cron, ''), coalesce(timezone, ''), every_ms, anchor, coalesce(message_id, 0)`

func scanCall(row pgx.Row) (Call, error) {
	var c Call
	var backoff, maxBackoff int64
	var series seriesColumns
	err := row.Scan(&c.ID, &c.Plugin, &c.Method, &c.Args, &c.RunAt, &c.Identifier, &c.CreatedAt, &c.Attempt,
		&c.Retry.MaxAttempts, &backoff, &maxBackoff, &c.ClaimedBy, &c.ClaimedAt, &c.LeaseUntil, &c.LastError,
		&series.id, &series.cron, &series.timezone, &series.everyMS, &series.anchor, &c.MessageID)
	if err != nil {
		return Call{}, err
	}
	c.Series = series.series()
	c.Retry.Backoff = time.Duration(backoff) * time.Millisecond
	c.Retry.MaxBackoff = time.Duration(maxBackoff) * time.Millisecond
	c.RunAt, c.CreatedAt = c.RunAt.UTC(), c.CreatedAt.UTC()
	c.ClaimedAt, c.LeaseUntil = utcPtr(c.ClaimedAt), utcPtr(c.LeaseUntil)
	return c, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// seriesColumns are the series columns of a row as scanned.
type seriesColumns struct {
	id       *int64
	cron     string
	timezone string
	everyMS  *int64
	anchor   *time.Time
}

func (c seriesColumns) series() *Series {
	if c.id == nil {
		return nil
	}
	s := &Series{ID: *c.id, Cron: c.cron, TimeZone: c.timezone}
	if c.everyMS != nil {
		s.Every = time.Duration(*c.everyMS) * time.Millisecond
	}
	if c.anchor != nil {
		s.Anchor = c.anchor.UTC()
	}
	return s
}
