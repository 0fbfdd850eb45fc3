package api

import (
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
	}
	return out
}

// listPlugins is GET /v1/plugins.
func (a *API) listPlugins(c echo.Context) error {
	if err := newQuery(c).errOrNil(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, client.PluginList{Plugins: a.plugins})
}

// getPlugin is GET /v1/plugins/{name}.
func (a *API) getPlugin(c echo.Context) error {
	name := c.Param("name")
	for _, p := range a.plugins {
		if p.Name == name {
			return c.JSON(http.StatusOK, p)
		}
	}
	return fail(http.StatusNotFound, client.CodeUnknownPlugin, "no plugin named %q is loaded (GET /v1/plugins lists them)", name)
}
