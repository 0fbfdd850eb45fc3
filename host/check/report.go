package check

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/futurecalls/futurecalls/abi/signature"
)

// Kind says why this host cannot run a call.
type Kind string

// The kinds of calls this host cannot run.
const (
	// PluginMissing: no plugin loaded here has the call's plugin name. The call is
	// unavailable here, not broken: it waits for a host that has the plugin (a rolling
	// deploy, a plugin that failed to load on this host). Counted in
	// Report.Unavailable, and deleted only when Options.DeleteUnavailable asks for it.
	PluginMissing Kind = "plugin_missing"
	// MethodMissing: the plugin is loaded but no longer declares the call's method.
	MethodMissing Kind = "method_missing"
	// ArgsMismatch: the stored arguments do not fit the method's signature any more
	// (a parameter missing, renamed or added as required, a type or a record's field
	// changed). Group.Violations says where.
	ArgsMismatch Kind = "args_mismatch"
)

// Report is the outcome of a check. It is written as JSON by the pre-deploy command; the
// field names are stable.
type Report struct {
	// Checked counts the stored calls looked at.
	Checked int64 `json:"checked"`
	// Broken counts the broken ones among them: their method is gone or their
	// arguments no longer fit.
	Broken int64 `json:"broken"`
	// Unavailable counts the calls whose plugin is not loaded here (kind
	// plugin_missing): they are not broken, they wait for a host that has the plugin.
	Unavailable int64 `json:"unavailable"`
	// Deleted counts the calls removed (into the history); 0 unless the check was asked
	// to delete. A call a host was running at that moment is not removed.
	Deleted int64 `json:"deleted"`
	// Duration is how long the check took.
	Duration Duration `json:"duration"`
	// Groups lists the broken and the unavailable calls by plugin, method and kind,
	// sorted that way. It is empty, never null, when every call can run here.
	Groups []Group `json:"groups"`
}

// Group is a set of calls of one plugin and method that this host cannot run, for the
// same reason.
type Group struct {
	Plugin string `json:"plugin"`
	Method string `json:"method"`
	Kind   Kind   `json:"kind"`
	// Count is how many calls the group holds.
	Count int64 `json:"count"`
	// SampleIDs are the lowest ids among them, at most Options.SampleIDs.
	SampleIDs []int64 `json:"sampleIds"`
	// Reason says why the first sample is broken.
	Reason string `json:"reason"`
	// Violations, for ArgsMismatch, list every way the first sample's arguments do not
	// fit, each with its JSON pointer into the arguments.
	Violations []signature.Violation `json:"violations,omitempty"`
}

// Log writes one warning per group of broken or unavailable calls and a summary line:
// a warning when calls are broken or unavailable here, else an info line.
func (r Report) Log(logger *slog.Logger) {
	ctx := context.Background()
	for _, g := range r.Groups {
		msg := "broken future calls"
		if g.Kind == PluginMissing {
			msg = "future calls unavailable here: they wait for a host that has their plugin"
		}
		logger.LogAttrs(ctx, slog.LevelWarn, msg,
			slog.String("plugin", g.Plugin), slog.String("method", g.Method), slog.String("kind", string(g.Kind)),
			slog.Int64("count", g.Count), slog.Any("sampleIds", g.SampleIDs), slog.String("reason", g.Reason))
	}
	level, msg := slog.LevelInfo, "checked stored calls: none is broken"
	switch {
	case r.Broken > 0:
		level, msg = slog.LevelWarn, "checked stored calls: some are broken"
	case r.Unavailable > 0:
		level, msg = slog.LevelWarn, "checked stored calls: none is broken, some are unavailable here"
	}
	logger.LogAttrs(ctx, level, msg,
		slog.Int64("checked", r.Checked), slog.Int64("broken", r.Broken), slog.Int64("unavailable", r.Unavailable),
		slog.Int64("deleted", r.Deleted),
		slog.Int("groups", len(r.Groups)), slog.Duration("took", time.Duration(r.Duration)))
}

// Duration is a time.Duration written to JSON as Go duration text ("1.52s").
type Duration time.Duration

// MarshalJSON writes d as a JSON string such as "1.52s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
