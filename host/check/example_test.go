package check_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/futurecalls/futurecalls/host/check"
	"github.com/futurecalls/futurecalls/host/store"
)

// The start-up check, as a host runs it before serving: checkBrokenCalls and
// deleteBrokenCalls come from the configuration, the signatures from the loaded plugins.
func ExampleAtStartup() {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	st, err := store.Open(ctx, os.Getenv("DATABASE_URL"), store.Options{})
	if err != nil {
		logger.Error("open store", slog.Any("error", err))
		return
	}
	defer st.Close()
	var plugins check.Signatures // the loaded plugins' registry
	var checkBrokenCalls *bool   // unset: check only below check.AutoLimit stored calls
	_, _, err = check.AtStartup(ctx, logger, checkBrokenCalls, check.Options{
		Store: st, Signatures: plugins, Delete: false, Host: "host-1"})
	if err != nil {
		logger.Error("broken-call check", slog.Any("error", err))
	}
}

// The pre-deploy command: check the stored calls against the plugins about to be
// deployed, print the JSON report on stdout and exit with the code that says how it went.
func ExamplePreDeploy() {
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv("DATABASE_URL"), store.Options{})
	if err != nil {
		os.Exit(check.ExitError)
	}
	defer st.Close()
	var candidate check.Signatures // a registry loaded from the candidate directory
	r, err := check.PreDeploy(ctx, st, candidate, os.Stdout)
	if err != nil {
		slog.Error("pre-deploy check", slog.Any("error", err))
	}
	os.Exit(check.ExitCode(r, err))
}
