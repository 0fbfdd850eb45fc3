package fc

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// decodeEnvelope reads the envelope the host writes (abi.Envelope, encoded by
// encoding/json) into env. It reads the envelope's expected shape by hand: in a guest,
// encoding/json's reflection made up most of a no-op call's time. Anything it does not
// expect (escapes in names, null, fields in another case, malformed JSON) goes to
// encoding/json, which decides.
func decodeEnvelope(data []byte, env *envelope) error {
	d := envelopeDecoder{data: data}
	if d.envelope(env) {
		return nil
	}
	*env = envelope{}
	return json.Unmarshal(data, env)
}

// envelopeDecoder reads one envelope; each method returns false when the input is not
// what it expects.
type envelopeDecoder struct {
	data []byte
	pos  int
}

func (d *envelopeDecoder) envelope(env *envelope) bool {
	return d.object(func(key string) bool {
		switch key {
		case "method":
			var ok bool
			env.Method, ok = d.string()
			return ok
		case "args":
			env.Args = map[string]json.RawMessage{}
			return d.object(func(name string) bool {
				start := d.pos
				if !d.skipValue() {
					return false
				}
				env.Args[name] = json.RawMessage(d.data[start:d.pos])
				return true
			})
		case "call":
			return d.callInfo(&env.Call)
		}
		return d.unknown(key, "method", "args", "call")
	}) && d.end()
}

func (d *envelopeDecoder) callInfo(c *abi.CallInfo) bool {
	return d.object(func(key string) bool {
		var ok bool
		switch key {
		case "id":
			c.ID, ok = d.integer()
		case "plugin":
			c.Plugin, ok = d.string()
		case "identifier":
			c.Identifier, ok = d.string()
		case "attempt":
			var n int64
			n, ok = d.integer()
			c.Attempt = int(n)
		case "maxAttempts":
			var n int64
			n, ok = d.integer()
			c.MaxAttempts = int(n)
		case "scheduledAt":
			var s string
			if s, ok = d.string(); ok {
				var err error
				c.ScheduledAt, err = time.Parse(time.RFC3339Nano, s)
				ok = err == nil
			}
		default:
			ok = d.unknown(key, "id", "plugin", "identifier", "attempt", "maxAttempts", "scheduledAt")
		}
		return ok
	})
}

// unknown skips the value of a field the envelope does not define, as encoding/json
// ignores it, unless its name matches a known one in another case: encoding/json would
// use it.
func (d *envelopeDecoder) unknown(key string, known ...string) bool {
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return false
		}
	}
	return d.skipValue()
}

func (d *envelopeDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *envelopeDecoder) next(c byte) bool {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *envelopeDecoder) end() bool {
	d.space()
	return d.pos == len(d.data)
}

// object reads an object, calling field with each name, the input then at its value.
func (d *envelopeDecoder) object(field func(name string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		name, ok := d.string()
		if !ok || !d.next(':') || !field(name) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// string reads a string without escapes or control characters.
func (d *envelopeDecoder) string() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	for i := d.pos; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			s := string(d.data[d.pos:i])
			d.pos = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// integer reads an integer without fraction or exponent.
func (d *envelopeDecoder) integer() (int64, bool) {
	d.space()
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	return n, err == nil
}

// skipValue skips one value, checking only that strings end and brackets match: the
// arguments' values are decoded, and so checked, on their own later.
func (d *envelopeDecoder) skipValue() bool {
	d.space()
	start, depth := d.pos, 0
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch c {
		case '"':
			d.pos++
			for d.pos < len(d.data) && d.data[d.pos] != '"' {
				if d.data[d.pos] == '\\' {
					d.pos++
				}
				d.pos++
			}
			if d.pos >= len(d.data) {
				return false
			}
			d.pos++
		case '{', '[':
			depth++
			d.pos++
		case '}', ']':
			if depth == 0 {
				return d.pos > start // the end of the enclosing object
			}
			depth--
			d.pos++
		case ',':
			if depth == 0 {
				return d.pos > start
			}
			d.pos++
		default:
			d.pos++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return true
		}
	}
	return depth == 0
}
