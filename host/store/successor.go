package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/series"
)

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
		if o.Kind == abi.OutcomeBroken {
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
