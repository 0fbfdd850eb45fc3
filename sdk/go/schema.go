package fc

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Schemer is implemented by types that state their own JSON Schema, for values the Go type
// alone cannot describe (an enum, a string pattern, a custom JSON encoding). The method
// is called on the zero value.
//
//	type Plan string
//
//	func (Plan) JSONSchema() json.RawMessage {
//		return json.RawMessage(`{"type": "string", "enum": ["free", "pro"]}`)
//	}
type Schemer interface {
	JSONSchema() json.RawMessage
}

// schema is one JSON Schema under construction. json.Marshal sorts its keys.
type schema = map[string]any

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
	schemerType       = reflect.TypeFor[Schemer]()
	jsonUnmarshalType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	errorType         = reflect.TypeFor[error]()
	callType          = reflect.TypeFor[Call]()
	// integerBounds bounds the integer kinds: 8 to 32 bits by their range, the 64-bit
	// ones only by sign, since JSON tools rarely cope with numbers beyond 2^53 (and
	// every language's SDK writes a 64-bit integer as a plain "integer"). A number
	// beyond a 64-bit type's range is therefore accepted by the host and fails the call
	// when the SDK decodes it.
	integerBounds = map[reflect.Kind][2]any{
		reflect.Int8:    {math.MinInt8, math.MaxInt8},
		reflect.Int16:   {math.MinInt16, math.MaxInt16},
		reflect.Int32:   {math.MinInt32, math.MaxInt32},
		reflect.Int64:   {nil, nil},
		reflect.Int:     {nil, nil},
		reflect.Uint8:   {0, math.MaxUint8},
		reflect.Uint16:  {0, math.MaxUint16},
		reflect.Uint32:  {0, math.MaxUint32},
		reflect.Uint64:  {0, nil},
		reflect.Uint:    {0, nil},
		reflect.Uintptr: {0, nil},
	}
)

// Patterns that narrow a string format to what encoding/json decodes. JSON Schema's
// "date-time" is RFC 3339, which also allows a lowercase "t" and "z" and the leap second
// 60, all of which time.Time refuses; "contentEncoding" is only an annotation, so the
// base64 of []byte needs a pattern: standard alphabet, padded.
const (
	dateTimePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	base64Pattern   = `^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`
)

// schemaOf derives the JSON Schema of the values of t, as encoding/json reads and writes
// them:
//   - bool, string and floats map to their JSON types; integers to "integer", bounded
//     by the type's range for 8 to 32 bits and to non-negative numbers for unsigned
//     ones (64-bit bounds are left out: JSON tools rarely handle numbers beyond 2^53);
//   - time.Time is a "date-time" string in the form time.Time reads (an uppercase T and
//     Z, no leap second); []byte a padded base64 string; json.RawMessage and interfaces
//     accept anything;
//   - slices and arrays are arrays ([N]T with exactly N items), maps with string or
//     integer keys are objects with additionalProperties;
//   - structs are objects with their exported fields under their json names: a field is
//     required unless it is a pointer or tagged omitempty/omitzero, and other properties
//     are refused; embedded structs' fields are promoted as encoding/json does;
//   - nil pointers, slices and maps marshal as null, so their schemas accept null;
//   - a type implementing Schemer gives its own schema; one implementing
//     json.Unmarshaler accepts anything, encoding.TextUnmarshaler any string;
//   - a recursive struct type is defined once under $defs and referenced.
//
// Channels, functions and complex numbers have no JSON form: an error.
func schemaOf(t reflect.Type) (schema, error) {
	g := &schemaGen{recursive: map[reflect.Type]bool{}, defNames: map[reflect.Type]string{}, defs: schema{}}
	g.findRecursive(t, map[reflect.Type]bool{})
	s, err := g.of(t, "")
	if err != nil {
		return nil, err
	}
	if len(g.defs) > 0 {
		s = withDefs(s, g.defs)
	}
	return s, nil
}

// withDefs attaches $defs to a root schema, wrapping it when it is a reference itself.
func withDefs(s, defs schema) schema {
	if _, isRef := s["$ref"]; isRef {
		return schema{"$ref": s["$ref"], "$defs": defs}
	}
	s["$defs"] = defs
	return s
}

type schemaGen struct {
	recursive map[reflect.Type]bool   // struct types that contain themselves
	defNames  map[reflect.Type]string // their names under $defs
	defs      schema
}

// findRecursive marks the types reachable from t that reach themselves again.
func (g *schemaGen) findRecursive(t reflect.Type, onPath map[reflect.Type]bool) {
	if custom(t) {
		return
	}
	if onPath[t] {
		g.recursive[t] = true
		return
	}
	onPath[t] = true
	defer delete(onPath, t)
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		g.findRecursive(t.Elem(), onPath)
	case reflect.Struct:
		for _, f := range jsonFields(t) {
			g.findRecursive(f.typ, onPath)
		}
	}
}

// custom reports whether t's JSON form is not derived from its kind.
func custom(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t == timeType || t == rawMessageType || t == numberType ||
		t.Implements(schemerType) || pt.Implements(schemerType) ||
		t.Implements(jsonUnmarshalType) || pt.Implements(jsonUnmarshalType) ||
		t.Implements(textUnmarshalType) || pt.Implements(textUnmarshalType)
}

// of derives t's schema; path names the place for errors ("signup.tags[]").
func (g *schemaGen) of(t reflect.Type, path string) (schema, error) {
	if s, ok, err := customSchema(t); ok || err != nil {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(t, path), err)
		}
		return s, nil
	}
	if g.recursive[t] && t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is recursive: only struct types may contain themselves", describe(t, path))
	}
	if b, ok := integerBounds[t.Kind()]; ok {
		s := schema{"type": "integer"}
		if b[0] != nil {
			s["minimum"] = b[0]
		}
		if b[1] != nil {
			s["maximum"] = b[1]
		}
		return s, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return schema{"type": "boolean"}, nil
	case reflect.String:
		return schema{"type": "string"}, nil
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}, nil
	case reflect.Interface:
		return schema{}, nil
	case reflect.Pointer:
		s, err := g.of(t.Elem(), path)
		return nullable(s), err
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !custom(t.Elem()) {
			return nullable(schema{"type": "string", "contentEncoding": "base64", "pattern": base64Pattern}), nil
		}
		items, err := g.of(t.Elem(), path+"[]")
		return nullable(schema{"type": "array", "items": items}), err
	case reflect.Array:
		items, err := g.of(t.Elem(), path+"[]")
		return schema{"type": "array", "items": items, "minItems": t.Len(), "maxItems": t.Len()}, err
	case reflect.Map:
		return g.mapOf(t, path)
	case reflect.Struct:
		return g.structOf(t, path)
	}
	return nil, fmt.Errorf("%s has no JSON form", describe(t, path))
}

func describe(t reflect.Type, path string) string {
	if path == "" {
		return "type " + t.String()
	}
	return fmt.Sprintf("%s (type %s)", path, t)
}

// customSchema handles the types whose JSON form is not their kind's.
func customSchema(t reflect.Type) (schema, bool, error) {
	pt := reflect.PointerTo(t)
	switch {
	case t.Implements(schemerType) || pt.Implements(schemerType):
		raw := reflect.New(t).Interface().(Schemer).JSONSchema()
		var s schema
		var b bool
		if err := json.Unmarshal(raw, &b); err == nil {
			if b {
				return schema{}, true, nil
			}
			return schema{"not": schema{}}, true, nil
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, true, fmt.Errorf("JSONSchema() is not a JSON object: %w", err)
		}
		return s, true, nil
	case t == timeType:
		return schema{"type": "string", "format": "date-time", "pattern": dateTimePattern}, true, nil
	case t == numberType:
		return schema{"type": "number"}, true, nil
	case t == rawMessageType, t.Implements(jsonUnmarshalType), pt.Implements(jsonUnmarshalType):
		return schema{}, true, nil
	case t.Implements(textUnmarshalType) || pt.Implements(textUnmarshalType):
		return schema{"type": "string"}, true, nil
	}
	return nil, false, nil
}

func isInteger(k reflect.Kind) bool {
	_, ok := integerBounds[k]
	return ok
}

// nullable lets a schema accept null too.
func nullable(s schema) schema {
	switch typ := s["type"].(type) {
	case string:
		s["type"] = []any{typ, "null"}
	case nil:
		if _, isRef := s["$ref"]; isRef {
			return schema{"anyOf": []any{s, schema{"type": "null"}}}
		}
		// No "type": it may accept null already ({} does) or be a custom schema, which
		// is better left alone.
	}
	return s
}

func (g *schemaGen) mapOf(t reflect.Type, path string) (schema, error) {
	s := schema{"type": "object"}
	k := t.Key()
	switch {
	case k.Kind() == reflect.String:
	case reflect.PointerTo(k).Implements(textUnmarshalType) || k.Implements(textUnmarshalType):
	case isInteger(k.Kind()):
		if strings.HasPrefix(k.Kind().String(), "uint") {
			s["propertyNames"] = schema{"pattern": "^[0-9]+$"}
		} else {
			s["propertyNames"] = schema{"pattern": "^-?[0-9]+$"}
		}
	default:
		return nil, fmt.Errorf("%s: map keys of type %s have no JSON form", describe(t, path), k)
	}
	values, err := g.of(t.Elem(), path+"{}")
	if err != nil {
		return nil, err
	}
	s["additionalProperties"] = values
	return nullable(s), nil
}

func (g *schemaGen) structOf(t reflect.Type, path string) (schema, error) {
	if g.recursive[t] {
		name, defined := g.defNames[t]
		if !defined {
			name = g.defName(t)
			g.defNames[t] = name
			g.defs[name] = schema{} // reserve the name while the definition is derived
			s, err := g.objectOf(t, path)
			if err != nil {
				return nil, err
			}
			g.defs[name] = s
		}
		return schema{"$ref": "#/$defs/" + name}, nil
	}
	return g.objectOf(t, path)
}

// defName picks an unused $defs name for t.
func (g *schemaGen) defName(t reflect.Type) string {
	base := t.Name()
	if base == "" {
		base = "T"
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := g.defs[name]; !taken {
			return name
		}
		name = fmt.Sprintf("%s%d", base, i)
	}
}

func (g *schemaGen) objectOf(t reflect.Type, path string) (schema, error) {
	props := schema{}
	required := []any{}
	for _, f := range jsonFields(t) {
		fpath := f.name
		if path != "" {
			fpath = path + "." + f.name
		}
		var s schema
		var err error
		if f.quoted {
			s = schema{"type": "string"}
		} else if s, err = g.of(f.typ, fpath); err != nil {
			return nil, err
		}
		props[f.name] = s
		if !f.optional {
			required = append(required, f.name)
		}
	}
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s, nil
}

// field is one struct field as encoding/json sees it.
type field struct {
	name     string
	typ      reflect.Type
	optional bool // pointer, omitempty or omitzero
	quoted   bool // the ",string" option on a scalar
	tagged   bool
	depth    int
}

// jsonFields lists t's fields as encoding/json encodes them: exported ones under their
// json names, embedded structs' fields promoted, shallower fields hiding deeper ones of
// the same name, a tagged field winning a tie, and ambiguous ties dropped.
func jsonFields(t reflect.Type) []field {
	var all []field
	collectFields(t, 0, false, map[reflect.Type]bool{}, &all)
	byName := map[string][]field{}
	var order []string
	for _, f := range all {
		if _, seen := byName[f.name]; !seen {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []field
	for _, name := range order {
		if f, ok := dominant(byName[name]); ok {
			out = append(out, f)
		}
	}
	return out
}

// collectFields appends t's fields; viaPointer marks the fields of a struct embedded by
// pointer, which encoding/json leaves out when the pointer is nil.
func collectFields(t reflect.Type, depth int, viaPointer bool, visited map[reflect.Type]bool, out *[]field) {
	if visited[t] {
		return
	}
	visited[t] = true
	defer delete(visited, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et, ptr := ft, ft.Kind() == reflect.Pointer
			if ptr {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				collectFields(et, depth+1, viaPointer || ptr, visited, out)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		f := field{name: name, typ: ft, tagged: name != "", depth: depth, optional: viaPointer || ft.Kind() == reflect.Pointer}
		if f.name == "" {
			f.name = sf.Name
		}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "omitempty", "omitzero":
				f.optional = true
			case "string":
				k := ft.Kind()
				f.quoted = k == reflect.Bool || k == reflect.String || k == reflect.Float32 || k == reflect.Float64 || isInteger(k)
			}
		}
		*out = append(*out, f)
	}
}

// dominant applies encoding/json's rule to fields sharing one name.
func dominant(fs []field) (field, bool) {
	minDepth := fs[0].depth
	for _, f := range fs {
		minDepth = min(minDepth, f.depth)
	}
	var top []field
	for _, f := range fs {
		if f.depth == minDepth {
			top = append(top, f)
		}
	}
	if len(top) == 1 {
		return top[0], true
	}
	var tagged []field
	for _, f := range top {
		if f.tagged {
			tagged = append(tagged, f)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], true
	}
	return field{}, false
}
