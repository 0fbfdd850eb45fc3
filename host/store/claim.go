package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/host/series"
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

// Outcome kinds, as stored in the history.
const (
	Succeeded     = "succeeded"
	Failed        = "failed"
	TimedOut      = "timed_out"
	Interrupted   = "interrupted"
	Broken        = "broken"
	DeletedBroken = "deleted_broken"
	Cancelled     = "cancelled"
)

// Outcome is the result of one attempt of a claimed call.
type Outcome struct {
	// ID and Attempt identify the claim; the outcome is dropped when the claim was lost.
	ID      int64
	Attempt int
	// Kind is Succeeded, Failed, TimedOut, Interrupted or Broken.
	Kind       string
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// RetryAt, when set, puts the call back in the schedule for another attempt
	// instead of removing it.
	RetryAt *time.Time
	// Effects are the follow-up calls and cancellations the call asked for, applied in
	// order, only if it succeeded.
	Effects []Effect
}

// Attempt names one attempt of a call, which is one claim of it: a reap ends the claim,
// and the next claim is the next attempt. Outcomes are matched to the schedule by
// attempt, never by call id alone, so that an attempt whose claim was reaped cannot
// commit effects on the strength of a later attempt's claim.
type Attempt struct {
	ID      int64
	Attempt int
}

// attemptOf is the attempt o is the outcome of.
func attemptOf(o Outcome) Attempt { return Attempt{ID: o.ID, Attempt: o.Attempt} }

// Effect is one fc.schedule or fc.cancel request of a call: either Schedule or
// CancelIdentifier is set.
type Effect struct {
	Schedule         *NewCall
	CancelIdentifier string
}

// Complete records outcomes of calls host claimed, in one transaction: each finished
// call is removed and written to the history, each call to retry goes back to the
// schedule, and the effects of successful calls are applied. An outcome whose claim
// was lost (its lease ran out and another host reaped it, perhaps claiming the call
// again since) is not recorded and its effects are dropped; Complete returns those
// attempts, so the caller can report them.
func (s *Store) Complete(ctx context.Context, host string, outcomes []Outcome) (lost []Attempt, err error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		recorded, err := s.record(ctx, tx, host, outcomes)
		if err != nil {
			return err
		}
		lost = lost[:0]
		for _, o := range outcomes {
			if !recorded[attemptOf(o)] {
				lost = append(lost, attemptOf(o))
			}
		}
		return s.applyEffects(ctx, tx, host, outcomes, recorded)
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
				SELECT * FROM unnest($2::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
					AS o(id, outcome, error, started_at, finished_at)
			), gone AS (
				DELETE FROM future_call c
				WHERE `+ownClaims+`
				RETURNING c.*
			), history AS (
				INSERT INTO future_call_history (call_id, plugin, method, args, identifier, scheduled_at, started_at,
					finished_at, attempt, outcome, error, host, series_id)
				SELECT g.id, g.plugin, g.method, g.args, g.identifier, g.run_at, o.started_at, o.finished_at,
					$3, o.outcome, o.error, $1, g.series_id
				FROM gone g JOIN o ON o.id = g.id
			)
			-- Most calls are one-off: only an occurrence that gets a successor is read back.
			SELECT id, CASE WHEN series_id IS NOT NULL AND NOT series_stopped THEN to_jsonb(gone) END FROM gone`,
			host, done.ids, done.attempt, done.kinds, done.errors, done.started, done.finished)
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
				SELECT * FROM unnest($2::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
					AS o(id, outcome, error, started_at, finished_at, retry_at)
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
				finished_at, attempt, outcome, error, host, retry_at, series_id)
			SELECT b.id, b.plugin, b.method, b.args, b.identifier, b.scheduled_at, o.started_at, o.finished_at,
				$3, o.outcome, o.error, $1, o.retry_at, b.series_id
			FROM back b JOIN o ON o.id = b.id
			RETURNING call_id`,
			host, retry.ids, retry.attempt, retry.kinds, retry.errors, retry.started, retry.finished, retry.retryAt)
		if err != nil {
			return nil, err
		}
		if err := collect(rows, retry.attempt); err != nil {
			return nil, err
		}
	}
	return recorded, nil
}

// occurrence is the row of a series' occurrence whose final outcome was just recorded,
// as the database writes it in JSON.
type occurrence struct {
	ID           int64           `json:"id"`
	Plugin       string          `json:"plugin"`
	Method       string          `json:"method"`
	Args         json.RawMessage `json:"args"`
	RunAt        time.Time       `json:"run_at"`
	Identifier   *string         `json:"identifier"`
	MaxAttempts  int             `json:"max_attempts"`
	BackoffMS    int64           `json:"backoff_ms"`
	MaxBackoffMS int64           `json:"max_backoff_ms"`
	SeriesID     int64           `json:"series_id"`
	Cron         *string         `json:"cron"`
	TimeZone     *string         `json:"timezone"`
	EveryMS      *int64          `json:"every_ms"`
	Anchor       *time.Time      `json:"anchor"`
}

// collectFinished marks the calls removed by an outcome of attempt recorded and returns
// the occurrences among them that get a successor.
func collectFinished(rows pgx.Rows, recorded map[Attempt]bool, attempt int) ([]occurrence, error) {
	defer rows.Close()
	var out []occurrence
	for rows.Next() {
		var id int64
		var row []byte
		if err := rows.Scan(&id, &row); err != nil {
			return nil, err
		}
		recorded[Attempt{ID: id, Attempt: attempt}] = true
		if row == nil {
			continue
		}
		var o occurrence
		if err := json.Unmarshal(row, &o); err != nil {
			return nil, fmt.Errorf("read occurrence %d: %w", id, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// next is the call that follows o in its series, due at.
func (o occurrence) next(at time.Time) NewCall {
	c := NewCall{Plugin: o.Plugin, Method: o.Method, Args: o.Args, RunAt: at,
		Retry:  Retry{MaxAttempts: o.MaxAttempts, Backoff: time.Duration(o.BackoffMS) * time.Millisecond, MaxBackoff: time.Duration(o.MaxBackoffMS) * time.Millisecond},
		Series: &Series{ID: o.SeriesID}}
	if o.Identifier != nil {
		c.Identifier = *o.Identifier
	}
	if o.Cron != nil {
		c.Series.Cron = *o.Cron
	}
	if o.TimeZone != nil {
		c.Series.TimeZone = *o.TimeZone
	}
	if o.EveryMS != nil {
		c.Series.Every = time.Duration(*o.EveryMS) * time.Millisecond
	}
	if o.Anchor != nil {
		c.Series.Anchor = o.Anchor.UTC()
	}
	return c
}

// insertSuccessors inserts the next occurrence of every series whose occurrence just
// finished, unless the series was cancelled meanwhile or the occurrence was broken (its
// successors would be broken too). The next run time is computed from the outcome's
// finishing time, so runs missed while no host was up collapse into the one that just
// ran. The unique (series_id, run_at) index makes each successor appear exactly once.
func (s *Store) insertSuccessors(ctx context.Context, tx pgx.Tx, finished []occurrence, attempt int, outcomes []Outcome) error {
	var next []NewCall
	for _, f := range finished {
		o := outcomeOf(outcomes, Attempt{ID: f.ID, Attempt: attempt})
		if o.Kind == Broken {
			continue
		}
		c := f.next(time.Time{})
		sched, err := series.Parse(series.Spec{Cron: c.Series.Cron, TimeZone: c.Series.TimeZone,
			Every: c.Series.Every, Start: c.Series.Anchor})
		if err != nil {
			// A schedule this host cannot read (a time zone its database lacks, say) ends
			// the series, visibly, rather than failing every outcome of the batch.
			if _, err := tx.Exec(ctx, `UPDATE future_call_history SET error = concat_ws('; ', error, $2::text)
				WHERE call_id = $1 AND retry_at IS NULL`, f.ID, "series ended: its schedule cannot be read: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		c.RunAt = sched.Successor(f.RunAt.UTC(), o.FinishedAt)
		if c.RunAt.IsZero() {
			continue // a cron expression with no run left
		}
		next = append(next, c)
	}
	if len(next) == 0 {
		return nil
	}
	_, err := s.insert(ctx, tx, next, nil, true)
	return err
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
	c.kinds = append(c.kinds, o.Kind)
	c.errors = append(c.errors, nullIfEmpty(o.Error))
	c.started = append(c.started, o.StartedAt.UTC())
	c.finished = append(c.finished, o.FinishedAt.UTC())
	if o.RetryAt != nil {
		c.retryAt = append(c.retryAt, o.RetryAt.UTC())
	}
}

// applyEffects applies, in order, the effects of the recorded successful outcomes.
// Follow-ups are inserted in bulk; a cancellation first flushes the follow-ups before
// it, so that schedule-then-cancel removes the new call too.
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
		if o.Kind != Succeeded || !recorded[attemptOf(o)] {
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
				if _, err := cancelIdentifier(ctx, tx, e.CancelIdentifier, host); err != nil {
					return err
				}
			default:
				return errors.New("empty effect")
			}
		}
	}
	return flush()
}

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
			o := Outcome{Kind: Interrupted, FinishedAt: now}
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
