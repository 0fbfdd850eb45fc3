package request_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/request"
)

// catalog holds the example plugin's signatures, compiled for real.
type catalog map[string]*signature.Method

func (c catalog) Method(plugin, method string) (*signature.Method, abi.Retry, error) {
	if plugin != "example" {
		return nil, abi.Retry{}, fmt.Errorf("%w %q", request.ErrUnknownPlugin, plugin)
	}
	m, ok := c[method]
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q", request.ErrUnknownMethod, method)
	}
	return m, abi.Retry{MaxAttempts: 2, Backoff: time.Second, MaxBackoff: time.Minute}, nil
}

func newCatalog(t *testing.T) catalog {
	t.Helper()
	c := catalog{}
	for _, def := range []abi.Method{
		{Name: "doWork", Params: []abi.Param{}},
		{Name: "doOtherWork", Params: []abi.Param{{Name: "data", Schema: json.RawMessage(`{"type":"string"}`)}}},
	} {
		m, err := signature.Compile(def)
		if err != nil {
			t.Fatal(err)
		}
		c[def.Name] = m
	}
	return c
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := time.Date(2027, 1, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))

	call, err := request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork",
		Args: json.RawMessage(`{"data":"1"}`), Delay: "1d2h", Identifier: "user-1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(26 * time.Hour); !call.RunAt.Equal(want) || call.Identifier != "user-1" {
		t.Errorf("delay: run at %v, want %v", call.RunAt, want)
	}
	if call.Retry.MaxAttempts != 2 {
		t.Errorf("the plugin's default retry should apply: %+v", call.Retry)
	}

	call, err = request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doWork", At: &at,
		Retry: &abi.RetryPolicy{MaxAttempts: 5, Backoff: "2s"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if call.RunAt != at.UTC() || call.RunAt.Location() != time.UTC {
		t.Errorf("at: run at %v, want %v in UTC", call.RunAt, at.UTC())
	}
	if call.Retry.MaxAttempts != 5 || call.Retry.Backoff != 2*time.Second || string(call.Args) != "{}" {
		t.Errorf("call = %+v", call)
	}

	call, err = request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doWork"}, now)
	if err != nil || !call.RunAt.Equal(now) {
		t.Errorf("neither delay nor at should run now: %v %v", call.RunAt, err)
	}
}

func TestPrepareRefuses(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	at := time.Now()
	tests := []struct {
		name string
		req  abi.ScheduleRequest
		want error
		text string
	}{
		{"both delay and at", abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "1h", At: &at}, request.ErrInvalid, "not both"},
		{"bad delay", abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "soon"}, request.ErrInvalid, "delay"},
		{"negative delay", abi.ScheduleRequest{Plugin: "example", Method: "doWork", Delay: "-1h"}, request.ErrInvalid, "not a duration"},
		{"no method", abi.ScheduleRequest{Plugin: "example"}, request.ErrInvalid, "required"},
		{"unknown plugin", abi.ScheduleRequest{Plugin: "nope", Method: "doWork"}, request.ErrUnknownPlugin, "nope"},
		{"unknown method", abi.ScheduleRequest{Plugin: "example", Method: "fly"}, request.ErrUnknownMethod, "fly"},
		{"bad retry", abi.ScheduleRequest{Plugin: "example", Method: "doWork", Retry: &abi.RetryPolicy{MaxAttempts: 0}}, request.ErrInvalid, "maxAttempts"},
		{"long identifier", abi.ScheduleRequest{Plugin: "example", Method: "doWork", Identifier: strings.Repeat("x", 300)}, request.ErrInvalid, "identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := request.Prepare(cat, tt.req, time.Now())
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v, want %v mentioning %q", err, tt.want, tt.text)
			}
		})
	}

	_, err := request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork",
		Args: json.RawMessage(`{"data": 7, "extra": true}`)}, time.Now())
	var verr *signature.Error
	if !errors.As(err, &verr) || len(verr.Violations) != 2 {
		t.Fatalf("wrong arguments: %v, want a *signature.Error with 2 violations", err)
	}
}

func TestPrepareRecurring(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // a Wednesday

	call, err := request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doWork",
		Cron: "0 9 * * MON-FRI", TimeZone: "Europe/Berlin", Identifier: "mornings"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC); !call.RunAt.Equal(want) {
		t.Errorf("first cron run = %v, want %v (09:00 in Berlin)", call.RunAt, want)
	}
	if s := call.Series; s == nil || s.Cron != "0 9 * * MON-FRI" || s.TimeZone != "Europe/Berlin" || s.ID != 0 {
		t.Errorf("series = %+v", call.Series)
	}

	call, err = request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Every: "15m", Identifier: "tick"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(15 * time.Minute); !call.RunAt.Equal(want) || !call.Series.Anchor.Equal(want) || call.Series.Every != 15*time.Minute {
		t.Errorf("interval without start: run %v, series %+v; want both at %v", call.RunAt, call.Series, want)
	}

	start := now.Add(-50 * time.Minute)
	call, err = request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doWork", Every: "1h", Start: &start, Identifier: "hourly"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(time.Hour); !call.RunAt.Equal(want) || !call.Series.Anchor.Equal(start) {
		t.Errorf("interval with a past start: run %v anchor %v, want run %v on anchor %v", call.RunAt, call.Series.Anchor, want, start)
	}

	at := now.Add(time.Hour)
	for name, req := range map[string]abi.ScheduleRequest{
		"no identifier":  {Plugin: "example", Method: "doWork", Every: "1h"},
		"cron and delay": {Plugin: "example", Method: "doWork", Cron: "@daily", Delay: "1h", Identifier: "x"},
		"every and at":   {Plugin: "example", Method: "doWork", Every: "1h", At: &at, Identifier: "x"},
		"bad cron":       {Plugin: "example", Method: "doWork", Cron: "every day", Identifier: "x"},
		"bad every":      {Plugin: "example", Method: "doWork", Every: "often", Identifier: "x"},
		"zone alone":     {Plugin: "example", Method: "doWork", TimeZone: "UTC"},
	} {
		if _, err := request.Prepare(cat, req, now); !errors.Is(err, request.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestPrepareRefusesWhatCannotBeStored(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	past := time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)
	for name, req := range map[string]abi.ScheduleRequest{
		"NUL in a string":   {Args: json.RawMessage(`{"data":"a\u0000b"}`)},
		"lone low":          {Args: json.RawMessage(`{"data":"\udc00"}`)},
		"lone high":         {Args: json.RawMessage(`{"data":"\ud800x"}`)},
		"high then escape":  {Args: json.RawMessage(`{"data":"\ud800\n"}`)},
		"huge exponent":     {Args: json.RawMessage(`{"data":"x","n":1e1000000000}`)},
		"before 1970":       {At: &past},
		"a century's delay": {Delay: "36501d"},
	} {
		req.Plugin, req.Method = "example", "doOtherWork"
		if req.Args == nil {
			req.Args = json.RawMessage(`{"data":"x"}`)
		}
		if _, err := request.Prepare(cat, req, time.Now()); !errors.Is(err, request.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	// Escaped backslashes and paired surrogates are fine.
	for _, ok := range []string{`{"data":"\\u0000 is not NUL"}`, `{"data":"\ud83d\ude00"}`, `{"data":"e1000000 in text"}`} {
		if _, err := request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", Args: json.RawMessage(ok)}, time.Now()); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestPrepareRefusesLongNumberLiterals: a request, from the API or a plugin's
// fc.schedule, whose arguments hold a number literal longer than the signature check
// accepts is refused at the number's pointer, before the schema's big-number
// arithmetic would spend seconds on it.
func TestPrepareRefusesLongNumberLiterals(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	args := `{"data": ` + strings.Repeat("1", request.MaxArgsBytes-10) + `}`
	_, err := request.Prepare(cat, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork", Args: json.RawMessage(args)}, time.Now())
	var serr *signature.Error
	if !errors.As(err, &serr) || len(serr.Violations) != 1 {
		t.Fatalf("Prepare: got %v, want one violation", err)
	}
	if v := serr.Violations[0]; v.Pointer != "/data" || !strings.Contains(v.Message, "number literal") {
		t.Errorf("violation %+v, want /data: number literal …", v)
	}
}
