package store

import (
	"context"
	"fmt"
	"time"
)

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
