package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stats := func(query string) (int, client.Stats) {
		t.Helper()
		resp, body := e.do(t, http.MethodGet, "/v1/stats"+query, "")
		var s client.Stats
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, s
	}

	status, empty := stats("")
	if status != http.StatusOK || empty.DueNextHour != 0 || len(empty.Outcomes) != 0 || empty.Lateness.Started != 0 ||
		empty.Lateness.P50Ms != nil || len(empty.Failing) != 0 || empty.Outcomes == nil || empty.Failing == nil {
		t.Fatalf("stats of an empty schedule: %d %+v", status, empty)
	}
	if got := empty.Until.Sub(empty.Since); got < 179*time.Minute || got > 180*time.Minute {
		t.Errorf("default window %s, want the last 180 minutes (the current one included)", got)
	}

	// Three calls a minute overdue run now: two succeed, one fails.
	past := time.Now().Add(-time.Minute)
	for _, r := range []abi.ScheduleRequest{
		{Plugin: "example", Method: "doWork", At: &past},
		{Plugin: "example", Method: "doOtherWork", At: &past, Args: args(t, map[string]any{"data": "x"})},
	} {
		if _, err := e.client.Schedule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.runDue(t, abi.OutcomeSucceeded)
	if _, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "drip", Method: "unsubscribe", At: &past, Args: args(t, map[string]any{"userId": 9})}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t, abi.OutcomeFailed)
	// Waiting: two due within the hour, one within the day, one later; one running.
	for _, delay := range []string{"30m", "59m", "5h", "2d"} {
		if _, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: delay}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork"}); err != nil {
		t.Fatal(err)
	}
	if claimed, err := e.store.Claim(ctx, "runner", 1, time.Minute, []string{"example"}); err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}

	status, s := stats("?minutes=5")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if s.DueNextHour != 2 || s.DueNextDay != 3 || s.Running != 1 {
		t.Errorf("due next hour %d, next day %d, running %d; want 2, 3, 1", s.DueNextHour, s.DueNextDay, s.Running)
	}
	counts := map[abi.Outcome]int64{}
	for _, o := range s.Outcomes {
		if o.Minute.Before(s.Since) || o.Minute.After(s.Until) || o.Minute.Second() != 0 {
			t.Errorf("minute %s outside [%s, %s] or not a whole minute", o.Minute, s.Since, s.Until)
		}
		counts[o.Outcome] += o.Count
	}
	if counts[abi.OutcomeSucceeded] != 2 || counts[abi.OutcomeFailed] != 1 || len(counts) != 2 {
		t.Errorf("outcomes %v, want 2 succeeded and 1 failed", counts)
	}
	if s.Lateness.Started != 3 || s.Lateness.P50Ms == nil || s.Lateness.P99Ms == nil ||
		*s.Lateness.P50Ms < 59_000 || *s.Lateness.P50Ms > 120_000 || *s.Lateness.P99Ms < *s.Lateness.P50Ms {
		t.Errorf("lateness %+v, want 3 first attempts about a minute late", s.Lateness)
	}
	if len(s.Failing) != 1 || s.Failing[0].Plugin != "drip" || s.Failing[0].Method != "unsubscribe" ||
		s.Failing[0].Failures != 1 || s.Failing[0].LastError != "it went wrong" {
		t.Errorf("failing %+v, want drip.unsubscribe once, with its error", s.Failing)
	}

	for _, q := range []string{"?minutes=0", "?minutes=1441", "?minutes=x", "?since=2026-01-01T00:00:00Z", "?minutes=5&minutes=6"} {
		resp, body := e.do(t, http.MethodGet, "/v1/stats"+q, "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /v1/stats%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
}
