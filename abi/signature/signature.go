// Package signature checks plugin manifests and validates call arguments against the
// signature of the call they are meant for.
//
// A call's arguments are one JSON object mapping parameter names to values (see
// abi/README.md). Compile turns an abi.Method into a Method that checks such an object as
// a whole: every required parameter present, no parameter the call does not declare, each
// value valid against its parameter's JSON Schema (draft 2020-12 unless the schema says
// otherwise, formats asserted). Schemas are compiled once; a Method is then safe for
// concurrent use and validates without touching the network or the file system: every
// remote $ref is refused when the schema is compiled.
//
// A failed validation is an *Error listing every violation with its JSON pointer into the
// arguments, so a REST client or a plugin author sees all that is wrong at once.
package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Name rules of abi/README.md.
var (
	pluginName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`)
	callName   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`)
	topicName  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`)
)

// ValidTopic reports whether name is a valid topic name.
func ValidTopic(name string) bool { return topicName.MatchString(name) }

// ValidPluginName reports whether name is a valid plugin name.
func ValidPluginName(name string) bool { return pluginName.MatchString(name) }

// ValidCallName reports whether name is a valid call or parameter name.
func ValidCallName(name string) bool { return callName.MatchString(name) }

// Method is a compiled signature: one call's parameters, ready to validate arguments.
// It is safe for concurrent use.
type Method struct {
	def    abi.Method
	schema *jsonschema.Schema
}

// Name returns the call's name.
func (m *Method) Name() string { return m.def.Name }

// Def returns the call's definition as the manifest declares it.
func (m *Method) Def() abi.Method { return m.def }

// Compile checks a call's definition (names, schemas) and compiles it into a Method.
func Compile(def abi.Method) (*Method, error) {
	m, problems := compileMethod(newCompiler(), def, "")
	if len(problems) > 0 {
		return nil, &ManifestError{Problems: problems}
	}
	return m, nil
}

// resourceBase is the made-up URL under which parameter schemas are compiled. Nothing is
// ever loaded from it: the loader refuses every URL.
const resourceBase = "futurecalls:///"

// errNoRemote is what the loader answers to every $ref that leaves its schema.
var errNoRemote = errors.New("remote references are not allowed: a schema may only refer to itself (local $ref to $defs)")

type refusingLoader struct{}

func (refusingLoader) Load(string) (any, error) { return nil, errNoRemote }

func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refusingLoader{})
	return c
}

// compileMethod checks def and compiles it with c. where prefixes problems ("calls[2]").
// Each parameter's schema is its own resource, so a local "$ref": "#/$defs/x" inside it
// resolves against that parameter's schema; the arguments object refers to them.
func compileMethod(c *jsonschema.Compiler, def abi.Method, where string) (*Method, []string) {
	var problems []string
	problem := func(format string, args ...any) {
		problems = append(problems, where+fmt.Sprintf(format, args...))
	}
	if !callName.MatchString(def.Name) {
		problem("name %q must match %s", def.Name, callName)
	}
	base := resourceBase + def.Name + "/"
	props := make(map[string]any, len(def.Params))
	required := []any{}
	seen := make(map[string]bool, len(def.Params))
	for i, p := range def.Params {
		at := fmt.Sprintf("params[%d]", i)
		if !callName.MatchString(p.Name) {
			problem("%s: name %q must match %s", at, p.Name, callName)
			continue
		}
		at = fmt.Sprintf("%s (%s)", at, p.Name)
		if seen[p.Name] {
			problem("%s: duplicate parameter name", at)
			continue
		}
		seen[p.Name] = true
		if len(bytes.TrimSpace(p.Schema)) == 0 {
			problem(`%s: schema is missing (use {} to accept any value)`, at)
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.Schema))
		if err != nil {
			problem("%s: schema is not JSON: %v", at, err)
			continue
		}
		switch doc.(type) {
		case map[string]any, bool:
		default:
			problem("%s: schema must be a JSON object or boolean", at)
			continue
		}
		url := base + p.Name + ".json"
		if err := c.AddResource(url, doc); err != nil {
			problem("%s: schema: %v", at, err)
			continue
		}
		if _, err := c.Compile(url); err != nil {
			problem("%s: schema does not compile: %s", at, compileMessage(err))
			continue
		}
		props[p.Name] = map[string]any{"$ref": url}
		if !p.Optional {
			required = append(required, p.Name)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	argsURL := base + "args.json"
	args := map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
	if err := c.AddResource(argsURL, args); err != nil {
		problem("arguments: %v", err)
		return nil, problems
	}
	sch, err := c.Compile(argsURL)
	if err != nil {
		problem("arguments schema does not compile: %s", compileMessage(err))
		return nil, problems
	}
	return &Method{def: def, schema: sch}, nil
}

// compileMessage puts jsonschema's compile errors on one line, without the made-up
// resource URLs, which mean nothing to a plugin author.
func compileMessage(err error) string {
	lines := strings.Split(strings.ReplaceAll(err.Error(), resourceBase, ""), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimSpace(l), "- ")
	}
	return strings.Join(lines, "; ")
}

// Validate checks a call's arguments (a JSON object; empty or null means no arguments).
// It returns nil or an *Error listing every violation.
func (m *Method) Validate(args json.RawMessage) error {
	trimmed := bytes.TrimSpace(args)
	empty := isEmptyObject(trimmed)
	if empty && len(m.def.Params) == 0 {
		// The common case of a call without parameters needs no decoding: it costs as
		// much as the rest of a no-op call.
		return nil
	}
	var v any
	if empty {
		v = map[string]any{}
	} else {
		var err error
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(trimmed)); err != nil {
			return &Error{Method: m.def.Name, Violations: []Violation{{Message: "malformed JSON: " + err.Error()}}}
		}
		if out := numberViolations(v, "", nil); len(out) > 0 {
			return newError(m.def.Name, out)
		}
	}
	err := m.schema.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &Error{Method: m.def.Name, Violations: []Violation{{Message: err.Error()}}}
	}
	var out []Violation
	collect(ve, &out)
	if len(out) == 0 { // cannot happen: a failed validation has a leaf
		out = append(out, Violation{Message: ve.Error()})
	}
	return newError(m.def.Name, out)
}

// newError sorts violations by pointer, drops repeated ones and returns the *Error
// listing them.
func newError(method string, out []Violation) *Error {
	slices.SortStableFunc(out, func(a, b Violation) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return &Error{Method: method, Violations: slices.Compact(out)}
}

var printer = message.NewPrinter(language.English)

// collect appends the leaves of a validation error tree. Missing and unexpected
// properties become one violation each, at the property's own pointer. The branches of
// a failed anyOf/oneOf are summed up in one violation, as a list of their leaves would
// not say that only one of them had to hold.
func collect(e *jsonschema.ValidationError, out *[]Violation) {
	ptr := pointer(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		perProperty(out, ptr, k.Missing, len(e.InstanceLocation) == 0, "missing required parameter", "missing required property")
		return
	case *kind.AdditionalProperties:
		perProperty(out, ptr, k.Properties, len(e.InstanceLocation) == 0, "unknown parameter", "property not allowed")
		return
	case *kind.AnyOf, *kind.OneOf:
		var branches []Violation
		for _, c := range e.Causes {
			collect(c, &branches)
		}
		msgs := make([]string, 0, len(branches))
		for _, b := range branches {
			if b.Pointer != ptr {
				msgs = append(msgs, b.Pointer+": "+b.Message)
			} else {
				msgs = append(msgs, b.Message)
			}
		}
		msg := e.ErrorKind.LocalizedString(printer)
		if len(msgs) > 0 {
			msg += " (" + strings.Join(msgs, "; ") + ")"
		}
		*out = append(*out, Violation{Pointer: ptr, Message: msg})
		return
	}
	if len(e.Causes) == 0 {
		*out = append(*out, Violation{Pointer: ptr, Message: describe(e.ErrorKind)})
		return
	}
	for _, c := range e.Causes {
		collect(c, out)
	}
}

// describe says what a leaf error means. Numeric bounds are written exactly: the
// validator's printer writes 3000000000 as "3×10⁰⁹".
func describe(k jsonschema.ErrorKind) string {
	bound := func(op string, got, want *big.Rat) string {
		return fmt.Sprintf("must be %s %s, got %s", op, number(want), number(got))
	}
	switch k := k.(type) {
	case *kind.Minimum:
		return bound(">=", k.Got, k.Want)
	case *kind.Maximum:
		return bound("<=", k.Got, k.Want)
	case *kind.ExclusiveMinimum:
		return bound(">", k.Got, k.Want)
	case *kind.ExclusiveMaximum:
		return bound("<", k.Got, k.Want)
	case *kind.MultipleOf:
		return bound("a multiple of", k.Got, k.Want)
	}
	return k.LocalizedString(printer)
}

// number writes r as a decimal: exactly when it is an integer, else with up to 9 digits
// after the point.
func number(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(r.FloatString(9), "0")
}

// perProperty appends one violation for each named property of the object at ptr, with
// the parameter wording at the top level (the arguments object).
func perProperty(out *[]Violation, ptr string, names []string, top bool, topMsg, msg string) {
	if top {
		msg = topMsg
	}
	for _, name := range names {
		*out = append(*out, Violation{Pointer: ptr + "/" + escape(name), Message: msg})
	}
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

// escape escapes one JSON pointer token (RFC 6901).
func escape(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// Violation is one way in which arguments do not fit a signature.
type Violation struct {
	// Pointer is the JSON pointer (RFC 6901) of the offending value in the arguments
	// object, "" for the object itself: "/signup/email".
	Pointer string `json:"pointer"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Error reports arguments that do not fit a call's signature, listing every violation.
type Error struct {
	// Method is the call whose signature the arguments were checked against.
	Method     string      `json:"method"`
	Violations []Violation `json:"violations"`
}

// Error lists the violations on one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arguments do not fit the signature of %s: ", e.Method)
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if v.Pointer != "" {
			b.WriteString(v.Pointer)
			b.WriteString(": ")
		}
		b.WriteString(v.Message)
	}
	return b.String()
}

// isEmptyObject reports whether trimmed JSON is the empty object, as Validate reads it:
// {}, or nothing, or null.
func isEmptyObject(trimmed []byte) bool {
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return true
	}
	if len(trimmed) < 2 || trimmed[0] != '{' || trimmed[len(trimmed)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(trimmed[1:len(trimmed)-1])) == 0
}
