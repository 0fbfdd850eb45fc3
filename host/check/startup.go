package check

import (
	"context"
	"fmt"
	"log/slog"
)

// AutoLimit is the number of stored calls from which the start-up check is skipped when
// checkBrokenCalls is unset (Serverpod's threshold). Counting up to it costs next to
// nothing however many calls are stored.
const AutoLimit = 1000

// Decide says whether the start-up check runs. setting is the checkBrokenCalls key: true
// always, false never, nil (unset) only when fewer than AutoLimit calls are stored, as
// count says ([store.Store.CountUpTo] is one: it counts up to its limit).
func Decide(ctx context.Context, setting *bool, count func(ctx context.Context, limit int) (int, error)) (bool, error) {
	if setting != nil {
		return *setting, nil
	}
	n, err := count(ctx, AutoLimit)
	if err != nil {
		return false, fmt.Errorf("decide on the broken-call check: %w", err)
	}
	return n < AutoLimit, nil
}

// AtStartup is the start-up check: it decides with Decide (setting is checkBrokenCalls),
// runs the check when it should (opts.Delete is deleteBrokenCalls) and logs the report,
// or why it did not run. ran says whether the check ran.
func AtStartup(ctx context.Context, logger *slog.Logger, setting *bool, opts Options) (r Report, ran bool, err error) {
	if opts.Store == nil {
		return Report{}, false, fmt.Errorf("start-up check: Store is required")
	}
	ran, err = Decide(ctx, setting, opts.Store.CountUpTo)
	if err != nil {
		return Report{}, false, err
	}
	if !ran {
		if setting == nil {
			logger.Info("broken-call check skipped: too many stored calls to check at every start (set checkBrokenCalls to true to check anyway)",
				slog.Int("atLeast", AutoLimit), slog.Bool("deleteBrokenCalls", opts.Delete))
		}
		return Report{}, false, nil
	}
	r, err = Run(ctx, opts)
	if err != nil {
		return Report{}, true, err
	}
	r.Log(logger)
	return r, true, nil
}
