package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/jackc/pgx/v5"
)

// Reap finds calls whose claim lease ran out without an outcome — their host died or
// lost the database — and records them as interrupted. A call with attempts left goes
// back to the schedule, due at once; the others are removed. It handles at most limit
// calls and returns how many it handled.
//
// A claimed call is always due (claims take due calls only, and nothing moves run_at
// while a call is claimed), so Reap looks among the due calls only, never at the calls
// stored for the future. No index covers the claim itself: one would make every claim
// write an index entry (see migration 00007). Instead each Reap examines the next
// reapWindow due calls in future_call_run's order, from where the previous one stopped,
// and starts again from the oldest after the newest: with a backlog of due calls, every
// one is examined once in ceil(backlog / reapWindow) reaps, and each reap reads a
// bounded part of the index. Expired claims are usually among the oldest due calls,
// since claims take the oldest first.
func (s *Store) Reap(ctx context.Context, host string, limit int) (int, error) {
	from := s.reaped.get()
	var n int
	var next reapKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var last reapKey
		var examined int
		err := tx.QueryRow(ctx, `
			SELECT run_at, id, count(*) OVER () FROM (
				SELECT run_at, id FROM future_call
				WHERE (run_at, id) > ($1, $2) AND run_at <= now()
				ORDER BY run_at, id
				LIMIT $3
			) w
			ORDER BY run_at DESC, id DESC
			LIMIT 1`, from.runAt, from.id, reapWindow).Scan(&last.runAt, &last.id, &examined)
		if errors.Is(err, pgx.ErrNoRows) {
			next = reapKey{} // nothing due after the cursor: start again from the oldest
			return nil
		}
		if err != nil {
			return err
		}
		next = last
		if examined < reapWindow {
			next = reapKey{} // the window reached the newest due call
		}
		rows, err := tx.Query(ctx, `
			SELECT id, attempt, max_attempts, coalesce(claimed_by, ''), claimed_at, run_at FROM future_call
			WHERE (run_at, id) > ($2, $3) AND (run_at, id) <= ($4, $5)
				AND claimed_by IS NOT NULL AND lease_until < now()
			ORDER BY run_at, id
			LIMIT $1
			FOR UPDATE SKIP LOCKED`, limit, from.runAt, from.id, last.runAt, last.id)
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
			var at reapKey
			if err := rows.Scan(&o.ID, &attempt, &maxAttempts, &claimedBy, &claimedAt, &at.runAt); err != nil {
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
			if at.id = o.ID; n == limit {
				next = at // the rest of the window is examined by the next reap
			}
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
	s.reaped.set(next)
	return n, nil
}

// reapWindow is how many due calls one Reap examines at most.
const reapWindow = 10_000

// reapKey is a position in future_call_run's order; the zero key is before every call.
type reapKey struct {
	runAt time.Time
	id    int64
}

// reapCursor is where Reap's sweep of the due calls stands, shared by the reaps of a Store.
type reapCursor struct {
	mu  sync.Mutex
	key reapKey
}

func (c *reapCursor) get() reapKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.key
}

func (c *reapCursor) set(k reapKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key = k
}
