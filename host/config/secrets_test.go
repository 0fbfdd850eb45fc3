package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/config"
)

// TestPluginGrants: sandbox.plugins.<name>.http and .config load from YAML, the HTTP
// limits from every layer; the secrets they name are read by ResolveConfig only, and
// `host config` prints their references, never their values.
func TestPluginGrants(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte("f1le-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, `
sandbox:
  http:
    maxRequests: 4
  plugins:
    drip:
      http:
        allow: ["https://api.mail.example", "http://127.0.0.1:8025"]
        responseLimit: 64KiB
      config:
        from: noreply@example.com
        token: env:MAIL_TOKEN
        key: file:`+secretFile+`
        odd: "literal:env:HOME"
        port: 8025
`)
	cfg, origins, err := config.Load(config.Sources{File: file, Environ: []string{"FC_SANDBOX_HTTP_REQUESTLIMIT=2MiB"}})
	if err != nil {
		t.Fatal(err)
	}
	drip := cfg.Sandbox.Plugins["drip"]
	if cfg.Sandbox.HTTP.MaxRequests != 4 || cfg.Sandbox.HTTP.RequestLimit != 2<<20 || drip.HTTP.ResponseLimit != 64<<10 ||
		len(drip.HTTP.Allow) != 2 {
		t.Errorf("got sandbox.http %+v, drip %+v", cfg.Sandbox.HTTP, drip.HTTP)
	}
	values, err := cfg.Sandbox.ResolveConfig(func(name string) (string, bool) {
		if name == "MAIL_TOKEN" {
			return "env-s3cret", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"from": "noreply@example.com", "token": "env-s3cret", "key": "f1le-s3cret", "odd": "env:HOME", "port": "8025"}
	for k, v := range want {
		if values["drip"][k] != v {
			t.Errorf("drip.%s = %q, want %q", k, values["drip"][k], v)
		}
	}

	var buf bytes.Buffer
	if err := config.WriteYAML(&buf, cfg, origins); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "token: env:MAIL_TOKEN") || !strings.Contains(out, "key: file:"+secretFile) {
		t.Errorf("host config output, want the references and no secret:\n%s", out)
	}
	// What `host config` prints loads back.
	if _, _, err := config.Load(config.Sources{File: writeFile(t, out)}); err != nil {
		t.Errorf("the printed configuration does not load: %v", err)
	}

	// A missing secret names its key, never a value.
	_, err = cfg.Sandbox.ResolveConfig(func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "sandbox.plugins.drip.config.token: the secret's environment variable MAIL_TOKEN is not set") {
		t.Errorf("missing variable: got %v", err)
	}
	if err := os.Remove(secretFile); err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Sandbox.ResolveConfig(func(string) (string, bool) { return "x", true })
	if err == nil || !strings.Contains(err.Error(), "sandbox.plugins.drip.config.key: read the secret's file "+secretFile) {
		t.Errorf("missing file: got %v", err)
	}
}

// TestGrantErrors: bad allow entries, secrets without a name or a path, and grants
// outside a plugin stop the load, each named by its key.
func TestGrantErrors(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load(config.Sources{File: writeFile(t, `
sandbox:
  http:
    allow: ["https://everyone.example"]
  config:
    shared: x
  plugins:
    drip:
      http:
        allow: ["api.mail.example", "https://ok.example", "gopher://x.example", "https://*.x.example/path"]
        maxRequests: -1
      config:
        a: "env:"
        b: file:relative/path
`)})
	if err == nil {
		t.Fatal("Load accepted bad grants")
	}
	for _, want := range []string{
		`sandbox.http.allow: access is granted per plugin`,
		`sandbox.config: configuration is per plugin`,
		`sandbox.plugins.drip.http.allow: "api.mail.example": want scheme://host[:port]`,
		`"gopher://x.example": scheme "gopher": want http or https`,
		`"https://*.x.example/path": an entry is scheme://host[:port] only`,
		`sandbox.plugins.drip.http.maxRequests: must not be negative`,
		`sandbox.plugins.drip.config.a: env: needs the name of an environment variable`,
		`sandbox.plugins.drip.config.b: file: needs an absolute path`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ok.example") {
		t.Errorf("error names a good entry:\n%v", err)
	}
}

// TestGrantKeysArePerPluginOnly: neither flags nor environment variables set an
// allow-list or configuration values; `host config` does not offer them outside a
// plugin.
func TestGrantKeysArePerPluginOnly(t *testing.T) {
	t.Parallel()
	for _, k := range config.Keys() {
		if k.Name == "sandbox.http.allow" || strings.HasPrefix(k.Name, "sandbox.config") {
			t.Errorf("key %s is offered as a flag and a variable", k.Name)
		}
	}
	out, _ := printed(t)
	if strings.Contains(out, "allow:") || strings.Contains(out, "config:") {
		t.Errorf("host config shows per-plugin keys at the top:\n%s", out)
	}
	if !strings.Contains(out, "maxRequests: 16") {
		t.Errorf("host config does not show sandbox.http.maxRequests:\n%s", out)
	}
}
