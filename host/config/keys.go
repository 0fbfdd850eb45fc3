package config

import (
	_ "embed" // the field comments of config.go describe the keys
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configSource is the source of the Config types. The field comments are the one
// description of each key, for Go readers and for `host --help` and `host config
// --keys` alike; embedding the file that declares them keeps the help exactly as the
// compiled code's comments say, with no generated copy to fall out of date.
//
//go:embed config.go
var configSource []byte

// Key describes one configuration key that a flag or an environment variable can set.
type Key struct {
	// Name is the key, as in YAML with dots between sections: futureCall.concurrencyLimit.
	Name string
	// Env is the environment variable that sets it: FC_FUTURECALL_CONCURRENCYLIMIT.
	Env string
	// Type is what the key holds, as the help names it: bool, int, string, strings
	// (a list, comma-separated in a flag or variable), size ("64MiB") or duration ("30s").
	Type string
	// Description says what the key does: its field's comment without the field name
	// and without the closing "Defaults to X." sentence.
	Description string
	// Default is the value when no layer sets the key, as YAML writes it.
	Default string

	typ reflect.Type
	doc string // the whole field comment, on one line
}

// defaultsSentence starts the sentence that closes every key's comment.
const defaultsSentence = "Defaults to "

// Keys lists every configuration key that a flag or an environment variable can set,
// sorted by name. Per-plugin overrides (sandbox.plugins.<name>.…) are YAML only, and so
// are the keys that exist only there (http.allow, config).
func Keys() []Key { return keys() }

var keys = sync.OnceValue(func() []Key {
	docs := fieldDocs()
	defaults := yamlTree(Default())
	var out []Key
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("koanf")
			if strings.HasSuffix(tag, ",squash") {
				walk(prefix, f.Type)
				continue
			}
			name := prefix + tag
			switch {
			case f.Type.Kind() == reflect.Map, f.Tag.Get("perplugin") == "true":
				// per-plugin overrides: YAML only
			case f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler):
				walk(name+".", f.Type)
			default:
				doc := docs[t.Name()+"."+f.Name]
				out = append(out, Key{Name: name, Env: envName(name), Type: typeName(f.Type),
					Description: describe(f.Name, doc), Default: defaults[name], typ: f.Type, doc: doc})
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
})

// leafByKey maps every key of Keys to the Go type of its field.
var leafByKey = sync.OnceValue(func() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, k := range keys() {
		out[k.Name] = k.typ
	}
	return out
})

// fieldDocs reads the comment of every struct field declared in config.go, by
// "Type.Field", joined into one line.
func fieldDocs() map[string]string {
	file, err := parser.ParseFile(token.NewFileSet(), "config.go", configSource, parser.ParseComments)
	if err != nil {
		panic(fmt.Sprintf("config: parse the embedded config.go: %v", err)) // it compiled, so it parses
	}
	out := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		if st, ok := spec.Type.(*ast.StructType); ok {
			for _, f := range st.Fields.List {
				for _, name := range f.Names {
					out[spec.Name.Name+"."+name.Name] = strings.Join(strings.Fields(f.Doc.Text()), " ")
				}
			}
		}
		return false
	})
	return out
}

// describe turns a field comment into a key's description: "Listen is the address the
// API listens on. Defaults to 127.0.0.1:8080." becomes "the address the API listens on".
func describe(field, doc string) string {
	d, _, _ := strings.Cut(doc, defaultsSentence)
	d = strings.TrimPrefix(d, field+" ")
	for _, verb := range []string{"is ", "are "} {
		d = strings.TrimPrefix(d, verb)
	}
	return strings.TrimSuffix(strings.TrimSpace(d), ".")
}

// typeName names a key's type for the help.
func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(ByteSize(0)):
		return "size"
	case reflect.TypeOf(Duration(0)):
		return "duration"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Slice:
		return "strings"
	default:
		return t.Kind().String() // bool, string
	}
}

// yamlTree renders every leaf of c as `host config` writes it, by key.
func yamlTree(c Config) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := prefix+n.Content[i].Value, n.Content[i+1]
			if val.Kind == yaml.MappingNode && val.Style != yaml.FlowStyle {
				walk(key+".", val)
				continue
			}
			b, err := yaml.Marshal(val)
			if err != nil {
				panic(fmt.Sprintf("config: render the default of %s: %v", key, err)) // scalars and lists always render
			}
			out[key] = strings.TrimSpace(string(b))
		}
	}
	walk("", structNode(reflect.ValueOf(c), "", nil))
	return out
}

// RegisterFileFlag adds --config, the YAML file of the configuration's second layer.
func RegisterFileFlag(fs *pflag.FlagSet) {
	fs.String("config", os.Getenv(EnvPrefix+"CONFIG"), "YAML configuration file (env "+EnvPrefix+"CONFIG)")
}

// RegisterFlags adds a flag for each of keys to fs, named like the key
// (--futureCall.concurrencyLimit), its usage the key's description, environment
// variable and default. Load reads the flags the user set.
func RegisterFlags(fs *pflag.FlagSet, keys []Key) {
	for _, k := range keys {
		v := &flagValue{typ: k.Type, text: k.Default}
		usage := k.Description + " (env " + k.Env + ")"
		f := fs.VarPF(v, k.Name, "", usage)
		f.DefValue = k.Default
		if k.Type == "bool" {
			f.NoOptDefVal = "true" // --deleteBrokenCalls alone sets it
		}
		if k.Default == `""` || k.Default == "[]" {
			f.DefValue = "" // pflag shows no default for an empty string or list
		}
	}
}

// flagValue holds a flag's text as given: Load decodes it with the key's other layers,
// so that a bad value is reported with its key and origin, and "null" works where the
// key allows it.
type flagValue struct {
	typ  string
	text string
	list []string
	set  bool
}

func (v *flagValue) String() string { return v.text }

func (v *flagValue) Type() string { return v.typ }

// Set records s; a list flag given several times collects every value.
func (v *flagValue) Set(s string) error {
	if v.typ == "strings" {
		if !v.set {
			v.list = nil
		}
		v.list = append(v.list, splitList(s)...)
		v.text = strings.Join(v.list, ",")
	} else {
		v.text = s
	}
	v.set = true
	return nil
}

// get returns the value to decode: the text, or the list of a list flag.
func (v *flagValue) get() any {
	if v.typ == "strings" {
		return v.list
	}
	return v.text
}
