package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/futurecalls/futurecalls/host/api"
)

// openapiTools holds the third-party tools, installed at pinned versions by
// `make openapi-tools` (npm ci).
const openapiTools = "testdata/openapi-tools"

// runTool runs a command in dir and fails the test with its output when it fails.
func runTool(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	stdout, err := tool(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stdout)
	}
	return stdout
}

// tool runs a command in dir; its error carries what it wrote to stderr.
func tool(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// Offline: no telemetry, no update check.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// TestOpenAPIReadByThirdPartyTools reads /openapi.json, with and without tokens, the
// way a user's generator would: Redocly's recommended rules report no error,
// swagger-parser validates it, and a client of every endpoint, typed by
// openapi-typescript and called through openapi-fetch, type-checks with tsc (once: the
// two documents differ only in security).
func TestOpenAPIReadByThirdPartyTools(t *testing.T) {
	t.Parallel()
	tools, err := filepath.Abs(openapiTools)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tools, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "redocly")); err != nil {
		t.Fatalf("the OpenAPI tools are not installed (run make openapi-tools): %v", err)
	}
	for name, e := range map[string]*env{
		"without tokens": newEnv(t),
		"with tokens":    newEnv(t, func(o *api.Options) { o.Tokens = []string{token} }),
	} {
		t.Run(name, func(t *testing.T) {
			resp, doc := e.do(t, http.MethodGet, "/openapi.json", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("openapi.json: %d %s", resp.StatusCode, doc)
			}
			dir := t.TempDir()
			docPath := filepath.Join(dir, "openapi.json")
			if err := os.WriteFile(docPath, doc, 0o644); err != nil {
				t.Fatal(err)
			}

			// Redocly fails when it finds errors; its report lists them.
			lint, lintErr := tool(dir, filepath.Join(bin, "redocly"), "lint", "--extends=recommended", "--format=json", docPath)
			var report struct {
				Problems []struct {
					RuleID   string `json:"ruleId"`
					Severity string `json:"severity"`
					Message  string `json:"message"`
					Location []struct {
						Pointer string `json:"pointer"`
					} `json:"location"`
				} `json:"problems"`
			}
			if err := json.Unmarshal(lint, &report); err != nil {
				t.Fatalf("redocly's report: %v (%v)\n%s", err, lintErr, lint)
			}
			for _, p := range report.Problems {
				if p.Severity == "error" {
					t.Errorf("redocly %s at %v: %s", p.RuleID, p.Location, p.Message)
				}
			}
			if lintErr != nil && !t.Failed() {
				t.Errorf("redocly lint: %v", lintErr)
			}

			runTool(t, tools, "node", "validate.mjs", docPath)
			if name != "with tokens" {
				return // the types differ only in security, which they leave out; tsc takes its time
			}

			// The client and its generated types go together in a directory of their
			// own, which finds the tools' node_modules through a link.
			for _, f := range []string{"client.ts", "tsconfig.json"} {
				b, err := os.ReadFile(filepath.Join(tools, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(filepath.Join(tools, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
				t.Fatal(err)
			}
			runTool(t, dir, filepath.Join(bin, "openapi-typescript"), docPath, "-o", filepath.Join(dir, "api.d.ts"))
			runTool(t, dir, filepath.Join(bin, "tsc"), "-p", dir)
		})
	}
}
