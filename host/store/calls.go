package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/abi"
)

// ErrRunning means the call is being run by a host and cannot be cancelled any more.
var ErrRunning = errors.New("call is running")

// Schedule stores one call.
func (s *Store) Schedule(ctx context.Context, c NewCall) (Call, error) {
	calls, err := s.ScheduleBatch(ctx, []NewCall{c})
	if err != nil {
		return Call{}, err
	}
	return calls[0], nil
}

// ScheduleBatch stores calls atomically: all of them or none. It returns them stored,
// in the order given.
func (s *Store) ScheduleBatch(ctx context.Context, calls []NewCall) ([]Call, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	// One round trip: the insert and its wake-up go as one batch, which PostgreSQL runs
	// as one implicit transaction. An explicit one took three round trips (BEGIN, the
	// insert, COMMIT), and the single-call rate of the API was bound by them.
	query, params, notify := s.insertQuery(calls, false)
	b := &pgx.Batch{}
	b.Queue(query, params...)
	if notify != "" {
		b.Queue("SELECT pg_notify($1, $2)", DueChannel, notify)
	}
	br := s.pool.SendBatch(ctx, b)
	out, err := readInserted(br, len(calls), notify != "")
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("schedule calls: %w", err)
	}
	return out, nil
}

// readInserted reads the results of an insert batch: the stored calls, then the
// notification when one was sent.
func readInserted(br pgx.BatchResults, n int, notified bool) ([]Call, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	out, err := appendCalls(rows, make([]Call, 0, n))
	if err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("inserted %d calls, want %d", len(out), n)
	}
	if notified {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insert adds calls inside tx and wakes executors when one is due soon. It appends the
// stored calls to out. With successors, the calls are next occurrences of series, and
// one whose series already has an occurrence at that time is skipped.
func (s *Store) insert(ctx context.Context, tx pgx.Tx, calls []NewCall, out []Call, successors bool) ([]Call, error) {
	query, params, notify := s.insertQuery(calls, successors)
	rows, err := tx.Query(ctx, query, params...)
	if err != nil {
		return nil, err
	}
	// INSERT … SELECT FROM unnest inserts, and returns, rows in array order.
	start := len(out)
	out, err = appendCalls(rows, out)
	if err != nil {
		return nil, err
	}
	if len(out)-start != len(calls) && !successors {
		return nil, fmt.Errorf("inserted %d calls, want %d", len(out)-start, len(calls))
	}
	if notify != "" {
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", DueChannel, notify); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertQuery returns the statement that inserts calls and returns them stored, its
// arguments, and the payload of the wake-up to send with it: the earliest run time when
// it is due within notifyWithin, else "". With successors, a series occurrence that
// already exists is skipped.
func (s *Store) insertQuery(calls []NewCall, successors bool) (query string, params []any, notify string) {
	n := len(calls)
	plugins, methods, args := make([]string, n), make([]string, n), make([]string, n)
	runAt, idents := make([]time.Time, n), make([]*string, n)
	maxAttempts, backoff, maxBackoff := make([]int32, n), make([]int64, n), make([]int64, n)
	recurring, seriesIDs := make([]bool, n), make([]*int64, n)
	crons, zones, everyMS, anchors := make([]*string, n), make([]*string, n), make([]*int64, n), make([]*time.Time, n)
	messageIDs := make([]*int64, n)
	earliest := calls[0].RunAt
	for i, c := range calls {
		plugins[i], methods[i], runAt[i], idents[i] = c.Plugin, c.Method, c.RunAt.UTC(), nullIfEmpty(c.Identifier)
		args[i] = string(c.Args)
		if len(c.Args) == 0 {
			args[i] = "{}"
		}
		r := withDefaults(c.Retry)
		maxAttempts[i], backoff[i], maxBackoff[i] = int32(r.MaxAttempts), r.Backoff.Milliseconds(), r.MaxBackoff.Milliseconds()
		if sr := c.Series; sr != nil {
			recurring[i], crons[i], zones[i] = true, nullIfEmpty(sr.Cron), nullIfEmpty(sr.TimeZone)
			if sr.ID != 0 {
				seriesIDs[i] = &sr.ID
			}
			if sr.Every > 0 {
				ms, anchor := sr.Every.Milliseconds(), sr.Anchor.UTC()
				everyMS[i], anchors[i] = &ms, &anchor
			}
		}
		if c.MessageID != 0 {
			messageIDs[i] = &c.MessageID
		}
		if c.RunAt.Before(earliest) {
			earliest = c.RunAt
		}
	}
	conflict := ""
	if successors {
		conflict = " ON CONFLICT (series_id, run_at) WHERE series_id IS NOT NULL DO NOTHING"
	}
	query = `
		INSERT INTO future_call (plugin, method, args, run_at, identifier, max_attempts, backoff_ms, max_backoff_ms,
			series_id, cron, timezone, every_ms, anchor, message_id)
		SELECT p, m, a::jsonb, r, i, ma, b, mb,
			CASE WHEN rec THEN coalesce(sid, nextval('future_call_series_id')) END, cr, tz, ev, an, msg
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::bigint[], $8::bigint[],
			$9::bool[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::timestamptz[], $15::bigint[])
			AS t(p, m, a, r, i, ma, b, mb, rec, sid, cr, tz, ev, an, msg)` + conflict + `
		RETURNING ` + callColumns
	params = []any{plugins, methods, args, runAt, idents, maxAttempts, backoff, maxBackoff,
		recurring, seriesIDs, crons, zones, everyMS, anchors, messageIDs}
	if time.Until(earliest) < s.notifyWithin {
		notify = strconv.FormatInt(earliest.UnixMilli(), 10)
	}
	return query, params, notify
}

// withDefaults fills the unset fields of a retry policy with abi's defaults.
func withDefaults(r Retry) Retry {
	if r.MaxAttempts < 1 {
		r.MaxAttempts = 1
	}
	if r.Backoff <= 0 {
		r.Backoff = abi.DefaultBackoff
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = max(r.Backoff, abi.DefaultMaxBackoff)
	}
	return r
}

func appendCalls(rows pgx.Rows, out []Call) ([]Call, error) {
	defer rows.Close()
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Get returns the stored call with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Call, error) {
	c, err := scanCall(s.pool.QueryRow(ctx, "SELECT "+callColumns+" FROM future_call WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Call{}, ErrNotFound
	}
	if err != nil {
		return Call{}, fmt.Errorf("get call %d: %w", id, err)
	}
	return c, nil
}

// Filter selects stored calls; zero fields match everything.
type Filter struct {
	Plugin     string
	Method     string
	Identifier string
	// DueBefore and DueAfter bound the run time: run_at < DueBefore, run_at >= DueAfter.
	DueBefore *time.Time
	DueAfter  *time.Time
}

// Page asks for one page of a listing: up to Limit rows after the Cursor of the
// previous page (empty for the first page), and no more than fit MaxBytes.
type Page struct {
	Cursor string
	Limit  int
	// MaxBytes bounds the bytes of a page's rows (their arguments, errors and
	// identifiers, plus a fixed overhead per row): a page ends early, with a cursor,
	// once the next row would exceed it, and a first row larger than MaxBytes comes
	// alone. It bounds the host's memory for one listing, whatever the table holds.
	// Defaults to DefaultPageBytes.
	MaxBytes int64
}

// MaxPageLimit bounds Page.Limit.
const MaxPageLimit = 1000

// ErrBadCursor means a page cursor was not one the store handed out.
var ErrBadCursor = errors.New("invalid page cursor")

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// List returns stored calls matching f, ordered by run time then id, one page at a
// time (keyset pagination: a page stays correct while calls are added and removed),
// bounded by p's rows and bytes.
// next is the cursor of the following page, empty after the last one.
func (s *Store) List(ctx context.Context, f Filter, p Page) (calls []Call, next string, err error) {
	var q query
	q.where("plugin", "=", f.Plugin)
	q.where("method", "=", f.Method)
	q.where("identifier", "=", f.Identifier)
	if f.DueBefore != nil {
		q.cond("run_at < " + q.arg(*f.DueBefore))
	}
	if f.DueAfter != nil {
		q.cond("run_at >= " + q.arg(*f.DueAfter))
	}
	if p.Cursor != "" {
		at, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		q.cond("(run_at, id) > (" + q.arg(at) + ", " + q.arg(id) + ")")
	}
	more, err := s.boundedPage(ctx, pageQuery{
		table: "future_call", columns: callColumns,
		order: "run_at, id",
		size:  "octet_length(args::text) + coalesce(octet_length(last_error), 0) + coalesce(octet_length(identifier), 0)",
		where: q,
	}, p, func(row pgx.Row) error {
		c, err := scanCall(row)
		calls = append(calls, c)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("list calls: %w", err)
	}
	if more && len(calls) > 0 {
		last := calls[len(calls)-1]
		next = encodeCursor(last.RunAt, last.ID)
	}
	return calls, next, nil
}

// query collects the conditions and arguments of a dynamic WHERE clause.
type query struct {
	conds []string
	args  []any
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) cond(c string) { q.conds = append(q.conds, c) }

// where adds "column op value" unless value is empty.
func (q *query) where(column, op, value string) {
	if value != "" {
		q.cond(column + " " + op + " " + q.arg(value))
	}
}

func (q *query) whereSQL() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

func encodeCursor(t time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "," + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	a, b2, ok := strings.Cut(string(b), ",")
	micros, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b2, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	return time.UnixMicro(micros).UTC(), id, nil
}

// Cancel removes the waiting call with the given id and records it in the history as
// cancelled. It returns ErrNotFound when there is no such call and ErrRunning when a
// host is running it.
func (s *Store) Cancel(ctx context.Context, id int64, host string) error {
	tag, err := s.pool.Exec(ctx, cancelSQL("id = $1"), id, host)
	if err != nil {
		return fmt.Errorf("cancel call %d: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if c.ClaimedBy != "" {
		return ErrRunning
	}
	return fmt.Errorf("cancel call %d: not removed", id)
}

// CancelIdentifier removes every waiting call carrying identifier, records each in the
// history as cancelled, and returns how many there were (Serverpod's
// cancel(identifier)) and how many recurring series it stopped. Calls already running
// finish, but a running occurrence of a series gets no successor: cancelling stops the
// whole series, which seriesStopped counts even when no waiting call was removed.
func (s *Store) CancelIdentifier(ctx context.Context, identifier, host string) (cancelled, seriesStopped int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		cancelled, seriesStopped, err = cancelIdentifier(ctx, tx, identifier, host)
		return err
	})
	return cancelled, seriesStopped, err
}

// cancelSQL deletes the waiting calls matching where ($1) into the history, recorded by
// host ($2).
func cancelSQL(where string) string {
	return `WITH gone AS (DELETE FROM future_call WHERE ` + where + ` AND claimed_by IS NULL RETURNING *)
		INSERT INTO future_call_history (call_id, plugin, method, args, identifier, scheduled_at, finished_at, attempt, outcome, host, series_id)
		SELECT id, plugin, method, args, identifier, run_at, now(), attempt, '` + string(abi.OutcomeCancelled) + `', $2, series_id FROM gone`
}

// cancelIdentifier cancels by identifier inside tx: it removes the waiting calls into
// the history and stops the series whose occurrence is running, so that it gets no
// successor. It returns how many waiting calls it removed, and how many series it
// stopped (those of the removed occurrences and of the running ones).
//
// Three statements, each with a snapshot of its own (READ COMMITTED): a call claimed
// while the first one ran is stopped by the second; a successor committed by a host
// recording its outcome meanwhile is removed by the third. The second blocks on an
// occurrence whose outcome is being recorded, and a host recording it after the second
// sees series_stopped. So a cancelled series keeps no successor, however the cancel
// and the outcome interleave.
func cancelIdentifier(ctx context.Context, tx pgx.Tx, identifier, host string) (removed, stopped int64, err error) {
	series := map[int64]bool{}
	// each runs a statement returning the series_id of each row it touched, and counts
	// the rows into n.
	each := func(n *int64, sql string, args ...any) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id *int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			*n++
			if id != nil {
				series[*id] = true
			}
		}
		return rows.Err()
	}
	remove := cancelSQL("identifier = $1") + " RETURNING series_id"
	if err := each(&removed, remove, identifier, host); err != nil {
		return 0, 0, fmt.Errorf("cancel calls with identifier %q: %w", identifier, err)
	}
	var running int64
	if err := each(&running, `UPDATE future_call SET series_stopped = true
		WHERE identifier = $1 AND claimed_by IS NOT NULL AND series_id IS NOT NULL RETURNING series_id`, identifier); err != nil {
		return 0, 0, fmt.Errorf("stop series with identifier %q: %w", identifier, err)
	}
	if err := each(&removed, remove, identifier, host); err != nil {
		return 0, 0, fmt.Errorf("cancel calls with identifier %q: %w", identifier, err)
	}
	return removed, int64(len(series)), nil
}

// CountUpTo counts stored calls, stopping at limit: cheap however many there are.
func (s *Store) CountUpTo(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM future_call LIMIT $1) t", limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count calls: %w", err)
	}
	return n, nil
}

// CountIdentifier counts the waiting calls carrying identifier: those a cancellation
// by identifier would remove now.
func (s *Store) CountIdentifier(ctx context.Context, identifier string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM future_call WHERE identifier = $1 AND claimed_by IS NULL", identifier).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count calls with identifier %q: %w", identifier, err)
	}
	return n, nil
}
