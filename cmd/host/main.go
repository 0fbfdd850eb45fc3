// Command host runs futurecalls: it keeps the schedule of future calls in PostgreSQL and
// runs them, when due, in sandboxed WebAssembly plugins.
//
//	host                     run (the role comes from --role, default monolith)
//	host run --role serverless
//	host config              print the effective configuration, secrets redacted
//	host config --keys       list every key with its environment variable
//	host check --plugins DIR check stored calls against a candidate plugins directory
//
// Configuration comes from defaults, a YAML file (--config), FC_* environment variables
// and flags named like the keys (--futureCall.concurrencyLimit=4), each overriding the
// one before.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/futurecalls/futurecalls/host/app"
	"github.com/futurecalls/futurecalls/host/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

func run(ctx context.Context, args []string) int {
	root := &cobra.Command{
		Use:           "host",
		Short:         "Run scheduled future calls in sandboxed WebAssembly plugins",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	config.RegisterFlags(root.PersistentFlags())
	load := func() (config.Config, config.Origins, error) {
		file, _ := root.PersistentFlags().GetString("config")
		return config.Load(config.Sources{File: file, Environ: os.Environ(), Flags: root.PersistentFlags()})
	}
	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Run the host in its role: monolith (API and executor), serverless (API only) or maintenance (check and exit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := load()
			if err != nil {
				return err
			}
			return app.Run(ctx, cfg, app.NewLogger(os.Stderr, cfg.Log))
		},
	}
	root.RunE = runCmd.RunE
	root.Args = cobra.NoArgs

	var keys bool
	configCmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets redacted), each key commented with where it came from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keys {
				for _, kv := range config.Keys() {
					fmt.Fprintf(cmd.OutOrStdout(), "%-36s %s\n", kv[0], kv[1])
				}
				return nil
			}
			cfg, origins, err := load()
			if err != nil {
				return err
			}
			return config.WriteYAML(cmd.OutOrStdout(), cfg, origins)
		},
	}
	configCmd.Flags().BoolVar(&keys, "keys", false, "list every configuration key with its environment variable")

	var candidate string
	checkCmd := &cobra.Command{
		Use:   "check --plugins DIR",
		Short: "Check the stored calls against a candidate plugins directory before deploying it",
		Long: `Check every stored call against the plugins in DIR, the plugins about to be deployed,
without touching the running host's plugins and without migrating the database. Prints
a JSON report on stdout. Exit codes: 0 nothing would break, 3 some stored calls would
be broken (the report says which), 1 the check could not be done.

With the embedded database, run it while the host is stopped, or share a database
through database.url.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := load()
			if err != nil {
				return err
			}
			code := app.PreDeploy(ctx, cfg, candidate, cmd.OutOrStdout(), app.NewLogger(os.Stderr, cfg.Log))
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	checkCmd.Flags().StringVar(&candidate, "plugins", "", "the candidate plugins directory (required)")
	_ = checkCmd.MarkFlagRequired("plugins")

	root.AddCommand(runCmd, configCmd, checkCmd)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})

	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	default:
		fmt.Fprintln(os.Stderr, "host:", err)
		return 1
	}
}
