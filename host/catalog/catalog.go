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
	"sync"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
)

// Catalog is the loaded plugins as the host's other parts see them. It is safe for
// concurrent use. It follows the registry's reloads: each lookup sees one version of a
// plugin, its signatures and retry policy together.
type Catalog struct {
	reg      *plugin.Registry
	policies RetryPolicies
	// retry holds the default retry policy of each plugin version looked up, by version.
	retry sync.Map // *plugin.Plugin → abi.Retry
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
	c := &Catalog{reg: reg, policies: policies}
	for _, p := range reg.Plugins() {
		if err := c.Admit(p); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Admit checks what the catalog needs of a plugin version (its manifest's retry
// policy) and keeps its default retry policy. A version should be admitted before it is
// installed in the registry: one that fails must not be.
func (c *Catalog) Admit(p *plugin.Plugin) error {
	r, err := c.policyOf(p)
	if err != nil {
		return err
	}
	c.retry.Store(p, r)
	return nil
}

// Forget drops what Admit kept of a plugin version that is gone.
func (c *Catalog) Forget(p *plugin.Plugin) { c.retry.Delete(p) }

// policyOf works out p's default retry policy.
func (c *Catalog) policyOf(p *plugin.Plugin) (abi.Retry, error) {
	r := c.policies.Default
	if p.Manifest.Retry != nil {
		parsed, err := p.Manifest.Retry.Parse()
		if err != nil {
			return abi.Retry{}, fmt.Errorf("plugin %s (%s): manifest retry policy: %w", p.Name, p.File, err)
		}
		r = parsed
	}
	if c.policies.Override != nil {
		if o, ok := c.policies.Override(p.Name); ok {
			r = o
		}
	}
	return r, nil
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
	if r, ok := c.retry.Load(p); ok {
		return m, r.(abi.Retry), nil
	}
	// Forgotten since the lookup: the version was replaced a moment ago.
	r, err := c.policyOf(p)
	return m, r, err
}

// Names lists the loaded plugins: the calls this host can run.
func (c *Catalog) Names() []string {
	plugins := c.reg.Plugins()
	names := make([]string, 0, len(plugins))
	for _, p := range plugins {
		names = append(names, p.Name)
	}
	return names
}

// Invoke runs a call in the named plugin and returns the plugin version it ran on (the
// manifest's version). A plugin that is not loaded fails the call as broken.
func (c *Catalog) Invoke(ctx context.Context, pluginName string, env abi.Envelope, host plugin.HostCalls, log *slog.Logger) (string, error) {
	return c.reg.Invoke(ctx, pluginName, env, host, log)
}

// Limits returns the named plugin's effective limits, zero when it is neither loaded nor
// leaving.
func (c *Catalog) Limits(pluginName string) plugin.Limits {
	return c.reg.Limits(pluginName)
}

// Classify names the history outcome of a failed Invoke.
func (c *Catalog) Classify(err error) abi.Outcome {
	var ce *plugin.CallError
	if !errors.As(err, &ce) {
		return abi.OutcomeFailed
	}
	return ce.Kind.Outcome()
}
