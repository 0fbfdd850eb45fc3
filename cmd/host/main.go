// Command host runs futurecalls: it keeps the schedule of future calls in PostgreSQL and
// runs them, when due, in sandboxed WebAssembly plugins.
//
//	host                     run (the role comes from --role, default monolith)
//	host run --role serverless
//	host config              print the effective configuration, secrets redacted
//	host config --keys       list every key: type, environment variable, default, meaning
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
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/futurecalls/futurecalls/host/app"
	"github.com/futurecalls/futurecalls/host/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// run runs the command line args, writing its output to stdout and its errors and log
// to stderr, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "host",
		Short:         "Run scheduled future calls in sandboxed WebAssembly plugins",
		Long:          "Run scheduled future calls in sandboxed WebAssembly plugins. Without a command, host runs as 'host run'.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --role only matters when the host runs; every other key is read by every command.
	var roleKey, otherKeys []config.Key
	for _, k := range config.Keys() {
		if k.Name == "role" {
			roleKey = append(roleKey, k)
		} else {
			otherKeys = append(otherKeys, k)
		}
	}
	config.RegisterFileFlag(root.PersistentFlags())
	config.RegisterFlags(root.PersistentFlags(), otherKeys)
	load := func(cmd *cobra.Command) (config.Config, config.Origins, error) {
		file, _ := cmd.Flags().GetString("config")
		return config.Load(config.Sources{File: file, Environ: os.Environ(), Flags: cmd.Flags()})
	}
	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Run the host in its role: monolith (API and executor), serverless (API only) or maintenance (check and exit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := load(cmd)
			if err != nil {
				return err
			}
			return app.Run(ctx, cfg, app.NewLogger(stderr, cfg.Log))
		},
	}
	config.RegisterFlags(runCmd.Flags(), roleKey)
	config.RegisterFlags(root.Flags(), roleKey) // bare `host` runs too
	root.RunE = runCmd.RunE
	root.Args = cobra.NoArgs

	var keys bool
	configCmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets redacted), each key commented with where it came from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keys {
				return writeKeys(cmd.OutOrStdout())
			}
			cfg, origins, err := load(cmd)
			if err != nil {
				return err
			}
			return config.WriteYAML(cmd.OutOrStdout(), cfg, origins)
		},
	}
	configCmd.Flags().BoolVar(&keys, "keys", false, "list every configuration key with its type, environment variable, default and meaning")

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
			cfg, _, err := load(cmd)
			if err != nil {
				return err
			}
			code := app.PreDeploy(ctx, cfg, candidate, cmd.OutOrStdout(), app.NewLogger(stderr, cfg.Log))
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
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetUsageTemplate(wrapFlagUsages(root.UsageTemplate()))
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
		fmt.Fprintln(stderr, "host:", err)
		return 1
	}
}

// helpWidth is the width the flags' help is wrapped to.
const helpWidth = 100

// wrapFlagUsages makes a usage template wrap the flags' help at helpWidth columns, as
// the descriptions of the configuration keys run long.
func wrapFlagUsages(template string) string {
	for _, set := range []string{"LocalFlags", "InheritedFlags"} {
		template = strings.ReplaceAll(template, "."+set+".FlagUsages", fmt.Sprintf(".%s.FlagUsagesWrapped %d", set, helpWidth))
	}
	return template
}

// writeKeys lists the configuration keys for `host config --keys`, from the same
// descriptions as the flags' help.
func writeKeys(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTYPE\tENVIRONMENT VARIABLE\tDEFAULT\tMEANING")
	for _, k := range config.Keys() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Type, k.Env, k.Default, k.Description)
	}
	return tw.Flush()
}
