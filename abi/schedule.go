package abi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxDelayDays bounds a delay (about 100 years), far from time.Duration's overflow.
const MaxDelayDays = 36500

// MaxRetryAttempts bounds RetryPolicy.MaxAttempts.
const MaxRetryAttempts = 100

// Default backoff of a RetryPolicy that names none.
const (
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = time.Hour
)

// ParseDelay parses a delay: a Go duration ("1h30m", "90s") that may also use "d" for
// days of 24 hours ("3d", "1d12h"). Negative delays are refused.
func ParseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 || n > MaxDelayDays {
			return 0, fmt.Errorf("invalid delay %q: days must be an integer from 0 to %d", s, MaxDelayDays)
		}
		days, s = n, s[i+1:]
		if s == "" {
			s = "0s"
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid delay: %w", err)
	}
	if d < 0 {
		return 0, errors.New("invalid delay: negative")
	}
	if d > MaxDelayDays*24*time.Hour-time.Duration(days)*24*time.Hour {
		return 0, fmt.Errorf("invalid delay: more than %d days", MaxDelayDays)
	}
	d += time.Duration(days) * 24 * time.Hour
	return d, nil
}

// RunAt resolves when the requested call is due: now plus Delay, or At in UTC, or now
// when neither is given. Giving both is an error.
func (r ScheduleRequest) RunAt(now time.Time) (time.Time, error) {
	switch {
	case r.Delay != "" && r.At != nil:
		return time.Time{}, errors.New(`give either "delay" or "at", not both`)
	case r.Delay != "":
		d, err := ParseDelay(r.Delay)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d).UTC(), nil
	case r.At != nil:
		return r.At.UTC(), nil
	default:
		return now.UTC(), nil
	}
}

// Retry is a parsed, checked RetryPolicy.
type Retry struct {
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
}

// NoRetry runs a call once: the default, as in Serverpod.
var NoRetry = Retry{MaxAttempts: 1, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}

// Parse checks p and fills in default backoffs.
func (p RetryPolicy) Parse() (Retry, error) {
	r := Retry{MaxAttempts: p.MaxAttempts, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}
	var err error
	if p.Backoff != "" {
		if r.Backoff, err = time.ParseDuration(p.Backoff); err != nil {
			return Retry{}, fmt.Errorf("retry.backoff: must be a positive duration, got %q", p.Backoff)
		}
	}
	if p.MaxBackoff != "" {
		if r.MaxBackoff, err = time.ParseDuration(p.MaxBackoff); err != nil {
			return Retry{}, fmt.Errorf("retry.maxBackoff: must be a positive duration, got %q", p.MaxBackoff)
		}
	}
	if err := r.Check(); err != nil {
		return Retry{}, err
	}
	return r, nil
}

// Check applies the rules every retry policy follows, whoever sets it: 1 to
// MaxRetryAttempts attempts, positive backoffs, the longest no shorter than the first.
func (r Retry) Check() error {
	switch {
	case r.MaxAttempts < 1 || r.MaxAttempts > MaxRetryAttempts:
		return fmt.Errorf("retry.maxAttempts: must be between 1 and %d, got %d", MaxRetryAttempts, r.MaxAttempts)
	case r.Backoff <= 0:
		return fmt.Errorf("retry.backoff: must be a positive duration, got %s", r.Backoff)
	case r.MaxBackoff <= 0:
		return fmt.Errorf("retry.maxBackoff: must be a positive duration, got %s", r.MaxBackoff)
	case r.MaxBackoff < r.Backoff:
		return fmt.Errorf("retry.maxBackoff: %s is shorter than retry.backoff (%s)", r.MaxBackoff, r.Backoff)
	}
	return nil
}
