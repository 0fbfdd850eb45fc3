package app

import (
	"fmt"
	"os"

	"github.com/futurecalls/futurecalls/host/config"
	"github.com/futurecalls/futurecalls/host/egress"
	"github.com/futurecalls/futurecalls/host/plugin"
)

// grants builds what the operator lets each plugin reach (sandbox.plugins.<name>.http.allow
// and .config), reading the configuration's secrets now: a secret that cannot be read
// stops the host, naming its key.
func grants(cfg config.Config) (map[string]plugin.Grant, error) {
	values, err := cfg.Sandbox.ResolveConfig(os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("plugin configuration:\n%w", err)
	}
	out := make(map[string]plugin.Grant, len(cfg.Sandbox.Plugins))
	for name, l := range cfg.Sandbox.Plugins {
		g := plugin.Grant{Config: values[name]}
		if len(l.HTTP.Allow) > 0 {
			allow, err := egress.ParseAllow(l.HTTP.Allow) // checked by config.Validate already
			if err != nil {
				return nil, fmt.Errorf("sandbox.plugins.%s.http.allow: %w", name, err)
			}
			g.HTTP = egress.New(allow)
		}
		out[name] = g
	}
	return out, nil
}
