package store

import (
	"context"
	"fmt"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/jackc/pgx/v5"
)

// Reap finds calls whose claim lease ran out without an outcome — their host died or
// lost the database — and records them as interrupted. A call with attempts left goes
// back to the schedule, due at once; the others are removed. It handles at most limit
// calls and returns how many it handled.
func (s *Store) Reap(ctx context.Context, host string, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id, attempt, max_attempts, coalesce(claimed_by, ''), claimed_at FROM future_call
			WHERE claimed_by IS NOT NULL AND lease_until < now()
			ORDER BY lease_until
			LIMIT $1
			FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		// Outcomes are recorded under the dead host's claim, grouped by host.
		byHost := map[string][]Outcome{}
		now := time.Now().UTC()
		for rows.Next() {
			var attempt, maxAttempts int
			var claimedBy string
			var claimedAt *time.Time
			o := Outcome{Kind: abi.OutcomeInterrupted, FinishedAt: now}
			if err := rows.Scan(&o.ID, &attempt, &maxAttempts, &claimedBy, &claimedAt); err != nil {
				rows.Close()
				return err
			}
			o.Attempt = attempt
			o.Error = fmt.Sprintf("interrupted: host %s claimed the call and gave no outcome before its lease ran out (found by host %s)", claimedBy, host)
			if claimedAt != nil {
				o.StartedAt = *claimedAt
			}
			if attempt < maxAttempts {
				o.RetryAt = &now
			}
			byHost[claimedBy] = append(byHost[claimedBy], o)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for claimedBy, outcomes := range byHost {
			if _, err := s.record(ctx, tx, claimedBy, outcomes); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reap expired claims: %w", err)
	}
	return n, nil
}
