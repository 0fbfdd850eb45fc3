package request_test

import (
	"errors"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/request"
)

// Every duration of a request — delay, every, retry.backoff, retry.maxBackoff — has
// one grammar (days included), and those the host stores in milliseconds are refused
// when they would be stored as zero.
func TestOneDurationGrammar(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	base := abi.ScheduleRequest{Plugin: "example", Method: "doWork"}
	retry := func(backoff, maxBackoff string) abi.ScheduleRequest {
		r := base
		r.Retry = &abi.RetryPolicy{MaxAttempts: 3, Backoff: backoff, MaxBackoff: maxBackoff}
		return r
	}
	every := func(d string) abi.ScheduleRequest {
		r := base
		r.Every, r.Identifier = d, "s"
		return r
	}

	call, err := request.Prepare(cat, retry("1d", "2d12h"), now)
	if err != nil || call.Retry.Backoff != 24*time.Hour || call.Retry.MaxBackoff != 60*time.Hour {
		t.Errorf("backoff 1d, maxBackoff 2d12h: %+v, %v", call.Retry, err)
	}
	if call, err := request.Prepare(cat, retry("1ms", ""), now); err != nil || call.Retry.Backoff != time.Millisecond {
		t.Errorf("backoff 1ms: %+v, %v", call.Retry, err)
	}
	for name, req := range map[string]abi.ScheduleRequest{
		"backoff 1ns":          retry("1ns", ""),
		"backoff 999ns":        retry("999ns", ""),
		"backoff 999us":        retry("999us", ""),
		"maxBackoff 1ns":       retry("", "1ns"),
		"backoff 0s":           retry("0s", ""),
		"backoff -1s":          retry("-1s", ""),
		"backoff with a space": retry(" 1s", ""),
		"every 1ns":            every("1ns"),
		"every 0.5ms":          every("0.5ms"),
		"delay 1h30":           {Plugin: "example", Method: "doWork", Delay: "1h30"},
		"delay 0":              {Plugin: "example", Method: "doWork", Delay: "0"},
	} {
		if _, err := request.Prepare(cat, req, now); !errors.Is(err, request.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

// Times and zones mean the same on every host, in RFC 3339's terms.
func TestTimesAreRFC3339AndZonesIANA(t *testing.T) {
	t.Parallel()
	cat := newCatalog(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at, err := time.Parse(time.RFC3339, "2030-01-01T00:00:00+24:00")
	if err != nil {
		t.Fatalf("Go no longer parses +24:00 (%v): this test is moot", err)
	}
	for name, req := range map[string]abi.ScheduleRequest{
		"at +24:00":      {Plugin: "example", Method: "doWork", At: &at},
		"start +24:00":   {Plugin: "example", Method: "doWork", Every: "1h", Identifier: "s", Start: &at},
		"timezone Local": {Plugin: "example", Method: "doWork", Cron: "@daily", TimeZone: "Local", Identifier: "s"},
	} {
		if _, err := request.Prepare(cat, req, now); !errors.Is(err, request.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}
