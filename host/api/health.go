package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// readiness is the answer of GET /healthz and GET /readyz.
type readiness struct {
	// Status is "ready" or "unavailable" for /readyz, "ok" for /healthz.
	Status string `json:"status"`
	// Reasons say why the host is unavailable.
	Reasons []string `json:"reasons,omitempty"`
}

// readyTimeout bounds the database check of /readyz: a probe must answer quickly.
const readyTimeout = 2 * time.Second

// healthz is GET /healthz: the process is up and answering.
func (a *API) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, readiness{Status: "ok"})
}

// readyz is GET /readyz: ready to take calls when the database answers, plugins are
// loaded, and the Ready option (if any) agrees. Otherwise 503 with the reasons. The
// database's own error is logged, not shown: probes are not authenticated.
func (a *API) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	var reasons []string
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("readiness: database unreachable", slog.Any("err", err))
		reasons = append(reasons, "database unreachable")
	}
	if len(a.loadedPlugins()) == 0 {
		reasons = append(reasons, "no plugins loaded")
	}
	if a.ready != nil {
		if err := a.ready(ctx); err != nil {
			reasons = append(reasons, err.Error())
		}
	}
	if len(reasons) > 0 {
		return c.JSON(http.StatusServiceUnavailable, readiness{Status: "unavailable", Reasons: reasons})
	}
	return c.JSON(http.StatusOK, readiness{Status: "ready"})
}
