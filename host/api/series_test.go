package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestRecurringCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cronCall, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork",
		Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin", Identifier: "mornings"})
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	local := cronCall.RunAt.In(berlin)
	if s := cronCall.Series; s == nil || s.ID == 0 || s.Cron != "0 9 * * MON-FRI" || s.TimeZone != "Europe/Berlin" ||
		local.Hour() != 9 || local.Minute() != 0 || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
		t.Errorf("cron call = %+v (runs %v local)", cronCall, local)
	}
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	every, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork",
		Args: args(t, map[string]any{"data": "tick"}), Every: "15m", Start: &start, Identifier: "ticks"})
	if err != nil {
		t.Fatal(err)
	}
	if !every.RunAt.Equal(start) || every.Series == nil || every.Series.Every != "15m" || every.Series.Anchor == nil || !every.Series.Anchor.Equal(start) {
		t.Errorf("interval call = %+v", every)
	}
	// GET /v1/calls shows each series' next run.
	got, err := e.client.Get(ctx, every.ID)
	if err != nil || got.Series == nil || got.Series.ID != every.Series.ID {
		t.Errorf("GET shows %+v (%v), want its series", got, err)
	}

	// Arguments are checked as for one-off calls; a recurring call needs an identifier.
	for name, body := range map[string]string{
		"bad arguments": `{"plugin": "example", "method": "doOtherWork", "args": {"data": 1}, "every": "1h", "identifier": "x"}`,
		"no identifier": `{"plugin": "example", "method": "doWork", "cron": "@daily"}`,
		"bad cron":      `{"plugin": "example", "method": "doWork", "cron": "at nine", "identifier": "x"}`,
		"bad zone":      `{"plugin": "example", "method": "doWork", "cron": "@daily", "timezone": "Moon/Base", "identifier": "x"}`,
		"cron and at":   `{"plugin": "example", "method": "doWork", "cron": "@daily", "at": "2030-01-01T00:00:00Z", "identifier": "x"}`,
	} {
		resp, body := e.do(t, http.MethodPost, "/v1/calls", body)
		want := http.StatusBadRequest
		if name == "bad arguments" {
			want = http.StatusUnprocessableEntity
		}
		if resp.StatusCode != want {
			t.Errorf("%s: status %d (%s), want %d", name, resp.StatusCode, body, want)
		}
	}
	if calls, _ := e.rows(t); calls != 2 {
		t.Errorf("%d calls stored, want the 2 valid series", calls)
	}

	// The identifier cancels the whole series.
	n, err := e.client.CancelIdentifier(ctx, "ticks")
	if err != nil || n != (client.Cancelled{Cancelled: 1, SeriesStopped: 1}) {
		t.Fatalf("cancel: %d, %v", n, err)
	}
	page, err := e.client.History(ctx, client.HistoryOptions{SeriesID: every.Series.ID})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Outcome != "cancelled" || page.Entries[0].SeriesID != every.Series.ID {
		t.Errorf("history of the series = %+v (%v)", page, err)
	}
}

// Cancelling the next occurrence of a series by its id stops the whole series, and the
// answer says so.
func TestCancellingAnOccurrenceSaysItStoppedTheSeries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do(t, http.MethodPost, "/v1/calls", `{"plugin": "example", "method": "doWork", "every": "1h", "identifier": "hourly"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("schedule: %d %s", resp.StatusCode, body)
	}
	id := apiCallID(t, body)
	resp, body = e.do(t, http.MethodDelete, "/v1/calls/"+id, "")
	if resp.StatusCode != http.StatusOK || string(body) != `{"cancelled":1,"seriesStopped":1}`+"\n" {
		t.Errorf("cancel an occurrence: %d %s, want 200 saying the series stopped", resp.StatusCode, body)
	}
	if calls, _ := e.rows(t); calls != 0 {
		t.Errorf("%d calls left, want none: the series is stopped", calls)
	}
}
