package request

import (
	"errors"
	"fmt"
	"time"

	"github.com/futurecalls/futurecalls/abi/signature"
)

// Run times outside [MinRunAt, MaxRunAt) are refused: a time PostgreSQL stores but JSON
// cannot carry (the year 10000, which 9999-12-31T23:59:59.9999999Z rounds to) would
// make the call unreadable ever after.
var (
	MinRunAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxRunAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxExponent bounds the exponent of a number in arguments: beyond it a number means
// nothing to any plugin, and big-number arithmetic on it (in schema validation) costs
// memory in proportion. The signature check refuses the same numbers, at their
// pointers; this one runs first, on the raw bytes, and says so as a bad request.
const maxExponent = signature.MaxNumberExponent

// CheckStorable refuses valid JSON that PostgreSQL cannot store, or that costs too
// much to validate: a NUL character or an unpaired UTF-16 surrogate in a string escape
// (which a JSON decoder would turn into U+FFFD, so that two different identifiers
// would collide), and numbers with huge exponents. Prepare applies it to the
// arguments; the REST API to a whole request body. It assumes args is well-formed JSON
// otherwise (the JSON decoder or the signature check reports malformed JSON).
func CheckStorable(args []byte) error {
	inString := false
	pendingHigh := false // the previous escape was a high surrogate
	for i := 0; i < len(args); i++ {
		c := args[i]
		if !inString {
			switch {
			case c == '"':
				inString = true
			case c == 'e' || c == 'E':
				if err := checkExponent(args[i+1:]); err != nil {
					return err
				}
			}
			continue
		}
		switch c {
		case '"':
			if pendingHigh {
				return errUnpaired
			}
			inString = false
		case '\\':
			if i+1 >= len(args) {
				return nil
			}
			i++
			if args[i] != 'u' {
				if pendingHigh {
					return errUnpaired
				}
				continue
			}
			if i+4 >= len(args) {
				return nil
			}
			r := hex4(args[i+1 : i+5])
			i += 4
			switch {
			case r == 0:
				return errors.New(`strings cannot hold the NUL character (\u0000)`)
			case r >= 0xD800 && r <= 0xDBFF:
				if pendingHigh {
					return errUnpaired
				}
				pendingHigh = true
			case r >= 0xDC00 && r <= 0xDFFF:
				if !pendingHigh {
					return errUnpaired
				}
				pendingHigh = false
			default:
				if pendingHigh {
					return errUnpaired
				}
			}
		default:
			if pendingHigh {
				return errUnpaired
			}
		}
	}
	return nil
}

var errUnpaired = errors.New("a string holds an unpaired UTF-16 surrogate escape")

// checkExponent reads the exponent after an 'e' of a number.
func checkExponent(b []byte) error {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	n := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
		if n > maxExponent {
			return fmt.Errorf("a number's exponent is beyond ±%d", maxExponent)
		}
	}
	return nil
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) int {
	v := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v*16 + int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}
