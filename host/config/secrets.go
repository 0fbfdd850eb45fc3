package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Prefixes of a plugin configuration value (sandbox.plugins.<name>.config): a secret
// from the environment or a file, or a literal that would otherwise read as one.
const (
	SecretEnv  = "env:"
	SecretFile = "file:"
	Literal    = "literal:"
)

// checkConfigValue checks the form of a configuration value, without reading secrets.
func checkConfigValue(value string) error {
	switch {
	case strings.HasPrefix(value, SecretEnv):
		if strings.TrimPrefix(value, SecretEnv) == "" {
			return errors.New("env: needs the name of an environment variable (env:MAIL_TOKEN)")
		}
	case strings.HasPrefix(value, SecretFile):
		if path := strings.TrimPrefix(value, SecretFile); !filepath.IsAbs(path) {
			return fmt.Errorf("file: needs an absolute path (file:/run/secrets/mail), got %q", path)
		}
	}
	return nil
}

// ResolveConfig returns every plugin's configuration values (sandbox.plugins.<name>.config)
// as fc.config hands them out: secrets read from the environment (through lookupEnv,
// os.LookupEnv in the host) and from files, "literal:" dropped. A secret that cannot be
// read is an error naming its key, never its value; every such key is reported at once.
func (s Sandbox) ResolveConfig(lookupEnv func(string) (string, bool)) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var errs []error
	for _, name := range sortedKeys(s.Plugins) {
		values := s.Plugins[name].Config
		if len(values) == 0 {
			continue
		}
		resolved := make(map[string]string, len(values))
		for _, key := range sortedKeys(values) {
			v, err := resolveValue(values[key], lookupEnv)
			if err != nil {
				errs = append(errs, fmt.Errorf("sandbox.plugins.%s.config.%s: %w", name, key, err))
				continue
			}
			resolved[key] = v
		}
		out[name] = resolved
	}
	return out, errors.Join(errs...)
}

func resolveValue(value string, lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case strings.HasPrefix(value, SecretEnv):
		name := strings.TrimPrefix(value, SecretEnv)
		v, ok := lookupEnv(name)
		if !ok {
			return "", fmt.Errorf("the secret's environment variable %s is not set", name)
		}
		return v, nil
	case strings.HasPrefix(value, SecretFile):
		path := strings.TrimPrefix(value, SecretFile)
		b, err := os.ReadFile(path)
		if err != nil {
			var perr *os.PathError
			if errors.As(err, &perr) {
				err = perr.Err // the path is named once, below
			}
			return "", fmt.Errorf("read the secret's file %s: %w", path, err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	default:
		return strings.TrimPrefix(value, Literal), nil
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
