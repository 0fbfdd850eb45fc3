package store

import (
	"context"
	"fmt"
	"time"
)

// trimBatch is how many history rows one statement of TrimHistory deletes.
const trimBatch = 5000

// TrimHistory deletes history rows of attempts finished before cutoff and returns how
// many it deleted. It deletes in batches, oldest first, so that no long lock is held,
// and each batch starts where the previous one ended on the finished_at index, so that
// no batch walks over the dead tuples of the rows earlier ones deleted, as a plain
// LIMIT scan from the table's start may. After each batch it pauses as long
// as the batch took, so that a trim of millions of rows takes at most about half of
// one connection's time and leaves the rest to the executors (BENCHMARKS.md, P7).
func (s *Store) TrimHistory(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	from := time.Time{} // the oldest finished_at left; nothing older remains
	for {
		start := time.Now()
		var deleted int64
		var last *time.Time
		err := s.pool.QueryRow(ctx, `
			WITH deleted AS (
				DELETE FROM future_call_history WHERE id IN (
					SELECT id FROM future_call_history
					WHERE finished_at >= $1 AND finished_at < $2
					ORDER BY finished_at
					LIMIT $3)
				RETURNING finished_at)
			SELECT count(*), max(finished_at) FROM deleted`, from, cutoff.UTC(), trimBatch).Scan(&deleted, &last)
		if err != nil {
			return total, fmt.Errorf("trim history: %w", err)
		}
		total += deleted
		if deleted < trimBatch {
			return total, nil
		}
		from = *last
		select {
		case <-ctx.Done():
			return total, fmt.Errorf("trim history: %w", ctx.Err())
		case <-time.After(time.Since(start)):
		}
	}
}
