package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable the host reads.
const EnvPrefix = "FC_"

// perPlugin starts the keys of one plugin's overrides and grants.
const perPlugin = "sandbox.plugins."

// Sources are the layers Load reads, each overriding the one before.
type Sources struct {
	// File is a YAML file; empty skips the layer.
	File string
	// Environ is the environment as os.Environ returns it; nil skips the layer.
	Environ []string
	// Flags are the command-line flags registered by RegisterFlags; only flags the
	// user set are applied. Nil skips the layer.
	Flags *pflag.FlagSet
}

// Origins maps each key that a layer set to the place it came from, such as
// "environment variable FC_API_LISTEN". Keys not listed have their default.
type Origins map[string]string

// Load builds the configuration from the defaults and the given sources, then
// validates it.
func Load(src Sources) (Config, Origins, error) {
	cfg := Default()
	origins := Origins{}
	if src.File != "" {
		k := koanf.New(".")
		if err := k.Load(file.Provider(src.File), yaml.Parser()); err != nil {
			return cfg, origins, fmt.Errorf("config file %s: %w", src.File, err)
		}
		if err := apply(&cfg, origins, k, func(key string) string { return "config file " + src.File }); err != nil {
			return cfg, origins, err
		}
	}
	if src.Environ != nil {
		k, names, err := loadEnv(src.Environ)
		if err != nil {
			return cfg, origins, err
		}
		if err := apply(&cfg, origins, k, func(key string) string { return "environment variable " + names[key] }); err != nil {
			return cfg, origins, err
		}
	}
	if src.Flags != nil {
		k := koanf.New(".")
		var errs []error
		src.Flags.Visit(func(f *pflag.Flag) { // only the flags the user set
			if v, ok := f.Value.(*flagValue); ok {
				errs = append(errs, k.Set(f.Name, v.get()))
			}
		})
		if err := errors.Join(errs...); err != nil {
			return cfg, origins, fmt.Errorf("flags: %w", err)
		}
		if err := apply(&cfg, origins, k, func(key string) string { return "flag --" + key }); err != nil {
			return cfg, origins, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, origins, fmt.Errorf("invalid configuration:\n%w", withOrigins(err, origins))
	}
	return cfg, origins, nil
}

// withOrigins appends to each "key: problem" error the layer the key came from.
func withOrigins(err error, origins Origins) error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return err
	}
	var out []error
	for _, e := range joined.Unwrap() {
		key, _, _ := strings.Cut(e.Error(), ":")
		key, _, _ = strings.Cut(key, "[")
		if o, ok := origins[key]; ok {
			e = fmt.Errorf("%w (from %s)", e, o)
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// loadEnv reads the FC_ variables of environ. It returns them by config key, with the
// variable name each key came from.
func loadEnv(environ []string) (*koanf.Koanf, map[string]string, error) {
	byEnv := map[string]string{}
	for key := range leafByKey() {
		byEnv[envName(key)] = key
	}
	names := map[string]string{}
	var unknown []string
	k := koanf.New(".")
	provider := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if name == EnvPrefix+"CONFIG" {
				return "", nil // names the file layer, read by the command line
			}
			key, ok := byEnv[name]
			if !ok {
				unknown = append(unknown, name)
				return "", nil
			}
			names[key] = name
			if leafByKey()[key].Kind() == reflect.Slice {
				return key, splitList(value)
			}
			return key, value
		},
	})
	if err := k.Load(provider, nil); err != nil {
		return nil, nil, fmt.Errorf("environment: %w", err)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, fmt.Errorf("environment variable %s is not a configuration key (known: %s…)", strings.Join(unknown, ", "), EnvPrefix+"FUTURECALL_CONCURRENCYLIMIT and others listed by 'host config --keys')")
	}
	return k, names, nil
}

// envName is the environment variable that sets key.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// apply decodes one layer onto cfg, key by key, so that an unknown key or a value of the
// wrong type is reported with the key and its origin.
func apply(cfg *Config, origins Origins, k *koanf.Koanf, origin func(key string) string) error {
	var errs []error
	for _, key := range k.Keys() {
		val := k.Get(key)
		typ, ok := leafType(key)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown configuration key (from %s)", key, origin(key)))
			continue
		}
		if isNull(val) {
			if !nullable(key) {
				errs = append(errs, fmt.Errorf("%s: null is not allowed here (from %s)", key, origin(key)))
				continue
			}
			setNull(cfg, key)
			origins[key] = origin(key)
			continue
		}
		if m, isMap := val.(map[string]any); isMap && len(m) == 0 && (typ.Kind() == reflect.Map || typ.Kind() == reflect.Struct) {
			continue // an empty section
		}
		if err := set(cfg, key, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %s: %v (from %s)", key, shortValue(val), cleanDecodeError(err), origin(key)))
			continue
		}
		origins[key] = origin(key)
	}
	return errors.Join(errs...)
}

// set decodes one key onto a copy of its target and stores it only when that worked, so
// a failed key leaves cfg as it was.
func set(cfg *Config, key string, val any) error {
	if rest, ok := strings.CutPrefix(key, perPlugin); ok {
		// mapstructure would replace a map entry wholesale; decode onto the entry instead.
		name, field, _ := strings.Cut(rest, ".")
		limits := cfg.Sandbox.Plugins[name]
		if err := decode(&limits, field, val); err != nil {
			return err
		}
		if cfg.Sandbox.Plugins == nil {
			cfg.Sandbox.Plugins = map[string]Limits{}
		}
		cfg.Sandbox.Plugins[name] = limits
		return nil
	}
	trial := *cfg
	if err := decode(&trial, key, val); err != nil {
		return err
	}
	*cfg = trial
	return nil
}

// decode sets one flattened key of target from val, with the weak typing that
// environment variables and flags need ("4" is an int, "true" a bool).
func decode(target any, key string, val any) error {
	nested := map[string]any{}
	cur := nested
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next := map[string]any{}
		cur[p] = next
		cur = next
	}
	cur[parts[len(parts)-1]] = val
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "koanf",
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		Result:           target,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			refuseBareNumbers,
			mapstructure.TextUnmarshallerHookFunc(),
		),
	})
	if err != nil {
		return err
	}
	return dec.Decode(nested)
}

var durationType = reflect.TypeOf(Duration(0))

// refuseBareNumbers stops a number from becoming a Duration in nanoseconds.
func refuseBareNumbers(from, to reflect.Type, data any) (any, error) {
	if to == durationType && from.Kind() != reflect.String {
		return nil, fmt.Errorf("%v needs a unit, such as 30s or 5m", data)
	}
	return data, nil
}

// cleanDecodeError drops mapstructure's framing: its headline and the quoted field name.
func cleanDecodeError(err error) string {
	msg := strings.TrimSpace(err.Error())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	msg = strings.TrimPrefix(msg, "* ")
	if strings.HasPrefix(msg, "'") {
		if i := strings.Index(msg[1:], "' "); i >= 0 {
			msg = msg[i+3:]
		}
	}
	return msg
}

// shortValue quotes a value for an error message, cut to a readable length.
func shortValue(v any) string {
	s := fmt.Sprintf("%q", fmt.Sprint(v))
	if len(s) > 60 {
		s = s[:57] + `..."`
	}
	return s
}

func isNull(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && (s == "null" || s == "~")
}

// nullable reports whether key may be null: concurrencyLimit (unlimited), prefetch
// (as many as concurrencyLimit) and checkBrokenCalls (automatic).
func nullable(key string) bool {
	return key == "futureCall.concurrencyLimit" || key == "futureCall.prefetch" || key == "checkBrokenCalls"
}

func setNull(cfg *Config, key string) {
	switch key {
	case "futureCall.concurrencyLimit":
		cfg.FutureCall.ConcurrencyLimit = nil
	case "futureCall.prefetch":
		cfg.FutureCall.Prefetch = nil
	case "checkBrokenCalls":
		cfg.CheckBrokenCalls = nil
	}
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// leafType resolves a flattened key against Config, walking into map values for
// per-plugin sections. It returns the type of the field the key names.
func leafType(key string) (reflect.Type, bool) {
	t := reflect.TypeOf(Config{})
	parts := strings.Split(key, ".")
	for i := 0; i < len(parts); i++ {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(t, parts[i])
			if !ok {
				return nil, false
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem() // parts[i] is a map key, such as a plugin name
		default:
			return nil, false
		}
	}
	return t, true
}

// fieldByTag finds the field tagged name, looking into squashed embedded structs.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if strings.HasSuffix(tag, ",squash") {
			if sf, ok := fieldByTag(f.Type, name); ok {
				return sf, true
			}
			continue
		}
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
