package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/config"
)

// runCLI runs the command line args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(context.Background(), args, &out, &errs)
	return code, out.String() + errs.String()
}

// TestCLIHelpExplainsEveryKey: `host run --help` gives each key's flag with its type,
// meaning, environment variable and default, and `host config --keys` gives the same.
func TestCLIHelpExplainsEveryKey(t *testing.T) {
	t.Parallel()
	code, help := runCLI(t, "run", "--help")
	if code != 0 {
		t.Fatalf("host run --help exited %d:\n%s", code, help)
	}
	_, keys := runCLI(t, "config", "--keys")
	flat := strings.Join(strings.Fields(help), " ") // undo the wrapping
	for _, k := range config.Keys() {
		want := "--" + k.Name + " " + k.Type + " " + k.Description + " (env " + k.Env + ")"
		if k.Type == "bool" {
			want = "--" + k.Name + " " + k.Description + " (env " + k.Env + ")"
		}
		if !strings.Contains(flat, want) {
			t.Errorf("host run --help lacks %q", want)
		}
		if !strings.Contains(keys, k.Description) || !strings.Contains(keys, k.Env) {
			t.Errorf("host config --keys lacks %s's description or variable", k.Name)
		}
	}
	for _, want := range []string{
		"--futureCall.concurrencyLimit int how many calls run at once on this host; negative or null = unlimited",
		"(env FC_FUTURECALL_CONCURRENCYLIMIT) (default 1)",
		"--sandbox.memoryLimit size caps the linear memory of each plugin instance (env FC_SANDBOX_MEMORYLIMIT) (default 64MiB)",
		"--sandbox.timeout duration the time limit of one call (env FC_SANDBOX_TIMEOUT) (default 30s)",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("host run --help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "sets ") {
		t.Errorf("host run --help still says only which key a flag sets:\n%s", help)
	}
}

// TestCLIRoleBelongsToRun: --role is a flag of run (and of bare host, which runs), not
// of the commands that only read the configuration or check plugins.
func TestCLIRoleBelongsToRun(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"run", "--help"}, {"--help"}} {
		if _, help := runCLI(t, args...); !strings.Contains(help, "--role string") {
			t.Errorf("host %s lacks --role:\n%s", strings.Join(args, " "), help)
		}
	}
	for _, cmd := range []string{"config", "check"} {
		if _, help := runCLI(t, cmd, "--help"); strings.Contains(help, "--role") {
			t.Errorf("host %s --help offers --role:\n%s", cmd, help)
		}
		code, out := runCLI(t, cmd, "--role=serverless")
		if code == 0 || !strings.Contains(out, "unknown flag: --role") {
			t.Errorf("host %s --role=serverless: exit %d, %s; want an unknown flag", cmd, code, out)
		}
	}
}

// TestCLIConfigReadsFlags: `host config` shows a value given by flag, with its origin.
func TestCLIConfigReadsFlags(t *testing.T) {
	t.Parallel()
	code, out := runCLI(t, "config", "--futureCall.concurrencyLimit=4", "--sandbox.fresh", "--api.tokens=aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"concurrencyLimit: 4 # from flag --futureCall.concurrencyLimit", "fresh: true # from flag --sandbox.fresh",
		"tokens: [<redacted>, <redacted>] # from flag --api.tokens"} {
		if !strings.Contains(out, want) {
			t.Errorf("host config lacks %q:\n%s", want, out)
		}
	}
}
