package request

import (
	"fmt"
	"regexp"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// DurationPattern is the one grammar of every duration of a request — delay, every,
// retry.backoff and retry.maxBackoff: optional whole days ("3d"), then Go duration
// units ("1h30m", "1.5s"), at least one of the two, without sign or spaces. The
// OpenAPI document publishes it as those fields' pattern.
const DurationPattern = `^(?:[0-9]+d|[0-9]+(?:\.[0-9]+)?(?:h|m|s|ms|us|µs|μs|ns))(?:[0-9]+(?:\.[0-9]+)?(?:h|m|s|ms|us|µs|μs|ns))*$`

var durationGrammar = regexp.MustCompile(DurationPattern)

// Resolution is the precision the host stores intervals and backoffs in: a shorter
// one would be stored as zero.
const Resolution = time.Millisecond

// ParseDuration parses the duration of field in DurationPattern's grammar. A delay may
// be zero (due now); an interval or a backoff (positive) must be at least Resolution,
// since it is stored in milliseconds and a shorter one would be stored as zero.
func ParseDuration(field, s string, positive bool) (time.Duration, error) {
	if !durationGrammar.MatchString(s) {
		return 0, fmt.Errorf(`%q: %q is not a duration such as "90s", "1h30m" or "3d"`, field, s)
	}
	d, err := abi.ParseDelay(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", field, err)
	}
	if positive && d < Resolution {
		return 0, fmt.Errorf("%q: %q is shorter than %s, the host's resolution: it would be stored as zero", field, s, Resolution)
	}
	return d, nil
}

// parseRetry checks a retry policy, its backoffs in the grammar of every duration,
// and fills in the default backoffs.
func parseRetry(p abi.RetryPolicy) (abi.Retry, error) {
	r := abi.Retry{MaxAttempts: p.MaxAttempts, Backoff: abi.DefaultBackoff, MaxBackoff: abi.DefaultMaxBackoff}
	var err error
	if p.Backoff != "" {
		if r.Backoff, err = ParseDuration("retry.backoff", p.Backoff, true); err != nil {
			return abi.Retry{}, err
		}
	}
	if p.MaxBackoff != "" {
		if r.MaxBackoff, err = ParseDuration("retry.maxBackoff", p.MaxBackoff, true); err != nil {
			return abi.Retry{}, err
		}
	}
	if err := r.Check(); err != nil {
		return abi.Retry{}, err
	}
	return r, nil
}
