package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Claim takes up to limit due calls of the given plugins for host, oldest first, and
// holds them for lease. Rows another host is claiming at the same moment are skipped
// (FOR UPDATE SKIP LOCKED), so no call is ever claimed twice. Calls of other plugins
// are left to hosts that have them loaded. A claimed call stays stored until its outcome
// is recorded by Complete; if that never happens, Reap finds it once the lease has run
// out.
func (s *Store) Claim(ctx context.Context, host string, limit int, lease time.Duration, plugins []string) ([]Call, error) {
	if limit <= 0 || len(plugins) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		UPDATE future_call c
		SET claimed_by = $1, claimed_at = now(), lease_until = now() + $3 * interval '1 millisecond',
			attempt = c.attempt + 1
		FROM (
			SELECT id AS due_id FROM future_call
			WHERE claimed_by IS NULL AND run_at <= now() AND plugin = ANY($4)
			ORDER BY run_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		) due
		WHERE c.id = due.due_id
		RETURNING `+callColumns, host, limit, lease.Milliseconds(), plugins)
	if err != nil {
		return nil, fmt.Errorf("claim due calls: %w", err)
	}
	calls, err := appendCalls(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("claim due calls: %w", err)
	}
	slices.SortFunc(calls, func(a, b Call) int { return a.RunAt.Compare(b.RunAt) })
	return calls, nil
}

// UntilNextDue returns how long, by the database's clock, until the earliest call of
// the given plugins waiting to be claimed is due (negative when it is overdue), and
// false when none is waiting. Measuring on the database's clock, which Claim uses too,
// keeps a host whose clock runs ahead from waking up before anything is claimable.
func (s *Store) UntilNextDue(ctx context.Context, plugins []string) (time.Duration, bool, error) {
	var micros *int64
	err := s.pool.QueryRow(ctx, `SELECT (extract(epoch FROM min(run_at) - now()) * 1e6)::bigint
		FROM future_call WHERE claimed_by IS NULL AND plugin = ANY($1)`, plugins).Scan(&micros)
	if err != nil {
		return 0, false, fmt.Errorf("next due call: %w", err)
	}
	if micros == nil {
		return 0, false, nil
	}
	return time.Duration(*micros) * time.Microsecond, true, nil
}
