package api

import (
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// describePlugins turns the loaded plugins into what the API shows.
func describePlugins(plugins []Plugin) []client.Plugin {
	out := make([]client.Plugin, len(plugins))
	for i, p := range plugins {
		calls := p.Manifest.Calls
		if calls == nil {
			calls = []abi.Method{}
		}
		out[i] = client.Plugin{
			Name:          p.Manifest.Name,
			Version:       p.Manifest.Version,
			Description:   p.Manifest.Description,
			File:          filepath.Base(p.File),
			Calls:         calls,
			Retry:         p.Manifest.Retry,
			Subscriptions: p.Manifest.Subscriptions,
		}
		if !p.LoadedAt.IsZero() {
			loaded := p.LoadedAt.UTC()
			out[i].LoadedAt = &loaded
		}
		out[i].SHA256, out[i].RefusedCandidate = p.SHA256, p.Refused
	}
	return out
}

// staticPlugins are plugins that never change.
type staticPlugins []Plugin

func (s staticPlugins) Plugins() (uint64, []Plugin) { return 1, s }

// loadedPlugins returns the plugins loaded now, as the API shows them: described again,
// and the OpenAPI document dropped, when they changed.
func (a *API) loadedPlugins() []client.Plugin {
	gen, raw := a.source.Plugins()
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.shown || a.plugins == nil {
		a.shown, a.rawPlugins, a.plugins, a.openapi = gen, raw, describePlugins(raw), nil
	}
	return a.plugins
}

// reload is POST /v1/plugins/reload.
func (a *API) reload(c echo.Context) error {
	if a.reloader == nil {
		return echo.ErrNotFound
	}
	if err := newQuery(c).errOrNil(); err != nil {
		return err
	}
	res, err := a.reloader.Reload(c.Request().Context())
	if err != nil {
		return fmt.Errorf("reload plugins: %w", err)
	}
	return c.JSON(http.StatusOK, res)
}

// listPlugins is GET /v1/plugins.
func (a *API) listPlugins(c echo.Context) error {
	if err := newQuery(c).errOrNil(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, client.PluginList{Plugins: a.loadedPlugins()})
}

// getPlugin is GET /v1/plugins/{name}.
func (a *API) getPlugin(c echo.Context) error {
	name := c.Param("name")
	for _, p := range a.loadedPlugins() {
		if p.Name == name {
			return c.JSON(http.StatusOK, p)
		}
	}
	return fail(http.StatusNotFound, client.CodeUnknownPlugin, "no plugin named %q is loaded (GET /v1/plugins lists them)", name)
}
