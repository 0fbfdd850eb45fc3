package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// Bounds of GET /v1/stats's minutes: the history it reads.
const (
	DefaultStatsMinutes = 180
	MaxStatsMinutes     = 24 * 60
)

// stats is GET /v1/stats: calls due soon and running now, and the history of the last
// minutes (outcomes per minute, lateness, the most failing methods), for the
// dashboard's overview.
func (a *API) stats(c echo.Context) error {
	q := newQuery(c, "minutes")
	minutes := q.int("minutes", 1, MaxStatsMinutes)
	if err := q.errOrNil(); err != nil {
		return err
	}
	if minutes == 0 {
		minutes = DefaultStatsMinutes
	}
	now := time.Now().UTC()
	since := now.Truncate(time.Minute).Add(-time.Duration(minutes-1) * time.Minute)
	ctx, cancel := a.dbContext(c)
	defer cancel()
	st, err := a.store.Stats(ctx, now, since)
	if err != nil {
		return err
	}
	out := client.Stats{Since: since, Until: now, DueNextHour: st.DueNextHour, DueNextDay: st.DueNextDay, Running: st.Running,
		Outcomes: make([]client.OutcomeCount, len(st.Outcomes)), Lateness: client.Lateness{Started: st.Started},
		Failing: make([]client.FailingMethod, len(st.Failing))}
	for i, o := range st.Outcomes {
		out.Outcomes[i] = client.OutcomeCount(o)
	}
	for i, f := range st.Failing {
		out.Failing[i] = client.FailingMethod(f)
	}
	if st.Started > 0 {
		ms := func(d time.Duration) *float64 { f := float64(d) / float64(time.Millisecond); return &f }
		out.Lateness.P50Ms, out.Lateness.P99Ms = ms(st.LatenessP50), ms(st.LatenessP99)
	}
	return c.JSON(http.StatusOK, out)
}
