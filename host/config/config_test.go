package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/futurecalls/futurecalls/host/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("host", pflag.ContinueOnError)
	config.RegisterFileFlag(fs)
	config.RegisterFlags(fs, config.Keys())
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, origins, err := config.Load(config.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.FutureCallExecutionEnabled || cfg.FutureCall.Concurrency() != 1 || cfg.FutureCall.ScanInterval != 5000 {
		t.Errorf("Serverpod defaults not kept: %+v", cfg.FutureCall)
	}
	if cfg.CheckBrokenCalls != nil || cfg.DeleteBrokenCalls || cfg.DeleteUnavailableCalls {
		t.Errorf("broken-call defaults: check=%v delete=%v deleteUnavailable=%v", cfg.CheckBrokenCalls, cfg.DeleteBrokenCalls, cfg.DeleteUnavailableCalls)
	}
	// The maintenance role may delete the calls whose plugin is not loaded.
	if m, _, err := config.Load(config.Sources{Flags: flags(t, "--role=maintenance", "--deleteUnavailableCalls=true")}); err != nil || !m.DeleteUnavailableCalls {
		t.Errorf("role maintenance with deleteUnavailableCalls: %v, %v", m.DeleteUnavailableCalls, err)
	}
	if cfg.Plugins.Dir != "plugins" || cfg.API.Listen != "127.0.0.1:8080" || cfg.Database.URL != "" {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	if len(origins) != 0 {
		t.Errorf("origins = %v, want none", origins)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `
futureCall:
  concurrencyLimit: 2
  scanInterval: 2000
api:
  listen: 127.0.0.1:9000
sandbox:
  timeout: 10s
`)
	env := []string{"FC_FUTURECALL_CONCURRENCYLIMIT=3", "FC_FUTURECALL_SCANINTERVAL=3000", "PATH=/bin"}
	fs := flags(t, "--futureCall.concurrencyLimit=4")

	cfg, origins, err := config.Load(config.Sources{File: file, Environ: env, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.FutureCall.Concurrency(); got != 4 {
		t.Errorf("flag should win: concurrency = %d, want 4", got)
	}
	if got := cfg.FutureCall.ScanInterval; got != 3000 {
		t.Errorf("env should beat file: scanInterval = %d, want 3000", got)
	}
	if got := cfg.API.Listen; got != "127.0.0.1:9000" {
		t.Errorf("file should beat default: listen = %q", got)
	}
	if got := cfg.Sandbox.Timeout.D(); got != 10*time.Second {
		t.Errorf("sandbox.timeout = %v", got)
	}
	want := map[string]string{
		"futureCall.concurrencyLimit": "flag --futureCall.concurrencyLimit",
		"futureCall.scanInterval":     "environment variable FC_FUTURECALL_SCANINTERVAL",
		"api.listen":                  "config file " + file,
	}
	for k, v := range want {
		if origins[k] != v {
			t.Errorf("origin of %s = %q, want %q", k, origins[k], v)
		}
	}
}

func TestErrorsNameKeyAndOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   func(t *testing.T) config.Sources
		wants []string
	}{
		{
			name: "unknown key in file",
			src: func(t *testing.T) config.Sources {
				return config.Sources{File: writeFile(t, "futureCall:\n  concurencyLimit: 3\n")}
			},
			wants: []string{"futureCall.concurencyLimit", "unknown configuration key", "config file"},
		},
		{
			name: "wrong type in file",
			src: func(t *testing.T) config.Sources {
				return config.Sources{File: writeFile(t, "futureCall:\n  scanInterval: soon\n")}
			},
			wants: []string{"futureCall.scanInterval", "config file", "soon"},
		},
		{
			name: "wrong type in env",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Environ: []string{"FC_FUTURECALLEXECUTIONENABLED=maybe"}}
			},
			wants: []string{"futureCallExecutionEnabled", "environment variable FC_FUTURECALLEXECUTIONENABLED"},
		},
		{
			name: "unknown env variable",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Environ: []string{"FC_FUTURECALL_CONCURENCYLIMIT=3"}}
			},
			wants: []string{"FC_FUTURECALL_CONCURENCYLIMIT", "not a configuration key"},
		},
		{
			name: "wrong type in flag",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Flags: flags(t, "--futureCall.scanInterval=fast")}
			},
			wants: []string{"futureCall.scanInterval", "flag --futureCall.scanInterval"},
		},
		{
			name: "duration without unit",
			src: func(t *testing.T) config.Sources {
				return config.Sources{File: writeFile(t, "sandbox:\n  timeout: 30\n")}
			},
			wants: []string{"sandbox.timeout", "needs a unit"},
		},
		{
			name: "zero concurrency",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Environ: []string{"FC_FUTURECALL_CONCURRENCYLIMIT=0"}}
			},
			wants: []string{"futureCall.concurrencyLimit", "futureCallExecutionEnabled: false", "FC_FUTURECALL_CONCURRENCYLIMIT"},
		},
		{
			name: "negative prefetch",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Flags: flags(t, "--futureCall.prefetch=-1")}
			},
			wants: []string{"futureCall.prefetch", "must be 0 to 1000, got -1", "flag --futureCall.prefetch"},
		},
		{
			name: "huge prefetch",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Environ: []string{"FC_FUTURECALL_PREFETCH=1000000000"}}
			},
			wants: []string{"futureCall.prefetch", "must be 0 to 1000, got 1000000000", "FC_FUTURECALL_PREFETCH"},
		},
		{
			name:  "public listen without token",
			src:   func(t *testing.T) config.Sources { return config.Sources{Flags: flags(t, "--api.listen=0.0.0.0:8080")} },
			wants: []string{"api.listen", "api.tokens is empty"},
		},
		{
			name: "delete without check",
			src: func(t *testing.T) config.Sources {
				return config.Sources{File: writeFile(t, "checkBrokenCalls: false\ndeleteBrokenCalls: true\n")}
			},
			wants: []string{"deleteBrokenCalls", "checkBrokenCalls is false"},
		},
		{
			name: "unknown reload policy",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Environ: []string{"FC_PLUGINS_RELOAD_ONBREAKING=ignore"}}
			},
			wants: []string{"plugins.reload.onBreaking", "must be refuse, accept or delete", `"ignore"`},
		},
		{
			name:  "unknown pooler",
			src:   func(t *testing.T) config.Sources { return config.Sources{Flags: flags(t, "--database.pooler=session")} },
			wants: []string{"database.pooler", "must be none or transaction"},
		},
		{
			name: "listen URL not postgres",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Flags: flags(t, "--database.url=postgres://a@b/c", "--database.listenUrl=mysql://a@b/c")}
			},
			wants: []string{"database.listenUrl", "must be a postgres:// URL"},
		},
		{
			name: "listen URL with the embedded database",
			src: func(t *testing.T) config.Sources {
				return config.Sources{Flags: flags(t, "--database.listenUrl=postgres://a@b/c")}
			},
			wants: []string{"database.listenUrl", "needs database.url"},
		},
		{
			name: "delete unavailable calls on a serving host",
			src: func(t *testing.T) config.Sources {
				return config.Sources{File: writeFile(t, "deleteUnavailableCalls: true\n")}
			},
			wants: []string{"deleteUnavailableCalls", "only valid with role maintenance"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(tt.src(t))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNullAndUnlimited(t *testing.T) {
	t.Parallel()
	for _, src := range []config.Sources{
		{File: writeFile(t, "futureCall:\n  concurrencyLimit: null\n")},
		{Environ: []string{"FC_FUTURECALL_CONCURRENCYLIMIT=-1"}},
		{Flags: flags(t, "--futureCall.concurrencyLimit=null")},
	} {
		cfg, _, err := config.Load(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.FutureCall.Concurrency(); got != -1 {
			t.Errorf("concurrency = %d, want unlimited (-1)", got)
		}
	}
	cfg, _, err := config.Load(config.Sources{File: writeFile(t, "checkBrokenCalls: true\n")})
	if err != nil || cfg.CheckBrokenCalls == nil || !*cfg.CheckBrokenCalls {
		t.Fatalf("checkBrokenCalls: true not read: %v %v", cfg.CheckBrokenCalls, err)
	}
}

func TestPrefetch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		src  config.Sources
		want int // executor.Options.Prefetch
	}{
		{config.Sources{}, 0}, // null: as many as the concurrency limit
		{config.Sources{File: writeFile(t, "futureCall:\n  prefetch: null\n")}, 0},
		{config.Sources{Environ: []string{"FC_FUTURECALL_PREFETCH=0"}}, -1},
		{config.Sources{Flags: flags(t, "--futureCall.prefetch=3")}, 3},
	} {
		cfg, _, err := config.Load(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.FutureCall.PrefetchLimit(); got != tt.want {
			t.Errorf("%+v: prefetch limit = %d, want %d", tt.src, got, tt.want)
		}
	}
}

func TestPerPluginOverrides(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Load(config.Sources{File: writeFile(t, `
sandbox:
  memoryLimit: 32MiB
  state:
    valueLimit: 1KiB
  plugins:
    drip:
      memoryLimit: 128MiB
      fresh: true
      retry:
        maxAttempts: 5
      state:
        keyLimit: 20
    thumbs:
      concurrency: 2
      rate: 0.5
      burst: 3
`)})
	if err != nil {
		t.Fatal(err)
	}
	drip := cfg.Sandbox.Plugins["drip"]
	if drip.MemoryLimit != 128<<20 || !drip.Fresh || drip.Timeout != 0 || drip.State != (config.StateLimits{KeyLimit: 20}) {
		t.Errorf("drip override = %+v, want its own memory limit and fresh, nothing else", drip)
	}
	if thumbs := cfg.Sandbox.Plugins["thumbs"]; thumbs.Concurrency != 2 || thumbs.Rate != 0.5 || thumbs.Burst != 3 {
		t.Errorf("thumbs override = %+v, want concurrency 2, rate 0.5, burst 3", thumbs)
	}
	retry, ok := cfg.Sandbox.PluginRetry("drip")
	if !ok || retry.MaxAttempts != 5 || retry.Backoff != cfg.Sandbox.Retry.Backoff || retry.MaxBackoff != cfg.Sandbox.Retry.MaxBackoff {
		t.Errorf("drip retry = %+v, %v; want 5 attempts with the default backoffs", retry, ok)
	}
	if _, ok := cfg.Sandbox.PluginRetry("example"); ok {
		t.Errorf("example has no retry override")
	}
	if cfg.Sandbox.MemoryLimit != 32<<20 || cfg.Sandbox.State.ValueLimit != 1<<10 || cfg.Sandbox.State.KeyLimit != 10000 {
		t.Errorf("defaults = %+v, want the file's memory and state value limits over the defaults", cfg.Sandbox.Limits)
	}
}

func TestWriteYAMLRedactsAndRoundTrips(t *testing.T) {
	t.Parallel()
	out, _ := printed(t,
		"FC_DATABASE_URL=postgres://app:s3cret@db.internal:5432/calls",
		"FC_API_TOKENS=aaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbb",
		"FC_API_LISTEN=0.0.0.0:8080")
	for _, secret := range []string{"s3cret", "aaaaaaaaaaaaaaaaaaaa"} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "from environment variable FC_API_LISTEN") {
		t.Errorf("output does not say where api.listen came from:\n%s", out)
	}
	// Without secrets, the printed file loads back to the same configuration.
	out, cfg := printed(t, "FC_API_LISTEN=127.0.0.1:9999", "FC_SANDBOX_TIMEOUT=1m30s")
	back, _, err := config.Load(config.Sources{File: writeFile(t, out)})
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	if back.API.Listen != cfg.API.Listen || back.FutureCall.Concurrency() != cfg.FutureCall.Concurrency() ||
		back.Sandbox.MemoryLimit != cfg.Sandbox.MemoryLimit || back.Sandbox.Timeout != cfg.Sandbox.Timeout {
		t.Errorf("round trip changed the config:\n%+v\n%+v", back, cfg)
	}
}

func TestRetryPoliciesFollowTheRulesOfCalls(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		"sandbox:\n  retry:\n    maxAttempts: 500\n":                                    "sandbox.retry.maxAttempts: must be between 1 and 100",
		"sandbox:\n  plugins:\n    drip:\n      retry: {maxAttempts: 3, backoff: 2h}\n": "sandbox.plugins.drip.retry.maxBackoff: 1h0m0s is shorter than retry.backoff (2h0m0s)",
	} {
		_, _, err := config.Load(config.Sources{File: writeFile(t, body)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}
