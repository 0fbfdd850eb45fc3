package store

import (
	"context"
	"fmt"
	"time"
)

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

// TrimHistory deletes history rows of attempts finished before cutoff, in batches so
// that no long lock is held, and returns how many it deleted.
func (s *Store) TrimHistory(ctx context.Context, cutoff time.Time) (int64, error) {
	const batch = 10000
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `
			DELETE FROM future_call_history WHERE id IN (
				SELECT id FROM future_call_history WHERE finished_at < $1 LIMIT $2)`, cutoff.UTC(), batch)
		if err != nil {
			return total, fmt.Errorf("trim history: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < batch {
			return total, nil
		}
	}
}
