package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/host/config"
)

// printed loads the configuration from the environment variables env and returns what
// `host config` prints for it, and the configuration.
func printed(t *testing.T, env ...string) (string, config.Config) {
	t.Helper()
	cfg, origins, err := config.Load(config.Sources{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := config.WriteYAML(&buf, cfg, origins); err != nil {
		t.Fatal(err)
	}
	return buf.String(), cfg
}

// TestWriteYAMLRedactsURLSecrets: `host config` hides every secret of the database URL,
// in its user-info part and in its query string, and keeps what an operator checks
// (user, host, database, other parameters).
func TestWriteYAMLRedactsURLSecrets(t *testing.T) {
	t.Parallel()
	url := "postgres://app:u53rinfo@db.internal:5432/calls?sslmode=verify-full&password=qu3ry&sslpassword=k3ypass" +
		"&PassWord=upp3r&pass%77ord=esc4ped&sslkey=/etc/fc/key.pem&%zz=b4descape&application_name=fc"
	out, _ := printed(t, "FC_DATABASE_URL="+url)
	for _, secret := range []string{"u53rinfo", "qu3ry", "k3ypass", "upp3r", "esc4ped", "b4descape"} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"postgres://app:", "@db.internal:5432/calls?sslmode=verify-full&password=", "&application_name=fc"} {
		if !strings.Contains(out, kept) {
			t.Errorf("output lost %q:\n%s", kept, out)
		}
	}
}

// TestRedactedKeywordValueDSN: a keyword/value connection string is refused by the
// configuration without echoing it, and Redacted hides it whole.
func TestRedactedKeywordValueDSN(t *testing.T) {
	t.Parallel()
	dsn := "host=db.internal user=app password=kv5ecret dbname=calls"
	_, _, err := config.Load(config.Sources{Environ: []string{"FC_DATABASE_URL=" + dsn}})
	if err == nil || !strings.Contains(err.Error(), "database.url") {
		t.Fatalf("Load accepted or did not name database.url: %v", err)
	}
	if strings.Contains(err.Error(), "kv5ecret") {
		t.Errorf("the error leaks the password: %v", err)
	}
	var cfg config.Config
	cfg.Database.URL = dsn
	if got := cfg.Redacted().Database.URL; strings.Contains(got, "kv5ecret") {
		t.Errorf("Redacted kept the password: %q", got)
	}
}

// TestWriteYAMLRedactsListenURL: the direct URL for LISTEN (database.listenUrl) holds a
// password as database.url does, and `host config` hides it the same way.
func TestWriteYAMLRedactsListenURL(t *testing.T) {
	t.Parallel()
	out, cfg := printed(t, "FC_DATABASE_URL=postgres://app@pgbouncer:6432/calls", "FC_DATABASE_POOLER=transaction",
		"FC_DATABASE_LISTENURL=postgres://app:d1rect@primary:5432/calls")
	if cfg.Database.ListenURL == "" || cfg.Database.Pooler != config.PoolerTransaction {
		t.Fatalf("database section not loaded: %+v", cfg.Database)
	}
	if strings.Contains(out, "d1rect") {
		t.Errorf("output leaks the listen URL's password:\n%s", out)
	}
	if !strings.Contains(out, "@primary:5432/calls") {
		t.Errorf("output lost the listen URL's host:\n%s", out)
	}
}
