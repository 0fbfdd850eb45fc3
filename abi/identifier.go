package abi

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIdentifierBytes bounds an identifier, the tag that cancels calls.
const MaxIdentifierBytes = 256

// CheckIdentifier says whether id may tag a call: valid UTF-8 without NUL characters
// (PostgreSQL's text refuses anything else) and at most MaxIdentifierBytes. The empty
// identifier passes (a call need not have one). The REST API, fc.schedule and fc.cancel
// all apply this one rule.
func CheckIdentifier(id string) error {
	if len(id) > MaxIdentifierBytes || !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("identifier must be valid UTF-8 without NUL of at most %d bytes", MaxIdentifierBytes)
	}
	return nil
}
