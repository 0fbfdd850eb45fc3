package config

import (
	"encoding"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

const redacted = "<redacted>"

// Redacted returns a copy of c safe to print: the API tokens and the database URLs'
// secrets are replaced (see redactURL).
func (c Config) Redacted() Config {
	c.Database.URL = redactURL(c.Database.URL)
	c.Database.ListenURL = redactURL(c.Database.ListenURL)
	if len(c.API.Tokens) > 0 {
		tokens := make([]string, len(c.API.Tokens))
		for i := range tokens {
			tokens[i] = redacted
		}
		c.API.Tokens = tokens
	}
	return c
}

// redactURL replaces the secrets of a database URL: the password of its user-info
// part, and the value of every query parameter that looks secret (pgx reads password
// and sslpassword there too, and passes unknown ones on to the server). A value that
// is not a postgres:// URL is replaced whole, as where its secrets lie cannot be told;
// the configuration refuses it anyway.
func redactURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return redacted
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			key, _, _ := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(key); err != nil || secretParam(name) {
				params[i] = key + "=" + url.QueryEscape(redacted)
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.String()
}

// secretParam reports whether a connection parameter's name looks like it holds a
// secret: password and sslpassword, which pgx understands, and any other name with
// "pass", "secret", "token" or "key" in it (sslkey and passfile are paths, but
// hiding them costs little).
func secretParam(name string) bool {
	name = strings.ToLower(name)
	for _, word := range []string{"pass", "secret", "token", "key"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// WriteYAML writes the configuration as YAML, secrets redacted, each key set by a layer
// commented with where it came from. A plugin's configuration values are written as
// the operator wrote them: its secrets as their references (env:NAME, file:/path),
// which hold no secret, never their values, which only the running host reads. Its output is a valid configuration file.
func WriteYAML(w io.Writer, c Config, origins Origins) error {
	doc := &yaml.Node{Kind: yaml.DocumentNode}
	doc.Content = []*yaml.Node{structNode(reflect.ValueOf(c.Redacted()), "", origins)}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return enc.Close()
}

func structNode(v reflect.Value, prefix string, origins Origins) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if strings.HasSuffix(tag, ",squash") {
			n.Content = append(n.Content, structNode(v.Field(i), prefix, origins).Content...)
			continue
		}
		key := prefix + tag
		if f.Tag.Get("perplugin") == "true" && !strings.HasPrefix(key, perPlugin) {
			continue // sandbox.http.allow, sandbox.config: set per plugin only
		}
		val := valueNode(v.Field(i), key, origins)
		if o, ok := origins[key]; ok {
			val.LineComment = "from " + o
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: tag}, val)
	}
	return n
}

func valueNode(v reflect.Value, key string, origins Origins) *yaml.Node {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return &yaml.Node{Kind: yaml.ScalarNode, Value: string(b)}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		return valueNode(v.Elem(), key, origins)
	case reflect.Struct:
		return structNode(v, key+".", origins)
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k.String()},
				valueNode(v.MapIndex(k), key+"."+k.String(), origins))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, valueNode(v.Index(i), key, origins))
		}
		return n
	case reflect.String:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.String()}
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(v.Interface())}
	}
}
