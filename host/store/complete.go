package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/jackc/pgx/v5"
)

// Complete records outcomes of calls host claimed, in one transaction: each finished
// call is removed and written to the history, each call to retry goes back to the
// schedule, and the effects of successful calls are applied. An outcome whose claim
// was lost (its lease ran out and another host reaped it, perhaps claiming the call
// again since) is not recorded and its effects are dropped; Complete returns those
// attempts, so the caller can report them.
//
// The state writes of a success (Outcome.State) are committed first, each plugin's one
// outcome at a time (commitState). A success whose writes cannot commit, because a key
// it read has changed since or because its writes would exceed the plugin's key limit,
// is recorded as failed instead, with the reason, its effects dropped, and retried at
// State.RetryAt if set; Complete says so in State.Failed. Writes of keys the call did
// not read are applied in commit order: the last commit wins.
func (s *Store) Complete(ctx context.Context, host string, outcomes []Outcome) (lost []Attempt, err error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		failed, err := s.commitState(ctx, tx, host, outcomes)
		if err != nil {
			return err
		}
		batch := outcomes
		if len(failed) > 0 {
			batch = slices.Clone(outcomes)
			for i, reason := range failed {
				batch[i].Kind, batch[i].Error, batch[i].RetryAt = abi.OutcomeFailed, reason, batch[i].State.RetryAt
			}
		}
		recorded, err := s.record(ctx, tx, host, batch)
		if err != nil {
			return err
		}
		lost = lost[:0]
		for _, o := range batch {
			if !recorded[attemptOf(o)] {
				lost = append(lost, attemptOf(o))
			}
		}
		return s.applyEffects(ctx, tx, host, batch, recorded)
	})
	if err != nil {
		return nil, fmt.Errorf("record outcomes: %w", err)
	}
	return lost, nil
}

// ownClaims selects the calls of a batch of outcomes that host $1 still holds: the ids
// in $2, found through the primary key, claimed by $1. The plan must not depend on
// statistics, which rarely see a claimed call (claims are transient) and so estimate
// that nothing matches "claimed_by = $1": the planner then walked every claimed call, or
// the whole table, for each outcome, and a batch of 512 outcomes took 0.1 to 1.7 s with
// 20,000 calls claimed. "id = ANY($2)" bounds the rows read to the batch; IS NOT
// DISTINCT FROM, the same test for a non-null host, does not imply the predicate of the
// partial index future_call_lease, which would otherwise look cheapest. The statements
// compare the attempt with one value ($3) rather than join the outcomes: on the same
// estimate the join is a nested loop, quadratic in the batch (60 ms for 512 outcomes).
const ownClaims = "c.id = ANY($2::bigint[]) AND c.claimed_by IS NOT DISTINCT FROM $1 AND c.attempt = $3"

// record writes the outcomes whose claim still holds and returns their attempts.
func (s *Store) record(ctx context.Context, tx pgx.Tx, host string, outcomes []Outcome) (map[Attempt]bool, error) {
	// Outcomes are written in groups of one attempt number (see ownClaims): one group
	// but for retries.
	var done, retry []*outcomeColumns
	for _, o := range outcomes {
		if o.RetryAt != nil {
			retry = addByAttempt(retry, o)
		} else {
			done = addByAttempt(done, o)
		}
	}
	recorded := make(map[Attempt]bool, len(outcomes))
	collect := func(rows pgx.Rows, attempt int32) error {
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			recorded[Attempt{ID: id, Attempt: int(attempt)}] = true
		}
		return rows.Err()
	}
	for _, done := range done {
		rows, err := tx.Query(ctx, `
			WITH o AS (
				SELECT * FROM unnest($2::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::text[])
					AS o(id, outcome, error, started_at, finished_at, http_requests, plugin_version)
			), gone AS (
				DELETE FROM future_call c
				WHERE `+ownClaims+`
				RETURNING c.*
			), history AS (
				INSERT INTO future_call_history (call_id, plugin, method, args, identifier, scheduled_at, started_at,
					finished_at, attempt, outcome, error, host, series_id, http_requests, plugin_version)
				SELECT g.id, g.plugin, g.method, g.args, g.identifier, g.run_at, o.started_at, o.finished_at,
					$3, o.outcome, o.error, $1, g.series_id, o.http_requests, o.plugin_version
				FROM gone g JOIN o ON o.id = g.id
			)
			-- Most calls are one-off: only an occurrence that gets a successor is read back.
			SELECT id, CASE WHEN series_id IS NOT NULL AND NOT series_stopped THEN to_jsonb(gone) END FROM gone`,
			host, done.ids, done.attempt, done.kinds, done.errors, done.started, done.finished, done.httpRequests, done.versions)
		if err != nil {
			return nil, err
		}
		finished, err := collectFinished(rows, recorded, int(done.attempt))
		if err != nil {
			return nil, err
		}
		if err := s.insertSuccessors(ctx, tx, finished, int(done.attempt), outcomes); err != nil {
			return nil, err
		}
	}
	for _, retry := range retry {
		rows, err := tx.Query(ctx, `
			WITH o AS (
				SELECT * FROM unnest($2::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
					$9::int[], $10::text[]) AS o(id, outcome, error, started_at, finished_at, retry_at, http_requests, plugin_version)
			), old AS (
				SELECT c.id, c.run_at FROM future_call c
				WHERE `+ownClaims+`
				FOR UPDATE
			), back AS (
				UPDATE future_call c
				SET claimed_by = NULL, claimed_at = NULL, lease_until = NULL, run_at = o.retry_at, last_error = o.error
				FROM o, old
				WHERE c.id = o.id AND old.id = o.id
				RETURNING c.id, c.plugin, c.method, c.args, c.identifier, old.run_at AS scheduled_at, c.series_id
			)
			INSERT INTO future_call_history (call_id, plugin, method, args, identifier, scheduled_at, started_at,
				finished_at, attempt, outcome, error, host, retry_at, series_id, http_requests, plugin_version)
			SELECT b.id, b.plugin, b.method, b.args, b.identifier, b.scheduled_at, o.started_at, o.finished_at,
				$3, o.outcome, o.error, $1, o.retry_at, b.series_id, o.http_requests, o.plugin_version
			FROM back b JOIN o ON o.id = b.id
			RETURNING call_id`,
			host, retry.ids, retry.attempt, retry.kinds, retry.errors, retry.started, retry.finished, retry.retryAt,
			retry.httpRequests, retry.versions)
		if err != nil {
			return nil, err
		}
		if err := collect(rows, retry.attempt); err != nil {
			return nil, err
		}
	}
	return recorded, nil
}

// outcomeOf finds the outcome of attempt a among outcomes.
func outcomeOf(outcomes []Outcome, a Attempt) Outcome {
	for _, o := range outcomes {
		if attemptOf(o) == a {
			return o
		}
	}
	return Outcome{}
}

// outcomeColumns holds outcomes column by column, for unnest.
type outcomeColumns struct {
	attempt           int32 // of every outcome
	ids               []int64
	kinds             []string
	errors            []*string
	started, finished []time.Time
	retryAt           []time.Time
	httpRequests      []int32
	versions          []*string
}

// addByAttempt adds o to the group of its attempt number, starting one if needed.
func addByAttempt(groups []*outcomeColumns, o Outcome) []*outcomeColumns {
	i := slices.IndexFunc(groups, func(c *outcomeColumns) bool { return c.attempt == int32(o.Attempt) })
	if i < 0 {
		groups = append(groups, &outcomeColumns{attempt: int32(o.Attempt)})
		i = len(groups) - 1
	}
	groups[i].add(o)
	return groups
}

func (c *outcomeColumns) add(o Outcome) {
	c.ids = append(c.ids, o.ID)
	c.kinds = append(c.kinds, string(o.Kind))
	c.errors = append(c.errors, nullIfEmpty(o.Error))
	c.started = append(c.started, o.StartedAt.UTC())
	c.finished = append(c.finished, o.FinishedAt.UTC())
	c.httpRequests = append(c.httpRequests, int32(o.HTTPRequests))
	c.versions = append(c.versions, nullIfEmpty(o.PluginVersion))
	if o.RetryAt != nil {
		c.retryAt = append(c.retryAt, o.RetryAt.UTC())
	}
}

// applyEffects applies, in order, the effects of the recorded successful outcomes.
// Follow-ups are inserted in bulk; a cancellation or a message first flushes the
// follow-ups before it, so that schedule-then-cancel removes the new call too.
func (s *Store) applyEffects(ctx context.Context, tx pgx.Tx, host string, outcomes []Outcome, recorded map[Attempt]bool) error {
	var pending []NewCall
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		_, err := s.insert(ctx, tx, pending, nil, false)
		pending = pending[:0]
		return err
	}
	for _, o := range outcomes {
		if o.Kind != abi.OutcomeSucceeded || !recorded[attemptOf(o)] {
			continue
		}
		for _, e := range o.Effects {
			switch {
			case e.Schedule != nil:
				pending = append(pending, *e.Schedule)
			case e.CancelIdentifier != "":
				if err := flush(); err != nil {
					return err
				}
				if _, _, err := cancelIdentifier(ctx, tx, e.CancelIdentifier, host); err != nil {
					return err
				}
			case e.Publish != nil:
				// In order: a cancellation after it removes its deliveries too.
				if err := flush(); err != nil {
					return err
				}
				if _, err := s.publish(ctx, tx, []NewMessage{*e.Publish}); err != nil {
					return err
				}
			default:
				return errors.New("empty effect")
			}
		}
	}
	return flush()
}
