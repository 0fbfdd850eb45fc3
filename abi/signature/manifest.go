package signature

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/futurecalls/futurecalls/abi"
)

// MaxManifestSize bounds the manifest a plugin may return, in bytes.
const MaxManifestSize = 4 << 20

// Manifest is a checked manifest with every call's signature compiled.
type Manifest struct {
	abi.Manifest
	methods map[string]*Method
}

// Method returns the compiled signature of the named call.
func (m *Manifest) Method(name string) (*Method, bool) {
	mm, ok := m.methods[name]
	return mm, ok
}

// ManifestError lists every problem found in a manifest.
type ManifestError struct {
	Problems []string
}

// Error lists the problems on one line.
func (e *ManifestError) Error() string {
	return "invalid manifest: " + strings.Join(e.Problems, "; ")
}

// presence tells which required fields a manifest document has; zero values cannot.
type presence struct {
	ABI   *json.RawMessage `json:"abi"`
	Name  *json.RawMessage `json:"name"`
	Calls *json.RawMessage `json:"calls"`
}

// ParseManifest decodes a manifest (the bytes fc_manifest returns) and checks it like
// CheckManifest. Unknown fields are ignored: later minor versions of ABI 1 may add some.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, &ManifestError{Problems: []string{fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxManifestSize)}}
	}
	var m abi.Manifest
	if err := decodeStrictly(data, &m); err != nil {
		return nil, &ManifestError{Problems: []string{"not a valid JSON manifest: " + err.Error() + position(data, err)}}
	}
	var has presence
	if err := json.Unmarshal(data, &has); err != nil {
		return nil, &ManifestError{Problems: []string{"not a valid JSON manifest: " + err.Error()}}
	}
	var problems []string
	if has.ABI == nil {
		problems = append(problems, "abi: missing")
	}
	if has.Name == nil {
		problems = append(problems, "name: missing")
	}
	if has.Calls == nil {
		problems = append(problems, "calls: missing (use [] for none)")
	}
	if len(problems) > 0 {
		return nil, &ManifestError{Problems: problems}
	}
	return CheckManifest(m)
}

// position says where in data a JSON syntax or type error is: the line and column of the
// offending character (SDKs write a call or parameter a line) and the text that ends with
// it; or "" if err has no offset.
func position(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var offset int64
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	default:
		return ""
	}
	before := data[:min(max(offset, 0), int64(len(data)))]
	line, column := bytes.Count(before, []byte("\n"))+1, len(before)-bytes.LastIndexByte(before, '\n')-1
	return fmt.Sprintf(" (line %d, column %d: %q)", line, column, before[max(len(before)-24, 0):])
}

// decodeStrictly decodes one JSON value and refuses anything after it.
func decodeStrictly(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

// subscriptionProblems checks the subscriptions of a manifest whose calls are calls:
// valid topic names, calls the manifest declares, no pair twice.
func subscriptionProblems(subs []abi.Subscription, calls map[string]bool) []string {
	var problems []string
	seen := make(map[abi.Subscription]bool, len(subs))
	for i, s := range subs {
		where := fmt.Sprintf("subscriptions[%d]", i)
		switch {
		case !topicName.MatchString(s.Topic):
			problems = append(problems, fmt.Sprintf("%s: topic %q must match %s", where, s.Topic, topicName))
		case !calls[s.Call]:
			problems = append(problems, fmt.Sprintf("%s: call %q is not a call of this plugin", where, s.Call))
		case seen[s]:
			problems = append(problems, fmt.Sprintf("%s: %s → %s is subscribed twice", where, s.Topic, s.Call))
		}
		seen[s] = true
	}
	return problems
}

// CheckManifest checks a manifest — known ABI version, valid and unique names, schemas
// that compile, a valid retry policy, subscriptions to calls it declares — and compiles every call's signature. The error
// is a *ManifestError listing every problem.
func CheckManifest(m abi.Manifest) (*Manifest, error) {
	var problems []string
	if m.ABI != abi.Version {
		problems = append(problems, fmt.Sprintf("abi: version %d is not supported (this host knows version %d)", m.ABI, abi.Version))
	}
	if !pluginName.MatchString(m.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must match %s", m.Name, pluginName))
	}
	if m.Retry != nil {
		if _, err := m.Retry.Parse(); err != nil {
			problems = append(problems, "retry: "+err.Error())
		}
	}
	c := newCompiler()
	methods := make(map[string]*Method, len(m.Calls))
	seen := make(map[string]bool, len(m.Calls))
	for i, call := range m.Calls {
		where := fmt.Sprintf("calls[%d]", i)
		if callName.MatchString(call.Name) {
			where += " (" + call.Name + ")"
			if seen[call.Name] {
				problems = append(problems, where+": duplicate call name")
				continue
			}
			seen[call.Name] = true
		}
		method, ps := compileMethod(c, call, where+": ")
		if len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		methods[call.Name] = method
	}
	problems = append(problems, subscriptionProblems(m.Subscriptions, seen)...)
	if len(problems) > 0 {
		return nil, &ManifestError{Problems: problems}
	}
	return &Manifest{Manifest: m, methods: methods}, nil
}
