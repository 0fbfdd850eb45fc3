package plugin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
)

// TestInstrumentShippedModules rewrites every example plugin and the Go probe and
// checks the result with wabt's validator and wazero's compiler: the rewriter must keep
// every section of real modules (five languages) intact, and keep their exports and
// function names.
func TestInstrumentShippedModules(t *testing.T) {
	files := []string{testplugins.Path(t, "probe"), testplugins.Path(t, "hostile")}
	for _, ex := range []string{"example", "drip", "example_rust", "drip_rust", "example_c", "drip_c",
		"example_as", "drip_as", "example_wat", "drip_wat"} {
		files = append(files, testplugins.Example(t, ex))
	}
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(testplugins.CacheDir(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	t.Cleanup(func() { _ = rt.Close(ctx) })
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			bin, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := instrument(bin, 10000, 1<<20)
			if err != nil {
				t.Fatalf("instrument: %v", err)
			}
			rewritten := filepath.Join(t.TempDir(), "out.wasm")
			if err := os.WriteFile(rewritten, out.bin, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("wasm-validate", "--enable-all", rewritten).CombinedOutput(); err != nil {
				t.Fatalf("wasm-validate: %v\n%s", err, msg)
			}
			before, err := rt.CompileModule(ctx, bin)
			if err != nil {
				t.Fatal(err)
			}
			after, err := rt.CompileModule(ctx, out.bin)
			if err != nil {
				t.Fatalf("compile the instrumented module: %v", err)
			}
			for name, def := range before.ExportedFunctions() {
				got, ok := after.ExportedFunctions()[name]
				if !ok || got.DebugName() != def.DebugName() {
					t.Errorf("export %s: %v after, %s before", name, got, def.DebugName())
				}
			}
		})
	}
}
