package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/abi"
)

// StatsCountLimit caps the counts of Stats (due calls, running calls), so that they
// stay cheap however large the schedule is: a count at the cap means "at least".
const StatsCountLimit = 100_000

// TopFailing is how many methods Stats lists among the most failing ones.
const TopFailing = 5

// Stats is an overview of the schedule now and of the history since a time.
type Stats struct {
	// DueNextHour and DueNextDay count the waiting calls due within an hour and a day
	// of now (overdue ones included); Running counts the calls a host runs now. Each
	// stops at StatsCountLimit.
	DueNextHour, DueNextDay, Running int64
	// Outcomes count the entries of the history by the minute they finished in and
	// their outcome, oldest minute first.
	Outcomes []OutcomeCount
	// Started counts the first attempts that started since then; LatenessP50 and
	// LatenessP99 are the median and the 99th percentile of how late they started after
	// they were due (zero when none started).
	Started                  int64
	LatenessP50, LatenessP99 time.Duration
	// Failing are the methods with the most unsuccessful attempts (failed, timed out,
	// interrupted, broken), most first, at most TopFailing.
	Failing []FailingMethod
}

// OutcomeCount counts the history entries of one minute with one outcome.
type OutcomeCount struct {
	Minute  time.Time
	Outcome abi.Outcome
	Count   int64
}

// FailingMethod is a method whose attempts failed, with its latest error.
type FailingMethod struct {
	Plugin, Method string
	Failures       int64
	LastError      string
	LastFailedAt   time.Time
}

// failureOutcomes are the outcomes Stats counts as failures: attempts that ran, or
// were meant to, and did not succeed.
var failureOutcomes = []string{string(abi.OutcomeFailed), string(abi.OutcomeTimedOut), string(abi.OutcomeInterrupted),
	string(abi.OutcomeBroken), string(abi.OutcomeDeletedBroken)}

// Stats returns the overview at now, of the history finished at or after since. It
// reads the schedule through its indexes and the history through its finish time.
func (s *Store) Stats(ctx context.Context, now, since time.Time) (Stats, error) {
	var st Stats
	count := func(where string, args ...any) (int64, error) {
		var n int64
		err := s.pool.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM future_call WHERE "+where+" LIMIT "+
			fmt.Sprint(StatsCountLimit)+") t", args...).Scan(&n)
		return n, err
	}
	var err error
	if st.DueNextHour, err = count("claimed_by IS NULL AND run_at < $1", now.Add(time.Hour)); err != nil {
		return Stats{}, fmt.Errorf("stats: due calls: %w", err)
	}
	if st.DueNextDay, err = count("claimed_by IS NULL AND run_at < $1", now.Add(24*time.Hour)); err != nil {
		return Stats{}, fmt.Errorf("stats: due calls: %w", err)
	}
	if st.Running, err = count("claimed_by IS NOT NULL"); err != nil {
		return Stats{}, fmt.Errorf("stats: running calls: %w", err)
	}

	rows, _ := s.pool.Query(ctx, `SELECT date_trunc('minute', finished_at), outcome, count(*)
		FROM future_call_history WHERE finished_at >= $1 GROUP BY 1, 2 ORDER BY 1, 2`, since)
	st.Outcomes, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (OutcomeCount, error) {
		var o OutcomeCount
		err := row.Scan(&o.Minute, &o.Outcome, &o.Count)
		o.Minute = o.Minute.UTC()
		return o, err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: outcomes: %w", err)
	}

	var p50, p99 *float64
	err = s.pool.QueryRow(ctx, `SELECT count(*),
			percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_at)),
			percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_at))
		FROM future_call_history WHERE finished_at >= $1 AND attempt = 1 AND started_at IS NOT NULL`, since).
		Scan(&st.Started, &p50, &p99)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: lateness: %w", err)
	}
	seconds := func(f *float64) time.Duration {
		if f == nil {
			return 0
		}
		return time.Duration(*f * float64(time.Second)).Round(time.Millisecond)
	}
	st.LatenessP50, st.LatenessP99 = seconds(p50), seconds(p99)

	rows, _ = s.pool.Query(ctx, `SELECT plugin, method, count(*),
			(array_agg(coalesce(error, '') ORDER BY id DESC))[1], max(finished_at)
		FROM future_call_history WHERE finished_at >= $1 AND outcome = ANY($2)
		GROUP BY plugin, method ORDER BY 3 DESC, 1, 2 LIMIT $3`, since, failureOutcomes, TopFailing)
	st.Failing, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (FailingMethod, error) {
		var f FailingMethod
		err := row.Scan(&f.Plugin, &f.Method, &f.Failures, &f.LastError, &f.LastFailedAt)
		f.LastFailedAt = f.LastFailedAt.UTC()
		return f, err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: failing methods: %w", err)
	}
	return st, nil
}
