// Package catalog presents the loaded plugins to the rest of the host: each call's
// signature with the plugin's default retry policy, for scheduling ([request.Catalog]),
// and a way to run a call by plugin name, for the executor (executor.Invoker).
//
// Like every package under host/, this is the host's implementation, imported by
// cmd/host and, for measurement, by bench/; it is not a supported API and changes
// without notice. Plugins build on sdk/ and abi, clients on the REST API or sdk/client.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
)

// Catalog is the loaded plugins as the host's other parts see them. It is safe for
// concurrent use.
type Catalog struct {
	reg *plugin.Registry
	// retry holds each loaded plugin's default retry policy.
	retry map[string]abi.Retry
}

// RetryPolicies give the operator's retry defaults: Override(plugin) is the policy
// configured for that plugin, if any; Default applies to plugins without one and
// without a policy in their manifest.
type RetryPolicies struct {
	Default  abi.Retry
	Override func(plugin string) (abi.Retry, bool)
}

// New builds the catalog of reg's plugins. A plugin's default retry policy is the
// operator's override for it, else its manifest's, else the operator's default; a
// call's own policy, given when it is scheduled, beats them all.
func New(reg *plugin.Registry, policies RetryPolicies) (*Catalog, error) {
	c := &Catalog{reg: reg, retry: map[string]abi.Retry{}}
	for _, p := range reg.Plugins() {
		r := policies.Default
		if p.Manifest.Retry != nil {
			parsed, err := p.Manifest.Retry.Parse()
			if err != nil {
				return nil, fmt.Errorf("plugin %s (%s): manifest retry policy: %w", p.Name, p.File, err)
			}
			r = parsed
		}
		if policies.Override != nil {
			if o, ok := policies.Override(p.Name); ok {
				r = o
			}
		}
		c.retry[p.Name] = r
	}
	return c, nil
}

// Method returns the signature of plugin's method and the plugin's default retry
// policy, or an error wrapping [request.ErrUnknownPlugin] or [request.ErrUnknownMethod].
func (c *Catalog) Method(pluginName, method string) (*signature.Method, abi.Retry, error) {
	p, ok := c.reg.Plugin(pluginName)
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q", request.ErrUnknownPlugin, pluginName)
	}
	m, ok := p.Method(method)
	if !ok {
		return nil, abi.Retry{}, fmt.Errorf("%w %q of plugin %s", request.ErrUnknownMethod, method, pluginName)
	}
	return m, c.retry[pluginName], nil
}

// Names lists the loaded plugins: the calls this host can run.
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.retry))
	for _, p := range c.reg.Plugins() {
		names = append(names, p.Name)
	}
	return names
}

// Invoke runs a call in the named plugin. A plugin that is not loaded fails the call
// as broken.
func (c *Catalog) Invoke(ctx context.Context, pluginName string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) error {
	p, ok := c.reg.Plugin(pluginName)
	if !ok {
		return &plugin.CallError{Kind: plugin.KindBroken, Message: fmt.Sprintf("plugin %s is not loaded", pluginName)}
	}
	return p.Invoke(ctx, env, host, log)
}

// Limits returns the named plugin's effective limits, zero when it is not loaded.
func (c *Catalog) Limits(pluginName string) plugin.Limits {
	if p, ok := c.reg.Plugin(pluginName); ok {
		return p.Limits
	}
	return plugin.Limits{}
}

// Classify names the history outcome of a failed Invoke.
func (c *Catalog) Classify(err error) abi.Outcome {
	var ce *plugin.CallError
	if !errors.As(err, &ce) {
		return abi.OutcomeFailed
	}
	return ce.Kind.Outcome()
}
