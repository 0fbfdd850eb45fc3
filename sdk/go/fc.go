package fc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/futurecalls/futurecalls/abi"
)

// Call describes the call being run: its id, plugin, when it was due, its identifier and
// which attempt this is. The host may add fields in later versions.
type Call struct {
	abi.CallInfo
	// Method is the name of the call being run.
	Method string
}

// RetryPolicy says how often a failed call is tried again (see abi/README.md, Retries).
type RetryPolicy = abi.RetryPolicy

// method is one registered call.
type method struct {
	def    abi.Method
	fn     reflect.Value
	params []reflect.Type // after the Call
}

// registry holds what init functions declared. Registration happens in init, before any
// export is called, and the host runs one call at a time per instance, but the mutex
// keeps stray goroutines honest.
var registry = struct {
	sync.Mutex
	manifest abi.Manifest
	methods  map[string]*method
	encoded  []byte // the manifest as JSON, once asked for
}{methods: map[string]*method{}}

// Name rules of abi/README.md, checked by hand: package regexp would add 400 KB to
// every plugin.
const (
	pluginNameRule = `^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`
	callNameRule   = `^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`
)

func validPluginName(s string) bool {
	return len(s) > 0 && isLetter(s[0]) && validName(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-' })
}

func validCallName(s string) bool {
	return len(s) > 0 && (isLetter(s[0]) || s[0] == '_') && validName(s, func(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' })
}

func validName(s string, ok func(byte) bool) bool {
	if len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// Plugin names the plugin and its version (free text, shown by the host). Call it once,
// in an init function. The name must match ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$ and be unique
// among the host's plugins.
func Plugin(name, version string) {
	if !validPluginName(name) {
		panic(fmt.Sprintf("fc.Plugin(%q): the name must match %s", name, pluginNameRule))
	}
	registry.Lock()
	defer registry.Unlock()
	registry.manifest.Name = name
	registry.manifest.Version = version
}

// Describe sets the plugin's description, shown in the host's API documentation.
func Describe(description string) {
	registry.Lock()
	defer registry.Unlock()
	registry.manifest.Description = description
}

// DefaultRetry sets the retry policy of the plugin's calls when the scheduler names none.
func DefaultRetry(p RetryPolicy) {
	if _, err := p.Parse(); err != nil {
		panic(fmt.Sprintf("fc.DefaultRetry: %v", err))
	}
	registry.Lock()
	defer registry.Unlock()
	registry.manifest.Retry = &p
}

// Method is a registered call; its methods add documentation to the manifest.
type Method struct{ m *method }

// Describe sets the call's description, shown in the host's API documentation.
func (m Method) Describe(description string) Method {
	registry.Lock()
	defer registry.Unlock()
	m.m.def.Description = description
	return m
}

// Register registers fn as the future call name. Call it in an init function.
//
// fn must be a function taking a Call and then the call's parameters, and returning an
// error: func(c fc.Call, data string, n int) error. params names those parameters, in
// order (Go cannot see parameter names). A parameter of pointer type is optional: nil
// when the caller leaves it out. Every other parameter is required.
//
// The parameter types define the call's signature: the SDK derives a JSON Schema from
// each (see Schemer for the rules and for how a type states its own), the host checks
// arguments against them before the call runs, and the SDK decodes the arguments into
// fn's parameters with encoding/json.
//
// A returned error fails the call with its message; a panic is recovered and fails the
// call too. Register panics when fn or params do not fit these rules or the name is
// taken: the plugin then fails to load, with the reason in the host's log.
func Register(name string, fn any, params ...string) Method {
	m, err := newMethod(name, fn, params)
	if err != nil {
		panic(fmt.Sprintf("fc.Register(%q): %v", name, err))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, taken := registry.methods[name]; taken {
		panic(fmt.Sprintf("fc.Register(%q): a call of that name is registered already", name))
	}
	registry.methods[name] = m
	registry.manifest.Calls = append(registry.manifest.Calls, abi.Method{Name: name})
	registry.encoded = nil
	return Method{m}
}

func newMethod(name string, fn any, params []string) (*method, error) {
	if !validCallName(name) {
		return nil, fmt.Errorf("the name must match %s", callNameRule)
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if v.Kind() != reflect.Func || v.IsNil() || t.IsVariadic() || t.NumIn() == 0 || t.In(0) != callType ||
		t.NumOut() != 1 || t.Out(0) != errorType {
		return nil, fmt.Errorf("fn is %T, want a func(fc.Call, params...) error", fn)
	}
	if n := t.NumIn() - 1; len(params) != n {
		return nil, fmt.Errorf("fn takes %d parameters after the Call, but %d names were given (%q)", n, len(params), params)
	}
	m := &method{def: abi.Method{Name: name, Params: []abi.Param{}}, fn: v}
	seen := map[string]bool{}
	for i, p := range params {
		if !validCallName(p) {
			return nil, fmt.Errorf("parameter name %q must match %s", p, callNameRule)
		}
		if seen[p] {
			return nil, fmt.Errorf("parameter name %q is given twice", p)
		}
		seen[p] = true
		pt := t.In(i + 1)
		optional := pt.Kind() == reflect.Pointer
		st := pt
		if optional {
			st = pt.Elem() // absent when nil: no need to accept null
		}
		s, err := schemaOf(st)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p, err)
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: schema: %w", p, err)
		}
		m.def.Params = append(m.def.Params, abi.Param{Name: p, Schema: raw, Optional: optional})
		m.params = append(m.params, pt)
	}
	return m, nil
}

// Manifest returns the plugin's manifest as fc_manifest reports it to the host. It fails
// when Plugin was not called.
func Manifest() (abi.Manifest, error) {
	registry.Lock()
	defer registry.Unlock()
	return manifestLocked()
}

func manifestLocked() (abi.Manifest, error) {
	m := registry.manifest
	if m.Name == "" {
		return abi.Manifest{}, errors.New(`fc: the plugin has no name: call fc.Plugin("name", "version") in an init function`)
	}
	m.ABI = abi.Version
	m.Calls = make([]abi.Method, len(registry.manifest.Calls))
	for i, c := range registry.manifest.Calls {
		m.Calls[i] = registry.methods[c.Name].def
	}
	for _, sub := range m.Subscriptions {
		if registry.methods[sub.Call] == nil {
			return abi.Manifest{}, fmt.Errorf("fc: fc.Subscribe(%q, %q): no call %q is registered", sub.Topic, sub.Call, sub.Call)
		}
	}
	return m, nil
}

// encodedManifest is the manifest as fc_manifest returns it.
func encodedManifest() ([]byte, error) {
	registry.Lock()
	defer registry.Unlock()
	if registry.encoded == nil {
		m, err := manifestLocked()
		if err != nil {
			return nil, err
		}
		if registry.encoded, err = json.Marshal(m); err != nil {
			return nil, fmt.Errorf("fc: encode manifest: %w", err)
		}
	}
	return registry.encoded, nil
}

// envelope is abi.Envelope with the arguments split by parameter.
type envelope struct {
	Method string                     `json:"method"`
	Args   map[string]json.RawMessage `json:"args"`
	Call   abi.CallInfo               `json:"call"`
}

// invoke runs the call an envelope describes and returns its error.
func invoke(data []byte) (err error) {
	var env envelope
	if err := decodeEnvelope(data, &env); err != nil {
		return fmt.Errorf("fc: malformed envelope: %w", err)
	}
	registry.Lock()
	m, ok := registry.methods[env.Method]
	registry.Unlock()
	if !ok {
		return fmt.Errorf("fc: unknown call %q", env.Method)
	}
	in := make([]reflect.Value, 1+len(m.params))
	in[0] = reflect.ValueOf(Call{CallInfo: env.Call, Method: env.Method})
	for i, pt := range m.params {
		name := m.def.Params[i].Name
		v := reflect.New(pt)
		if raw, given := env.Args[name]; given {
			var err error
			if v, err = decodeArg(raw, pt); err != nil {
				return fmt.Errorf("fc: argument %s: %w", name, err)
			}
		} else if !m.def.Params[i].Optional {
			return fmt.Errorf("fc: argument %s is missing", name)
		}
		in[i+1] = v.Elem()
	}
	defer func() {
		if r := recover(); r != nil {
			Logger().Error(fmt.Sprintf("panic in %s: %v\n%s", env.Method, r, debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	out := m.fn.Call(in)
	if e, _ := out[0].Interface().(error); e != nil {
		return e
	}
	return nil
}

// decodeArg decodes one argument into a new value of type t and returns a pointer to it.
//
// JSON Schema's "integer" is any number without a fractional part, so the host accepts
// 1.0, 1e2 and -0 for an integer parameter, numbers encoding/json refuses for Go's
// integer types. When decoding fails and the argument holds such numbers, they are
// rewritten as plain integers and decoding is tried once more, so that the plugin runs
// every call whose arguments fit its signature.
func decodeArg(raw json.RawMessage, t reflect.Type) (reflect.Value, error) {
	v := reflect.New(t)
	err := json.Unmarshal(raw, v.Interface())
	if err == nil {
		return v, nil
	}
	plain, changed := plainIntegers(raw)
	if !changed {
		return v, err
	}
	again := reflect.New(t)
	if json.Unmarshal(plain, again.Interface()) != nil {
		return v, err
	}
	return again, nil
}

// plainIntegers rewrites the numbers of a JSON document that have an integral value in
// another form ("1.0", "1e2", "-0") as plain integers ("1", "100", "0"), leaving every
// other byte as it is. changed says whether it rewrote any.
func plainIntegers(doc []byte) (out []byte, changed bool) {
	inString := false
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case inString && c == '\\' && i+1 < len(doc):
			if changed {
				out = append(out, c, doc[i+1])
			}
			i++
			continue
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '-' || '0' <= c && c <= '9':
			j := i
			for j < len(doc) && strings.IndexByte("0123456789+-.eE", doc[j]) >= 0 {
				j++
			}
			if plain, ok := plainInteger(string(doc[i:j])); ok {
				if !changed {
					out, changed = append([]byte(nil), doc[:i]...), true
				}
				out = append(out, plain...)
			} else if changed {
				out = append(out, doc[i:j]...)
			}
			i = j - 1
			continue
		}
		if changed {
			out = append(out, c)
		}
	}
	return out, changed
}

// plainInteger returns the plain integer form of a JSON number written with a fraction,
// an exponent or as -0, when its value is an integer of at most 20 digits (more fit no
// Go integer type); ok is false otherwise.
func plainInteger(num string) (plain string, ok bool) {
	if !strings.ContainsAny(num, ".eE") && num != "-0" {
		return "", false
	}
	neg := strings.HasPrefix(num, "-")
	mantissa, exp := strings.TrimPrefix(num, "-"), 0
	if i := strings.IndexAny(mantissa, "eE"); i >= 0 {
		e, err := strconv.Atoi(mantissa[i+1:])
		if err != nil || e > 20 || e < -1000 {
			return "", false
		}
		mantissa, exp = mantissa[:i], e
	}
	whole, fraction, _ := strings.Cut(mantissa, ".")
	digits := whole + fraction
	point := len(whole) + exp // digits[:point] is the integer part
	if point > 20 {
		return "", false
	}
	for i := max(point, 0); i < len(digits); i++ {
		if digits[i] != '0' {
			return "", false
		}
	}
	switch {
	case point <= 0:
		plain = ""
	case point <= len(digits):
		plain = digits[:point]
	default:
		plain = digits + strings.Repeat("0", point-len(digits))
	}
	plain = strings.TrimLeft(plain, "0")
	switch {
	case plain == "":
		plain = "0"
	case neg:
		plain = "-" + plain
	}
	return plain, true
}
