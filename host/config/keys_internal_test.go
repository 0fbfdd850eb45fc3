package config

import (
	"strings"
	"testing"
)

// TestEveryKeyIsDescribed: every key a user can set has a description for the help,
// and its comment closes with "Defaults to X." where X is the value Default really
// gives it, as `host config` writes it.
func TestEveryKeyIsDescribed(t *testing.T) {
	t.Parallel()
	if len(Keys()) < 30 {
		t.Fatalf("only %d keys found", len(Keys()))
	}
	for _, k := range Keys() {
		if k.Description == "" {
			t.Errorf("%s has no description: comment its field in config.go", k.Name)
		}
		_, stated, ok := strings.Cut(k.doc, defaultsSentence)
		if !ok || !strings.HasSuffix(stated, ".") || strings.Contains(stated, ". ") {
			t.Errorf("%s: its comment %q does not end with %q", k.Name, k.doc, defaultsSentence+k.Default+".")
			continue
		}
		if stated = strings.TrimSuffix(stated, "."); stated != k.Default {
			t.Errorf("%s: its comment says it defaults to %s, but it defaults to %s", k.Name, stated, k.Default)
		}
	}
}
