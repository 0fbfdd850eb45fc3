package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// runDue claims the due calls and records outcome for each, as an executor would.
func (e *env) runDue(t *testing.T, outcome abi.Outcome) {
	t.Helper()
	claimed, err := e.store.Claim(ctx, "runner", 1000, time.Minute, []string{"example", "drip"})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []store.Outcome
	for _, c := range claimed {
		now := time.Now()
		o := store.Outcome{ID: c.ID, Attempt: c.Attempt, Kind: outcome, StartedAt: now, FinishedAt: now}
		if outcome != abi.OutcomeSucceeded {
			o.Error = "it went wrong"
		}
		outcomes = append(outcomes, o)
	}
	if _, err := e.store.Complete(ctx, "runner", outcomes); err != nil {
		t.Fatal(err)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	past := time.Now().Add(-time.Minute)
	var reqs []abi.ScheduleRequest
	for i := range 45 {
		reqs = append(reqs, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", At: &past,
			Args: args(t, map[string]any{"data": fmt.Sprint(i)}), Identifier: fmt.Sprintf("batch-%d", i%3)})
	}
	first, err := e.client.ScheduleBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	e.runDue(t, abi.OutcomeSucceeded)
	middle := time.Now()
	time.Sleep(10 * time.Millisecond)
	failed, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "drip", Method: "unsubscribe", At: &past, Args: args(t, map[string]any{"userId": 9})})
	if err != nil {
		t.Fatal(err)
	}
	e.runDue(t, abi.OutcomeFailed)
	cancelled, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "1h", Identifier: "batch-0"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.client.CancelIdentifier(ctx, "batch-0"); err != nil || n.Cancelled != 1 {
		t.Fatal(n, err)
	}

	// Newest first, across pages.
	var ids []int64
	for h, err := range e.client.HistoryAll(ctx, client.HistoryOptions{Limit: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > 0 && h.ID >= ids[len(ids)-1] {
			t.Fatalf("entry %d after %d: not newest first", h.ID, ids[len(ids)-1])
		}
		ids = append(ids, h.ID)
	}
	if len(ids) != 47 {
		t.Fatalf("%d entries, want 47", len(ids))
	}
	page, err := e.client.History(ctx, client.HistoryOptions{Limit: 2})
	if err != nil || len(page.Entries) != 2 || page.NextCursor == "" {
		t.Fatal(page, err)
	}
	if h := page.Entries[0]; h.CallID != cancelled.ID || h.Outcome != "cancelled" || h.Host != "api-test" || h.StartedAt != nil {
		t.Errorf("newest entry = %+v", h)
	}
	if h := page.Entries[1]; h.CallID != failed.ID || h.Outcome != "failed" || h.Error != "it went wrong" || h.Host != "runner" ||
		h.StartedAt == nil || h.Attempt != 1 || string(h.Args) != `{"userId":9}` {
		t.Errorf("failed entry = %+v", h)
	}

	for _, tc := range []struct {
		name string
		opts client.HistoryOptions
		want int
	}{
		{"call", client.HistoryOptions{CallID: first[7].ID}, 1},
		{"plugin", client.HistoryOptions{Plugin: "drip"}, 1},
		{"method", client.HistoryOptions{Plugin: "example", Method: "doOtherWork", Limit: 7}, 45},
		{"identifier", client.HistoryOptions{Identifier: "batch-0"}, 16},
		{"outcome", client.HistoryOptions{Outcome: "succeeded"}, 45},
		{"outcome and identifier", client.HistoryOptions{Outcome: "cancelled", Identifier: "batch-0"}, 1},
		{"finished before", client.HistoryOptions{FinishedBefore: middle}, 45},
		{"finished after", client.HistoryOptions{FinishedAfter: middle}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(t, e.client.HistoryAll(ctx, tc.opts)); got != tc.want {
				t.Errorf("%d entries, want %d", got, tc.want)
			}
		})
	}

	// A cursor of another listing is refused.
	if _, err := e.client.ScheduleBatch(ctx, []abi.ScheduleRequest{{Plugin: "example", Method: "doWork", Delay: "1h"}, {Plugin: "example", Method: "doWork", Delay: "2h"}}); err != nil {
		t.Fatal(err)
	}
	calls, err := e.client.List(ctx, client.ListOptions{Limit: 1})
	if err != nil || calls.NextCursor == "" {
		t.Fatal(calls, err)
	}
	listCursor := calls.NextCursor
	for _, query := range []string{"outcome=exploded", "callId=x", "callId=0", "limit=5000", "finishedAfter=yesterday",
		"cursor=" + listCursor, "cursor=%%%", "status=failed"} {
		resp, body := e.do(t, http.MethodGet, "/v1/history?"+query, "")
		if apiErr := apiError(t, resp, body); resp.StatusCode != 400 || apiErr.Code != client.CodeInvalidParameter {
			t.Errorf("?%s: %d %.200s, want 400 invalid_parameter", query, resp.StatusCode, body)
		}
	}
}
