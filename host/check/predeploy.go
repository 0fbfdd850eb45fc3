package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/futurecalls/futurecalls/host/store"
)

// Exit codes of the pre-deploy check, as ExitCode gives them.
const (
	// ExitOK means no stored call would be broken by the candidate plugins.
	ExitOK = 0
	// ExitError means the check could not be done (database, plugins, output).
	ExitError = 1
	// ExitBroken means some stored calls would be broken by the candidate plugins, or
	// left without their plugin (unavailable: fine only if other hosts keep it); the
	// JSON report says which. It is not 2, which flag parsers use for usage errors.
	ExitBroken = 3
)

// PreDeploy checks the stored calls against candidate, the signatures of the plugins
// about to be deployed, and writes the report to w as indented JSON. It deletes nothing
// and touches nothing but a read of the stored calls. On error it writes nothing.
func PreDeploy(ctx context.Context, st *store.Store, candidate Signatures, w io.Writer) (Report, error) {
	r, err := Run(ctx, Options{Store: st, Signatures: candidate})
	if err != nil {
		return Report{}, fmt.Errorf("pre-deploy check: %w", err)
	}
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return Report{}, fmt.Errorf("pre-deploy check: %w", err)
	}
	if _, err := w.Write(append(out, '\n')); err != nil {
		return Report{}, fmt.Errorf("pre-deploy check: write report: %w", err)
	}
	return r, nil
}

// ExitCode gives the exit code of the pre-deploy command for PreDeploy's results:
// ExitError on error, ExitBroken when calls are broken or unavailable, else ExitOK.
func ExitCode(r Report, err error) int {
	switch {
	case err != nil:
		return ExitError
	case r.Broken > 0 || r.Unavailable > 0:
		return ExitBroken
	}
	return ExitOK
}
