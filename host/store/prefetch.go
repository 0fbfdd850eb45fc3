package store

import (
	"context"
	"fmt"
)

// Release hands back calls host claimed and never started (an executor's prefetched
// calls, at shutdown): each is unclaimed and its attempt counter restored, as if the
// claim had never happened, so that it keeps every attempt its retry policy allows and
// leaves no history row. Only claims host still holds, at the attempt it claimed, are
// handed back; a claim reaped or renewed by someone else meanwhile is left alone. One
// statement, with a wake-up on DueChannel, so that other hosts claim the calls at once
// rather than at their next scan. It returns how many calls it handed back.
func (s *Store) Release(ctx context.Context, host string, claims []Attempt) (int, error) {
	if len(claims) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(claims))
	attempts := make([]int32, len(claims))
	for i, a := range claims {
		ids[i], attempts[i] = a.ID, int32(a.Attempt)
	}
	var released int
	err := s.pool.QueryRow(ctx, `
		WITH released AS (
			UPDATE future_call c
			SET claimed_by = NULL, claimed_at = NULL, lease_until = NULL, attempt = c.attempt - 1
			FROM unnest($2::bigint[], $3::int[]) AS a(id, attempt)
			WHERE c.id = a.id AND c.attempt = a.attempt AND c.claimed_by = $1
			RETURNING c.id
		), woken AS (
			SELECT pg_notify($4, (extract(epoch FROM now()) * 1000)::bigint::text)
			FROM (SELECT 1 FROM released LIMIT 1) any_released
		)
		SELECT (SELECT count(*) FROM released), (SELECT count(*) FROM woken)`, host, ids, attempts, DueChannel).Scan(&released, new(int))
	if err != nil {
		return 0, fmt.Errorf("release unstarted claims: %w", err)
	}
	return released, nil
}
