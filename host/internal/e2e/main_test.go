package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
)

// hostBinary is the host built from cmd/host for this test run, by TestMain.
var hostBinary string

// raceBuild says whether the host is built with the race detector (E2E_RACE=1).
var raceBuild = os.Getenv("E2E_RACE") != ""

// soak says whether the workloads are scaled up for a soak run (E2E_SOAK=1).
var soak = os.Getenv("E2E_SOAK") != ""

// scale returns ci, or soakValue in a soak run.
func scale(ci, soakValue int) int {
	if soak {
		return soakValue
	}
	return ci
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "futurecalls-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	hostBinary = filepath.Join(dir, "host")
	if err := buildHost(hostBinary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := testdb.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildHost builds cmd/host into out, with -race when raceBuild.
func buildHost(out string) error {
	goTool, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if raceBuild {
		args = append(args, "-race")
	}
	args = append(args, "github.com/futurecalls/futurecalls/cmd/host")
	start := time.Now()
	cmd := exec.Command(goTool, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the host (%s %v): %w\n%s", goTool, args, err, b)
	}
	fmt.Fprintf(os.Stderr, "e2e: built the host (race detector: %t) in %s\n", raceBuild, time.Since(start).Round(time.Millisecond))
	return nil
}
