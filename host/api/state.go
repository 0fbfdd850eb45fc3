package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// listState is GET /v1/plugins/{name}/state: the plugin's state, by key, one page at a
// time. Read-only: only the plugin's calls write it.
func (a *API) listState(c echo.Context) error {
	q := newQuery(c, "limit", "cursor")
	page := store.Page{Cursor: q.str("cursor"), Limit: int(q.int("limit", 1, store.MaxPageLimit)), MaxBytes: a.pageBytes}
	if err := q.errOrNil(); err != nil {
		return err
	}
	name, err := a.loadedPlugin(c)
	if err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	entries, next, err := a.store.ListState(ctx, name, page)
	if err != nil {
		return err
	}
	out := client.StatePage{Entries: make([]client.StateEntry, len(entries)), NextCursor: next}
	for i, e := range entries {
		out.Entries[i] = stateEntry(e)
	}
	return c.JSON(http.StatusOK, out)
}

// getState is GET /v1/plugins/{name}/state/{key}: one value. The key is one path
// segment, percent-encoded (a "/" in it as %2F).
func (a *API) getState(c echo.Context) error {
	if err := newQuery(c).errOrNil(); err != nil {
		return err
	}
	name, err := a.loadedPlugin(c)
	if err != nil {
		return err
	}
	// Echo hands a parameter over unescaped or not depending on the rest of the path:
	// read the key from the escaped path, whose last segment it is.
	escaped := c.Request().URL.EscapedPath()
	key, err := url.PathUnescape(escaped[strings.LastIndexByte(escaped, '/')+1:])
	if err == nil {
		err = abi.CheckStateKey(key)
	}
	if err != nil {
		return badParam("key", "%v", err)
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	value, version, updatedAt, err := a.store.StateEntry(ctx, name, key)
	if err != nil {
		return err
	}
	if version == 0 {
		return fail(http.StatusNotFound, client.CodeStateNotFound, "plugin %s has no value under key %q", name, key)
	}
	return c.JSON(http.StatusOK, stateEntry(store.StateEntry{Key: key, Value: value, Version: version, UpdatedAt: updatedAt}))
}

// loadedPlugin returns the name in the path, if a plugin of that name is loaded.
func (a *API) loadedPlugin(c echo.Context) (string, error) {
	name := c.Param("name")
	for _, p := range a.loadedPlugins() {
		if p.Name == name {
			return name, nil
		}
	}
	return "", fail(http.StatusNotFound, client.CodeUnknownPlugin, "no plugin named %q is loaded (GET /v1/plugins lists them)", name)
}

// stateEntry shows a value as JSON when its bytes are a JSON document, which is how
// plugins mostly write them, and in base64 otherwise.
func stateEntry(e store.StateEntry) client.StateEntry {
	out := client.StateEntry{Key: e.Key, Version: e.Version, UpdatedAt: e.UpdatedAt}
	if json.Valid(e.Value) {
		out.Value = json.RawMessage(e.Value)
	} else {
		out.ValueBase64 = base64.StdEncoding.EncodeToString(e.Value)
	}
	return out
}
