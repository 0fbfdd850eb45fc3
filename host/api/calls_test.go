package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/sdk/client"
)

func args(t testing.TB, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(got, want time.Time) bool { return got.Sub(want).Abs() < 5*time.Second }

func TestScheduleResolvesRunTimeInUTC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2030, 1, 1, 9, 0, 0, 0, tokyo)
	for _, tc := range []struct {
		name string
		req  abi.ScheduleRequest
		want time.Time
	}{
		{"delay", abi.ScheduleRequest{Delay: "1h30m"}, time.Now().Add(90 * time.Minute)},
		{"delay in days", abi.ScheduleRequest{Delay: "3d"}, time.Now().Add(72 * time.Hour)},
		{"at, from another zone", abi.ScheduleRequest{At: &at}, at},
		{"neither: now", abi.ScheduleRequest{}, time.Now()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Plugin, req.Method, req.Args = "example", "doOtherWork", args(t, map[string]any{"data": "1"})
			call, err := e.client.Schedule(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !near(call.RunAt, tc.want) || call.RunAt.Location() != time.UTC {
				t.Errorf("runAt = %v, want about %v in UTC", call.RunAt, tc.want.UTC())
			}
			if call.ID == 0 || call.Status != client.StatusWaiting || call.Plugin != "example" || call.Method != "doOtherWork" ||
				string(call.Args) != `{"data":"1"}` || call.Retry.MaxAttempts != 1 || !near(call.CreatedAt, time.Now()) {
				t.Errorf("call = %+v", call)
			}
			got, err := e.client.Get(ctx, call.ID)
			if err != nil || !got.RunAt.Equal(call.RunAt) {
				t.Errorf("stored call = %+v (%v), want run time %v", got, err, call.RunAt)
			}
		})
	}
}

func TestScheduleAnswers201WithLocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do(t, http.MethodPost, "/v1/calls",
		`{"plugin": "drip", "method": "welcome", "args": {"signup": {"userId": 7, "email": "a@b.c", "plan": "pro"}},
		  "at": "2031-05-06T07:08:09+02:00", "identifier": "drip-user-7", "retry": {"maxAttempts": 3, "backoff": "2s"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var call client.Call
	if err := json.Unmarshal(body, &call); err != nil {
		t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/v1/calls/%d", call.ID) {
		t.Errorf("Location = %q", loc)
	}
	if !strings.Contains(string(body), `"runAt":"2031-05-06T05:08:09Z"`) {
		t.Errorf("runAt not in UTC: %s", body)
	}
	if call.Identifier != "drip-user-7" || call.Retry != (abi.RetryPolicy{MaxAttempts: 3, Backoff: "2s", MaxBackoff: "1h"}) {
		t.Errorf("call = %+v", call)
	}
	if n, _ := e.rows(t); n != 1 {
		t.Errorf("%d rows stored, want 1", n)
	}
}

// Every example plugin, whatever its language, takes calls through the API.
func TestScheduleEveryExamplePlugin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, name := range examplePlugins {
		req := abi.ScheduleRequest{Plugin: name, Method: "doOtherWork", Args: args(t, map[string]any{"data": name})}
		if strings.HasPrefix(name, "drip") {
			req.Method, req.Args = "welcome", args(t, map[string]any{"signup": map[string]any{"userId": 1, "email": "x@y.z", "plan": "free"}, "note": "hi"})
		}
		if _, err := e.client.Schedule(ctx, req); err != nil {
			t.Errorf("%s.%s: %v", name, req.Method, err)
		}
		bad := req
		bad.Args = args(t, map[string]any{})
		var apiErr *client.Error
		if _, err := e.client.Schedule(ctx, bad); !errors.As(err, &apiErr) || apiErr.Code != client.CodeInvalidArguments {
			t.Errorf("%s.%s without arguments: %v, want invalid_arguments", name, req.Method, err)
		}
	}
	if _, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork"}); err != nil {
		t.Errorf("doWork without args: %v", err)
	}
	if n, _ := e.rows(t); n != len(examplePlugins)+1 {
		t.Errorf("%d rows, want %d", n, len(examplePlugins)+1)
	}
	_, metricsBody := e.do(t, http.MethodGet, "/metrics", "")
	for _, want := range []string{
		`futurecalls_scheduled_total{method="doOtherWork",plugin="example",source="api"} 1`,
		`futurecalls_scheduled_total{method="welcome",plugin="drip_rust",source="api"} 1`,
		`futurecalls_scheduled_total{method="doWork",plugin="example",source="api"} 1`,
	} {
		if !strings.Contains(string(metricsBody), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := func(data string) abi.ScheduleRequest {
		return abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", Args: args(t, map[string]any{"data": data}), Delay: "1h"}
	}
	calls, err := e.client.ScheduleBatch(ctx, []abi.ScheduleRequest{good("a"), good("b"), {Plugin: "example", Method: "doWork", Identifier: "w"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || string(calls[1].Args) != `{"data":"b"}` || calls[2].Identifier != "w" || calls[0].ID >= calls[1].ID {
		t.Fatalf("batch = %+v", calls)
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   client.Code
		index  int
		want   string
	}{
		{"arguments of one call", `{"calls": [{"plugin": "example", "method": "doWork"}, {"plugin": "example", "method": "doOtherWork", "args": {"data": 1}}]}`,
			422, client.CodeInvalidArguments, 1, "calls[1]"},
		{"unknown method", `{"calls": [{"plugin": "example", "method": "doWork"}, {"plugin": "example", "method": "doWork"}, {"plugin": "example", "method": "nope"}]}`,
			404, client.CodeUnknownMethod, 2, `"nope"`},
		{"unknown field", `{"calls": [{"plugin": "example", "method": "doWork", "when": "soon"}]}`,
			400, client.CodeUnknownField, 0, `"when"`},
		{"both delay and at", `{"calls": [{"plugin": "example", "method": "doWork"}, {"plugin": "example", "method": "doWork", "delay": "1h", "at": "2030-01-01T00:00:00Z"}]}`,
			400, client.CodeInvalidRequest, 1, "not both"},
		{"a call that is not an object", `{"calls": [{"plugin": "example", "method": "doWork"}, 5]}`,
			400, client.CodeMalformedJSON, 1, "object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodPost, "/v1/calls/batch", tc.body)
			apiErr := apiError(t, resp, body)
			if apiErr.Status != tc.status || apiErr.Code != tc.code || apiErr.Index == nil || *apiErr.Index != tc.index ||
				!strings.Contains(apiErr.Message, tc.want) {
				t.Errorf("answer %d %s, want %d %s at index %d mentioning %s", resp.StatusCode, body, tc.status, tc.code, tc.index, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, body string
		code       client.Code
	}{
		{"no calls", `{"calls": []}`, client.CodeInvalidRequest},
		{"missing calls", `{}`, client.CodeInvalidRequest},
		{"unknown top field", `{"calls": [], "atomic": true}`, client.CodeUnknownField},
		{"too many", `{"calls": [` + strings.Repeat(`{"plugin": "example", "method": "doWork"},`, api.MaxBatch) + `{"plugin": "example", "method": "doWork"}]}`, client.CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodPost, "/v1/calls/batch", tc.body)
			if apiErr := apiError(t, resp, body); resp.StatusCode != 400 || apiErr.Code != tc.code {
				t.Errorf("answer %d %s, want 400 %s", resp.StatusCode, body, tc.code)
			}
		})
	}
	if n, _ := e.rows(t); n != 3 {
		t.Errorf("%d rows stored, want the first batch's 3 only", n)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var reqs []abi.ScheduleRequest
	for i := range 250 {
		at := base.Add(time.Duration(i%10) * time.Minute) // many share a run time
		req := abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", Args: args(t, map[string]any{"data": fmt.Sprint(i)}), At: &at,
			Identifier: fmt.Sprintf("user-%d", i%5)}
		if i%50 == 0 {
			req.Method, req.Args = "doWork", nil
		}
		reqs = append(reqs, req)
	}
	reqs = append(reqs, abi.ScheduleRequest{Plugin: "drip", Method: "unsubscribe", Args: args(t, map[string]any{"userId": 1}), At: &base})
	if _, err := e.client.ScheduleBatch(ctx, reqs); err != nil {
		t.Fatal(err)
	}

	// Page by page with the client's List.
	seen := map[int64]bool{}
	var last client.Call
	opts := client.ListOptions{Plugin: "example", Limit: 40}
	pages := 0
	for {
		page, err := e.client.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Calls {
			if seen[c.ID] {
				t.Fatalf("call %d listed twice", c.ID)
			}
			if last.ID != 0 && (c.RunAt.Before(last.RunAt) || c.RunAt.Equal(last.RunAt) && c.ID < last.ID) {
				t.Fatalf("call %d out of order", c.ID)
			}
			seen[c.ID], last = true, c
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	if len(seen) != 250 || pages != 7 {
		t.Fatalf("listed %d calls in %d pages, want 250 in 7", len(seen), pages)
	}

	for _, tc := range []struct {
		name string
		opts client.ListOptions
		want int
	}{
		{"all", client.ListOptions{Limit: 7}, 251},
		{"plugin", client.ListOptions{Plugin: "drip"}, 1},
		{"method", client.ListOptions{Plugin: "example", Method: "doWork"}, 5},
		{"identifier", client.ListOptions{Identifier: "user-3", Limit: 11}, 50},
		{"due before", client.ListOptions{DueBefore: base.Add(time.Minute)}, 26},
		{"due after", client.ListOptions{DueAfter: base.Add(9 * time.Minute)}, 25},
		{"window", client.ListOptions{DueAfter: base.Add(time.Minute), DueBefore: base.Add(3 * time.Minute), Plugin: "example"}, 50},
		{"nothing", client.ListOptions{Identifier: "nobody"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(t, e.client.ListAll(ctx, tc.opts)); got != tc.want {
				t.Errorf("%d calls, want %d", got, tc.want)
			}
		})
	}

	// The iterator stops when asked to.
	n := 0
	for _, err := range e.client.ListAll(ctx, client.ListOptions{Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 5 {
			break
		}
	}

	for _, query := range []string{"limit=0", "limit=1001", "limit=ten", "cursor=bogus!", "dueBefore=tomorrow",
		"dueAfter=2030-01-01", "plugn=example", "plugin=a&plugin=b"} {
		resp, body := e.do(t, http.MethodGet, "/v1/calls?"+query, "")
		if apiErr := apiError(t, resp, body); resp.StatusCode != 400 || apiErr.Code != client.CodeInvalidParameter {
			t.Errorf("?%s: %d %s, want 400 invalid_parameter", query, resp.StatusCode, body)
		}
	}
}

func TestGetAndCancelOneCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	past := time.Now().Add(-time.Minute)
	running, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork", At: &past})
	if err != nil {
		t.Fatal(err)
	}
	if claimed, err := e.store.Claim(ctx, "other-host", 10, time.Minute, []string{"example"}); err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	waiting, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "1h"})
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.client.Get(ctx, running.ID)
	if err != nil || got.Status != client.StatusRunning || got.ClaimedBy != "other-host" || got.Attempt != 1 || got.LeaseUntil == nil {
		t.Errorf("running call = %+v, %v", got, err)
	}
	var apiErr *client.Error
	if _, err := e.client.Cancel(ctx, running.ID); !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != client.CodeCallRunning {
		t.Errorf("cancel running call: %v, want 409 call_running", err)
	}

	resp, body := e.do(t, http.MethodDelete, fmt.Sprintf("/v1/calls/%d", waiting.ID), "")
	if resp.StatusCode != http.StatusOK || string(body) != `{"cancelled":1,"seriesStopped":0}`+"\n" {
		t.Errorf("cancel: %d %q, want 200 with one call cancelled, no series stopped", resp.StatusCode, body)
	}
	for _, err := range []error{
		func() error { _, err := e.client.Cancel(ctx, waiting.ID); return err }(),
		func() error { _, err := e.client.Get(ctx, waiting.ID); return err }(),
		func() error { _, err := e.client.Cancel(ctx, 1<<40); return err }(),
	} {
		if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != client.CodeCallNotFound {
			t.Errorf("after cancel: %v, want 404 call_not_found", err)
		}
	}
	for _, path := range []string{"/v1/calls/abc", "/v1/calls/0", "/v1/calls/-3", "/v1/calls/99999999999999999999"} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			resp, body := e.do(t, method, path, "")
			if apiErr := apiError(t, resp, body); resp.StatusCode != 400 || apiErr.Code != client.CodeInvalidParameter {
				t.Errorf("%s %s: %d %s, want 400", method, path, resp.StatusCode, body)
			}
		}
	}

	page, err := e.client.History(ctx, client.HistoryOptions{CallID: waiting.ID})
	if err != nil || len(page.Entries) != 1 {
		t.Fatal(page, err)
	}
	if h := page.Entries[0]; h.Outcome != "cancelled" || h.Host != "api-test" || !h.ScheduledAt.Equal(waiting.RunAt) {
		t.Errorf("history = %+v", h)
	}
	if calls, history := e.rows(t); calls != 1 || history != 1 {
		t.Errorf("rows: %d calls, %d history; want the running call and one cancellation", calls, history)
	}
}

func TestCancelByIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var reqs []abi.ScheduleRequest
	for i := range 10 {
		ident := []string{"user-1", "user-10", ""}[i%3]
		reqs = append(reqs, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "1h", Identifier: ident})
	}
	if _, err := e.client.ScheduleBatch(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	// The identifier is required: nothing is cancelled without one.
	for _, query := range []string{"", "?identifier=", "?identifer=user-1", "?identifier=user-1&identifier=user-10", "?identifier=user-1&plugin=example"} { //nolint:misspell // "identifer" is the misspelt parameter under test
		resp, body := e.do(t, http.MethodDelete, "/v1/calls"+query, "")
		if apiErr := apiError(t, resp, body); resp.StatusCode != 400 || apiErr.Code != client.CodeInvalidParameter {
			t.Errorf("DELETE /v1/calls%s: %d %s, want 400", query, resp.StatusCode, body)
		}
	}
	if calls, _ := e.rows(t); calls != 10 {
		t.Fatalf("%d calls left after refused cancels, want 10", calls)
	}

	resp, body := e.do(t, http.MethodDelete, "/v1/calls?identifier=user-1", "")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"cancelled":4,"seriesStopped":0}` {
		t.Errorf("cancel user-1: %d %s, want 200 {\"cancelled\":4,\"seriesStopped\":0}", resp.StatusCode, body)
	}
	n, err := e.client.CancelIdentifier(ctx, "user-1")
	if err != nil || n != (client.Cancelled{}) {
		t.Errorf("second cancel: %d, %v; want 0", n, err)
	}
	left := 0
	for c, err := range e.client.ListAll(ctx, client.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if c.Identifier == "user-1" {
			t.Errorf("call %d of user-1 survived", c.ID)
		}
		left++
	}
	if left != 6 {
		t.Errorf("%d calls left, want 6", left)
	}
	_, metricsBody := e.do(t, http.MethodGet, "/metrics", "")
	if !strings.Contains(string(metricsBody), `futurecalls_cancelled_total{source="api"} 4`) {
		t.Errorf("cancelled metric missing")
	}
}
