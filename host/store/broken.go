package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/jackc/pgx/v5"
)

// CallArgs is a stored call reduced to what checking it against its signature needs.
// Its byte slices are only valid until the callback that receives it returns: copy what
// you keep.
type CallArgs struct {
	ID     int64
	Plugin []byte
	Method []byte
	// Args is the arguments object as JSON text.
	Args []byte
}

// argsPage is how many calls EachArgs reads per query. Pages keep the connection free
// between them (a check that deletes what it finds needs one too) and hold no snapshot
// for the whole walk; at this size the per-query cost is lost in the noise.
const argsPage = 20000

// argsFormats asks for the id in binary and the rest as text: the JSON text of a
// jsonb value is exactly what the check parses, and no column needs decoding by pgx.
var argsFormats = pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.TextFormatCode, pgx.TextFormatCode, pgx.TextFormatCode}

// EachArgs calls fn for every stored call, in id order, with its id, plugin, method and
// arguments, reading them a page at a time with constant memory and without allocating
// per call. A call stored while the walk runs is seen if its id is above the page being
// read. It stops at the first error fn returns.
func (s *Store) EachArgs(ctx context.Context, fn func(CallArgs) error) error {
	return s.EachArgsOf(ctx, "", fn)
}

// EachArgsOf is EachArgs limited to the calls of one plugin; an empty plugin means
// every call.
func (s *Store) EachArgsOf(ctx context.Context, plugin string, fn func(CallArgs) error) error {
	var after int64
	for {
		n, last, err := s.argsPage(ctx, after, plugin, fn)
		if err != nil {
			return err
		}
		if n < argsPage {
			return nil
		}
		after = last
	}
}

// argsPage reads the calls with ids above after (of plugin, when not empty), up to
// argsPage of them, and returns how many it read and the last id.
func (s *Store) argsPage(ctx context.Context, after int64, plugin string, fn func(CallArgs) error) (n int, last int64, err error) {
	var rows pgx.Rows
	if plugin == "" {
		rows, err = s.pool.Query(ctx,
			"SELECT id, plugin, method, args FROM future_call WHERE id > $1 ORDER BY id LIMIT $2",
			argsFormats, after, argsPage)
	} else {
		rows, err = s.pool.Query(ctx,
			"SELECT id, plugin, method, args FROM future_call WHERE id > $1 AND plugin = $3 ORDER BY id LIMIT $2",
			argsFormats, after, argsPage, plugin)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read call arguments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != 4 || len(raw[0]) != 8 {
			return 0, 0, fmt.Errorf("read call arguments: unexpected row shape")
		}
		c := CallArgs{ID: int64(binary.BigEndian.Uint64(raw[0])), Plugin: raw[1], Method: raw[2], Args: raw[3]}
		if err := fn(c); err != nil {
			return 0, 0, err
		}
		n, last = n+1, c.ID
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("read call arguments: %w", err)
	}
	return n, last, nil
}

// BrokenCall is a stored call found broken, and why.
type BrokenCall struct {
	ID     int64
	Reason string
}

// deleteBrokenBatch bounds the calls DeleteBroken removes in one statement.
const deleteBrokenBatch = 1000

// DeleteBroken removes the given calls and records each in the history as
// deleted_broken, with its reason as the error and host as the host that removed it. A
// call a host is running right now is left alone (its executor checks the arguments
// before running them); so is one that no longer exists. It works in batches, each
// atomic, and returns how many calls it removed.
func (s *Store) DeleteBroken(ctx context.Context, calls []BrokenCall, host string) (int64, error) {
	var removed int64
	ids := make([]int64, 0, min(len(calls), deleteBrokenBatch))
	reasons := make([]string, 0, cap(ids))
	for start := 0; start < len(calls); start += deleteBrokenBatch {
		ids, reasons = ids[:0], reasons[:0]
		for _, c := range calls[start:min(start+deleteBrokenBatch, len(calls))] {
			ids, reasons = append(ids, c.ID), append(reasons, c.Reason)
		}
		tag, err := s.pool.Exec(ctx, `
			WITH broken AS (SELECT DISTINCT ON (id) id, reason FROM unnest($1::bigint[], $2::text[]) AS b(id, reason)),
			gone AS (
				DELETE FROM future_call c USING broken b
				WHERE c.id = b.id AND c.claimed_by IS NULL
				RETURNING c.id, c.plugin, c.method, c.args, c.identifier, c.run_at, c.attempt, c.series_id, b.reason)
			INSERT INTO future_call_history (call_id, plugin, method, args, identifier, scheduled_at, finished_at, attempt, outcome, error, host, series_id)
			SELECT id, plugin, method, args, identifier, run_at, now(), attempt, '`+string(abi.OutcomeDeletedBroken)+`', reason, $3, series_id FROM gone`,
			ids, reasons, host)
		if err != nil {
			return removed, fmt.Errorf("delete broken calls: %w", err)
		}
		removed += tag.RowsAffected()
	}
	return removed, nil
}
