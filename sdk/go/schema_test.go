package fc

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
)

type Address struct {
	Street string `json:"street"`
	Zip    string `json:"zip,omitempty"`
}

type Person struct {
	Name     string            `json:"name"`
	Age      uint8             `json:"age"`
	Email    *string           `json:"email"`
	Tags     []string          `json:"tags,omitempty"`
	Home     Address           `json:"home"`
	Work     *Address          `json:"work,omitzero"`
	Scores   map[string]int32  `json:"scores"`
	Born     time.Time         `json:"born"`
	Count    int64             `json:"count,string"`
	Secret   string            `json:"-"`
	Untagged bool              // the Go name is the JSON name
	Extra    json.RawMessage   `json:"extra,omitempty"`
	Labels   map[int]string    `json:"labels,omitempty"`
	Meta     map[string]any    `json:"meta,omitempty"`
	internal int               //nolint:unused // unexported: must stay out of the schema
	Matrix   [2][2]float64     `json:"matrix"`
	Flags    map[uint16]bool   `json:"flags,omitempty"`
	Nested   map[string][]bool `json:"nested,omitempty"`
}

type Base struct {
	ID      int64  `json:"id"`
	Comment string `json:"comment"`
}

type Audit struct {
	By string `json:"by"`
}

type Embedding struct {
	Base
	*Audit
	Comment string `json:"comment"` // hides Base.Comment
}

type Tree struct {
	Name     string  `json:"name"`
	Children []*Tree `json:"children"`
}

type Plan string

func (Plan) JSONSchema() json.RawMessage {
	return json.RawMessage(`{"type": "string", "enum": ["free", "pro"]}`)
}

type Loop []Loop

func TestSchemaOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		typ    reflect.Type
		schema string
		values []any // marshalled, they must be valid
		wrong  []string
	}{
		{"string", reflect.TypeFor[string](), `{"type": "string"}`, []any{"", "x"}, []string{`1`, `null`}},
		{"bool", reflect.TypeFor[bool](), `{"type": "boolean"}`, []any{true}, []string{`"true"`}},
		{"int", reflect.TypeFor[int](), `{"type": "integer"}`, []any{-1 << 62}, []string{`1.5`}},
		{"int8", reflect.TypeFor[int8](), `{"type": "integer", "minimum": -128, "maximum": 127}`, []any{int8(-128), int8(127)}, []string{`128`, `-129`}},
		{"int16", reflect.TypeFor[int16](), `{"type": "integer", "minimum": -32768, "maximum": 32767}`, []any{int16(-32768)}, []string{`32768`}},
		{"int32", reflect.TypeFor[int32](), `{"type": "integer", "minimum": -2147483648, "maximum": 2147483647}`, []any{int32(7)}, []string{`2147483648`}},
		{"int64", reflect.TypeFor[int64](), `{"type": "integer"}`, []any{int64(-1 << 63)}, []string{`"1"`}},
		{"uint", reflect.TypeFor[uint](), `{"type": "integer", "minimum": 0}`, []any{uint(1 << 63)}, []string{`-1`}},
		{"uint8", reflect.TypeFor[uint8](), `{"type": "integer", "minimum": 0, "maximum": 255}`, []any{uint8(255)}, []string{`256`}},
		{"uint16", reflect.TypeFor[uint16](), `{"type": "integer", "minimum": 0, "maximum": 65535}`, []any{uint16(65535)}, []string{`65536`}},
		{"uint32", reflect.TypeFor[uint32](), `{"type": "integer", "minimum": 0, "maximum": 4294967295}`, []any{uint32(1 << 31)}, []string{`4294967296`}},
		{"uint64", reflect.TypeFor[uint64](), `{"type": "integer", "minimum": 0}`, []any{uint64(1<<64 - 1)}, []string{`-1`}},
		{"uintptr", reflect.TypeFor[uintptr](), `{"type": "integer", "minimum": 0}`, []any{uintptr(3)}, []string{`-3`}},
		{"float32", reflect.TypeFor[float32](), `{"type": "number"}`, []any{float32(1.5)}, []string{`"1.5"`}},
		{"float64", reflect.TypeFor[float64](), `{"type": "number"}`, []any{1e300}, []string{`true`}},
		{"time.Time", reflect.TypeFor[time.Time](), `{"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"}`,
			[]any{time.Now(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -3600))}, []string{`"tomorrow"`, `"2026-01-01t00:00:00z"`, `"2016-12-31T23:59:60Z"`}},
		{"time.Duration", reflect.TypeFor[time.Duration](), `{"type": "integer"}`, []any{time.Second}, []string{`"1s"`}},
		{"slice", reflect.TypeFor[[]int8](), `{"type": ["array", "null"], "items": {"type": "integer", "minimum": -128, "maximum": 127}}`,
			[]any{[]int8{1}, []int8(nil)}, []string{`[1000]`, `{}`}},
		{"bytes", reflect.TypeFor[[]byte](), `{"type": ["string", "null"], "contentEncoding": "base64", "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}`,
			[]any{[]byte("hi"), []byte("abc"), []byte{}, []byte{0xfb, 0xff}}, []string{`[1]`, `"!!"`, `"aGk"`}},
		{"array", reflect.TypeFor[[3]bool](), `{"type": "array", "items": {"type": "boolean"}, "minItems": 3, "maxItems": 3}`,
			[]any{[3]bool{}}, []string{`[true]`}},
		{"map", reflect.TypeFor[map[string]float64](), `{"type": ["object", "null"], "additionalProperties": {"type": "number"}}`,
			[]any{map[string]float64{"a": 1}}, []string{`{"a": "1"}`}},
		{"map with int keys", reflect.TypeFor[map[int]string](), `{"type": ["object", "null"], "propertyNames": {"pattern": "^-?[0-9]+$"}, "additionalProperties": {"type": "string"}}`,
			[]any{map[int]string{-1: "x"}}, []string{`{"a": "x"}`}},
		{"map with uint keys", reflect.TypeFor[map[uint]string](), `{"type": ["object", "null"], "propertyNames": {"pattern": "^[0-9]+$"}, "additionalProperties": {"type": "string"}}`,
			[]any{map[uint]string{1: "x"}}, []string{`{"-1": "x"}`}},
		{"pointer", reflect.TypeFor[*string](), `{"type": ["string", "null"]}`, []any{(*string)(nil)}, []string{`1`}},
		{"any", reflect.TypeFor[any](), `{}`, []any{1, "x", nil}, nil},
		{"json.RawMessage", reflect.TypeFor[json.RawMessage](), `{}`, []any{json.RawMessage(`[1]`)}, nil},
		{"json.Number", reflect.TypeFor[json.Number](), `{"type": "number"}`, []any{json.Number("1.5")}, []string{`"x"`}},
		{"TextUnmarshaler", reflect.TypeFor[netip.Addr](), `{"type": "string"}`, []any{netip.MustParseAddr("::1")}, []string{`1`}},
		{"Schemer", reflect.TypeFor[Plan](), `{"type": "string", "enum": ["free", "pro"]}`, []any{Plan("pro")}, []string{`"gold"`}},
		{"struct", reflect.TypeFor[Address](), `{"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
			"required": ["street"], "additionalProperties": false}`,
			[]any{Address{Street: "x"}, Address{Street: "x", Zip: "1"}}, []string{`{"zip": "1"}`, `{"street": "x", "city": "y"}`}},
		{"embedded", reflect.TypeFor[Embedding](), `{"type": "object", "properties": {"id": {"type": "integer"}, "comment": {"type": "string"},
			"by": {"type": "string"}}, "required": ["id", "comment"], "additionalProperties": false}`,
			[]any{Embedding{}, Embedding{Audit: &Audit{By: "me"}}}, []string{`{"id": 1}`}},
		{"recursive", reflect.TypeFor[Tree](), `{"$ref": "#/$defs/Tree", "$defs": {"Tree": {"type": "object",
			"properties": {"name": {"type": "string"}, "children": {"type": ["array", "null"], "items": {"anyOf": [{"$ref": "#/$defs/Tree"}, {"type": "null"}]}}},
			"required": ["name", "children"], "additionalProperties": false}}}`,
			[]any{Tree{Name: "a", Children: []*Tree{{Name: "b"}}}}, []string{`{"name": "a", "children": [{"name": 1, "children": null}]}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schemaOf(tt.typ)
			if err != nil {
				t.Fatalf("schemaOf(%s): %v", tt.typ, err)
			}
			got, _ := json.Marshal(s)
			if !sameJSON(t, got, []byte(tt.schema)) {
				t.Errorf("schemaOf(%s) =\n%s\nwant\n%s", tt.typ, got, tt.schema)
			}
			checkValues(t, got, tt.values, tt.wrong)
		})
	}
}

// TestSchemaOfRecord checks a record using every field rule at once.
func TestSchemaOfRecord(t *testing.T) {
	t.Parallel()
	s, err := schemaOf(reflect.TypeFor[Person]())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(s)
	props := s["properties"].(schema)
	for _, want := range []string{"name", "age", "email", "tags", "home", "work", "scores", "born", "count", "Untagged", "extra", "matrix"} {
		if _, ok := props[want]; !ok {
			t.Errorf("property %s missing from %s", want, raw)
		}
	}
	for _, unwanted := range []string{"Secret", "-", "internal"} {
		if _, ok := props[unwanted]; ok {
			t.Errorf("property %s should not be in %s", unwanted, raw)
		}
	}
	if got, _ := json.Marshal(s["required"]); string(got) != `["name","age","home","scores","born","count","Untagged","matrix"]` {
		t.Errorf("required = %s", got)
	}
	if got, _ := json.Marshal(props["count"]); string(got) != `{"type":"string"}` {
		t.Errorf(`count (",string") = %s, want a string`, got)
	}
	email := "a@b.c"
	checkValues(t, raw, []any{
		Person{},
		Person{Name: "x", Email: &email, Tags: []string{"a"}, Work: &Address{Street: "s"}, Labels: map[int]string{1: "one"},
			Meta: map[string]any{"k": []any{1}}, Flags: map[uint16]bool{80: true}, Nested: map[string][]bool{"a": {true}}},
	}, []string{`{"name": "x"}`})
}

func TestSchemaOfErrors(t *testing.T) {
	t.Parallel()
	type withChan struct {
		C chan int `json:"c"`
	}
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[chan int](), "type chan int has no JSON form"},
		{reflect.TypeFor[func()](), "type func() has no JSON form"},
		{reflect.TypeFor[complex128](), "type complex128 has no JSON form"},
		{reflect.TypeFor[withChan](), "c (type chan int) has no JSON form"},
		{reflect.TypeFor[map[bool]int](), "map keys of type bool have no JSON form"},
		{reflect.TypeFor[Loop](), "is recursive: only struct types may contain themselves"},
		{reflect.TypeFor[[]struct {
			F []func() `json:"f"`
		}](), "[].f[] (type func()) has no JSON form"},
	}
	for _, tt := range tests {
		if _, err := schemaOf(tt.typ); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("schemaOf(%s): %v, want %q", tt.typ, err, tt.want)
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// checkValues compiles schema as the host does and checks that Go values, marshalled,
// fit it, and that the wrong JSON documents do not.
func checkValues(t *testing.T, schema json.RawMessage, values []any, wrong []string) {
	t.Helper()
	sig, err := signature.Compile(abi.Method{Name: "m", Params: []abi.Param{{Name: "v", Schema: schema}}})
	if err != nil {
		t.Fatalf("the host does not compile %s: %v", schema, err)
	}
	for _, v := range values {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := sig.Validate(json.RawMessage(`{"v": ` + string(raw) + `}`)); err != nil {
			t.Errorf("%T %s does not fit its own schema: %v", v, raw, err)
		}
	}
	for _, w := range wrong {
		if err := sig.Validate(json.RawMessage(`{"v": ` + w + `}`)); err == nil {
			t.Errorf("%s fits %s, want it refused", w, schema)
		}
	}
}
