package executor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/metrics"
	"github.com/futurecalls/futurecalls/host/store"
)

// A follow-up the database refuses fails its own call only, not the batch.
func TestRefusedFollowUpFailsOnlyItsCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testdb.Store(t, store.Options{})
	due := time.Now().Add(-time.Second)
	if _, err := s.ScheduleBatch(ctx, []store.NewCall{
		{Plugin: "p", Method: "good", RunAt: due},
		{Plugin: "p", Method: "bad", RunAt: due},
	}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "h", 2, time.Minute, []string{"p"})
	if err != nil || len(claimed) != 2 {
		t.Fatal(claimed, err)
	}
	now := time.Now()
	var batch []store.Outcome
	for _, c := range claimed {
		o := store.Outcome{ID: c.ID, Attempt: 1, Kind: abi.OutcomeSucceeded, StartedAt: now, FinishedAt: now}
		follow := store.NewCall{Plugin: "p", Method: "next", RunAt: now.Add(time.Hour), Identifier: c.Method}
		if c.Method == "bad" {
			follow.Args = json.RawMessage(`{"x": "\u0000"}`) // jsonb cannot hold NUL
		}
		o.Effects = []store.Effect{{Schedule: &follow}}
		batch = append(batch, o)
	}
	e := New(Options{Store: s, Metrics: metrics.New(prometheus.NewRegistry()), Host: "h", Lease: time.Minute})
	if retry := e.record(batch); len(retry) > 0 {
		t.Errorf("outcomes left to retry: %+v", retry)
	}

	rows, err := s.Pool().Query(ctx, "SELECT method, outcome, coalesce(error, '') FROM future_call_history ORDER BY method")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var method, outcome, msg string
		if err := rows.Scan(&method, &outcome, &msg); err != nil {
			t.Fatal(err)
		}
		got[method] = outcome + ": " + msg
	}
	if got["good"] != "succeeded: " || !strings.HasPrefix(got["bad"], "failed: its follow-up calls could not be stored") {
		t.Errorf("history = %v", got)
	}
	left, _, _ := s.List(ctx, store.Filter{}, store.Page{})
	if len(left) != 1 || left[0].Identifier != "good" {
		t.Errorf("follow-ups stored: %+v, want only the good call's", left)
	}
}
