package abi

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxStateKeyBytes bounds a key of a plugin's state (fc.state_get, fc.state_put,
// fc.state_delete).
const MaxStateKeyBytes = 256

// CheckStateKey says whether key may name a value of a plugin's state: 1 to
// MaxStateKeyBytes bytes of valid UTF-8 without NUL characters (PostgreSQL's text
// refuses anything else). The host functions and the REST API apply this one rule.
func CheckStateKey(key string) error {
	if key == "" || len(key) > MaxStateKeyBytes || !utf8.ValidString(key) || strings.ContainsRune(key, 0) {
		return fmt.Errorf("a state key is 1 to %d bytes of UTF-8 without NUL", MaxStateKeyBytes)
	}
	return nil
}
