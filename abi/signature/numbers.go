package signature

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Limits on the number literals of arguments. Schema validation reads every number as
// an exact big.Rat, whose cost grows with the square of the literal's digits (a 1 MiB
// literal took 1.65 s) and with the size of its exponent ("1e999999", eight
// characters, took 0.6 s), so longer literals and larger exponents are refused before
// any schema sees them.
const (
	// MaxNumberLength bounds a number literal's characters: 64 holds every int64 and
	// uint64 (20), every float64 as JSON encoders write it (at most 24, e.g.
	// -1.2345678901234567e-308), and the 34 significant digits of a decimal128 with a
	// sign, a point and an exponent (43). Larger numbers travel as strings.
	MaxNumberLength = 64
	// MaxNumberExponent bounds the magnitude of a number literal's exponent: 1000 is
	// beyond float64's range (±308, 324 for subnormals), and a schema check of such a
	// number costs microseconds.
	MaxNumberExponent = 1000
)

// numberViolations lists the number literals in v (arguments decoded with json.Number)
// that exceed MaxNumberLength or MaxNumberExponent, at their JSON pointers under at.
func numberViolations(v any, at string, out []Violation) []Violation {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			out = numberViolations(item, at+"/"+escape(k), out)
		}
	case []any:
		for i, item := range v {
			out = numberViolations(item, at+"/"+strconv.Itoa(i), out)
		}
	case json.Number:
		if msg := numberProblem(string(v)); msg != "" {
			out = append(out, Violation{Pointer: at, Message: msg})
		}
	}
	return out
}

// numberProblem says why a number literal is refused, or returns "".
func numberProblem(n string) string {
	if len(n) > MaxNumberLength {
		return fmt.Sprintf("number literal of %d characters, more than the limit of %d: send larger numbers as strings", len(n), MaxNumberLength)
	}
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
		if err != nil || exp > MaxNumberExponent || exp < -MaxNumberExponent {
			return fmt.Sprintf("number %s has an exponent beyond ±%d: send it as a string", n, MaxNumberExponent)
		}
	}
	return ""
}
