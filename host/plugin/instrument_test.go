package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
)

// TestInstrumentShippedModules rewrites every example plugin (five languages), the Go
// probe and the hostile WAT module, and checks the result with wabt's validator: the
// rewriter must keep every section of real modules intact. (The registry's tests run
// the instrumented modules.)
func TestInstrumentShippedModules(t *testing.T) {
	t.Parallel()
	files := []string{testplugins.Path(t, "probe"), testplugins.Path(t, "hostile")}
	for _, ex := range []string{"example", "drip", "example_rust", "drip_rust", "example_c", "drip_c",
		"example_as", "drip_as", "example_wat", "drip_wat"} {
		files = append(files, testplugins.Example(t, ex))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			bin, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := instrument(bin, DefaultTableLimit, DefaultStackLimit)
			if err != nil {
				t.Fatalf("instrument: %v", err)
			}
			rewritten := filepath.Join(t.TempDir(), "out.wasm")
			if err := os.WriteFile(rewritten, out.bin, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("wasm-validate", rewritten).CombinedOutput(); err != nil {
				t.Fatalf("wasm-validate: %v\n%s", err, msg)
			}
		})
	}
}
