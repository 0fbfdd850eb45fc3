// Package request turns a schedule request — the body of POST /v1/calls or the
// argument of a plugin's fc.schedule — into a call ready to store: it resolves the run
// time (UTC) or the series of a recurring call, checks the arguments against the target
// method's signature, and fixes the retry policy. The REST API and the executor share it, so a call is accepted on the
// same terms whoever schedules it.
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package request

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/series"
	"github.com/futurecalls/futurecalls/host/store"
)

// MaxArgsBytes bounds the arguments of one call, so its envelope fits the guest.
const MaxArgsBytes = 1 << 20

// Sentinel errors, wrapped by Prepare; callers branch on them with errors.Is.
var (
	// ErrInvalid means the request itself is malformed (bad JSON, both delay and at, …).
	ErrInvalid = errors.New("invalid request")
	// ErrUnknownPlugin means no loaded plugin has the requested name.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrUnknownMethod means the plugin has no call of the requested name.
	ErrUnknownMethod = errors.New("unknown method")
)

// Catalog says which calls exist: the loaded plugins' signatures, and each plugin's
// default retry policy.
type Catalog interface {
	// Method returns the signature of plugin's method and the plugin's default retry
	// policy, or an error wrapping ErrUnknownPlugin or ErrUnknownMethod.
	Method(plugin, method string) (*signature.Method, abi.Retry, error)
}

// Prepare checks req and returns the call to store. Errors wrap ErrInvalid,
// ErrUnknownPlugin or ErrUnknownMethod, or are a *signature.Error listing every way
// the arguments do not fit.
func Prepare(cat Catalog, req abi.ScheduleRequest, now time.Time) (store.NewCall, error) {
	if req.Plugin == "" || req.Method == "" {
		return store.NewCall{}, fmt.Errorf(`%w: "plugin" and "method" are required`, ErrInvalid)
	}
	args, runAt, recurring, err := check(req, now)
	if err != nil {
		return store.NewCall{}, err
	}
	sig, retry, err := cat.Method(req.Plugin, req.Method)
	if err != nil {
		return store.NewCall{}, err
	}
	if err := sig.Validate(args); err != nil {
		return store.NewCall{}, err
	}
	if req.Retry != nil {
		if retry, err = parseRetry(*req.Retry); err != nil {
			return store.NewCall{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return store.NewCall{
		Plugin:     req.Plugin,
		Method:     req.Method,
		Args:       args,
		RunAt:      runAt,
		Identifier: req.Identifier,
		Retry:      retry,
		Series:     recurring,
	}, nil
}

// check makes the checks of Prepare that do not depend on the target method, and
// returns the arguments ({} when absent), the run time and the series of a recurring
// call. Errors wrap ErrInvalid.
func check(req abi.ScheduleRequest, now time.Time) (json.RawMessage, time.Time, *store.Series, error) {
	runAt, recurring, err := when(req, now)
	if err != nil {
		return nil, time.Time{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := abi.CheckIdentifier(req.Identifier); err != nil {
		return nil, time.Time{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	args := req.Args
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage(`{}`)
	}
	if len(args) > MaxArgsBytes {
		return nil, time.Time{}, nil, fmt.Errorf("%w: args are %d bytes, more than the limit of %d", ErrInvalid, len(args), MaxArgsBytes)
	}
	if err := CheckStorable(args); err != nil {
		return nil, time.Time{}, nil, fmt.Errorf("%w: args: %v", ErrInvalid, err)
	}
	if runAt.Before(MinRunAt) || !runAt.Before(MaxRunAt) {
		return nil, time.Time{}, nil, fmt.Errorf("%w: the run time %s is out of range: it must be after %s and before %s", ErrInvalid,
			runAt.Format(time.RFC3339Nano), MinRunAt.Format(time.DateOnly), MaxRunAt.Format(time.DateOnly))
	}
	return args, runAt, recurring, nil
}

// when resolves the first run time of req, and its series when it is recurring.
func when(req abi.ScheduleRequest, now time.Time) (time.Time, *store.Series, error) {
	for field, t := range map[string]*time.Time{"at": req.At, "start": req.Start} {
		if err := checkOffset(field, t); err != nil {
			return time.Time{}, nil, err
		}
	}
	if !req.Recurring() {
		if req.TimeZone != "" || req.Start != nil {
			return time.Time{}, nil, errors.New(`"timezone" and "start" belong to a recurring call ("cron" or "every")`)
		}
		if req.Delay != "" {
			if _, err := ParseDuration("delay", req.Delay, false); err != nil {
				return time.Time{}, nil, err
			}
		}
		at, err := req.RunAt(now)
		return at, nil, err
	}
	if req.Delay != "" || req.At != nil {
		return time.Time{}, nil, errors.New(`a recurring call takes no "delay" or "at": an interval series starts at "start"`)
	}
	if req.Identifier == "" {
		return time.Time{}, nil, errors.New(`a recurring call needs an "identifier": it is how the series is cancelled`)
	}
	if req.TimeZone == "Local" {
		// Go's name for each host's own zone: hosts would disagree on when the call runs.
		return time.Time{}, nil, errors.New(`"timezone": "Local" differs from host to host: name an IANA time zone such as "Europe/Berlin"`)
	}
	spec := series.Spec{Cron: req.Cron, TimeZone: req.TimeZone}
	if req.Every != "" {
		every, err := ParseDuration("every", req.Every, true)
		if err != nil {
			return time.Time{}, nil, err
		}
		spec.Every = every
	}
	if req.Start != nil {
		spec.Start = req.Start.UTC()
	}
	sched, err := series.Parse(spec)
	if err != nil {
		return time.Time{}, nil, err
	}
	first := sched.First(now)
	if first.IsZero() {
		return time.Time{}, nil, errors.New(`"cron" never runs again`)
	}
	s := &store.Series{Cron: spec.Cron, TimeZone: spec.TimeZone, Every: spec.Every}
	if spec.Every > 0 {
		// The anchor of an interval series is its start, or else its first run.
		s.Anchor = spec.Start
		if s.Anchor.IsZero() {
			s.Anchor = first
		}
	}
	return first.UTC(), s, nil
}

// checkOffset refuses a time whose offset RFC 3339 does not allow (hours up to 23),
// which Go's parser lets through ("+24:00").
func checkOffset(field string, t *time.Time) error {
	if t == nil {
		return nil
	}
	if _, offset := t.Zone(); offset <= -24*3600 || offset >= 24*3600 {
		return fmt.Errorf("%q: the offset of %s is not RFC 3339 (from -23:59 to +23:59)", field, t.Format(time.RFC3339))
	}
	return nil
}
