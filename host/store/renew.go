package store

import (
	"context"
	"fmt"
	"time"
)

// Renew extends to lease from now the claims host holds on the calls with the given
// ids, and returns the attempts it renewed. A host renews the claims of the calls it is
// running and of the outcomes it has yet to record, so that a long call or a database
// outage longer than the lease's margin does not get them reaped as interrupted. A claim
// that was reaped meanwhile is not renewed (not even when the same host has claimed the
// call again since: that is another attempt, renewed by its own id and host). A claim
// whose lease ran out but that no host has reaped yet is renewed: nobody else has run
// the call. Rows locked by another transaction (an outcome being recorded, a reaper)
// are skipped, so a renewal never waits.
func (s *Store) Renew(ctx context.Context, host string, ids []int64, lease time.Duration) ([]Attempt, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// See ownClaims for why the host is compared with IS NOT DISTINCT FROM. A row
	// locked right now is being recorded or reaped: renewing it would only wait.
	rows, err := s.pool.Query(ctx, `
		UPDATE future_call c SET lease_until = now() + $3 * interval '1 millisecond'
		FROM (
			SELECT id FROM future_call
			WHERE id = ANY($2::bigint[]) AND claimed_by IS NOT DISTINCT FROM $1
			FOR UPDATE SKIP LOCKED
		) mine
		WHERE c.id = mine.id
		RETURNING c.id, c.attempt`, host, ids, lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	defer rows.Close()
	renewed := make([]Attempt, 0, len(ids))
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.ID, &a.Attempt); err != nil {
			return nil, fmt.Errorf("renew claims: %w", err)
		}
		renewed = append(renewed, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("renew claims: %w", err)
	}
	return renewed, nil
}
