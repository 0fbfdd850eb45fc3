package api

import (
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// history is GET /v1/history: finished attempts and removed calls, newest first.
func (a *API) history(c echo.Context) error {
	q := newQuery(c, "callId", "seriesId", "plugin", "method", "identifier", "outcome", "finishedBefore", "finishedAfter", "limit", "cursor")
	f := store.HistoryFilter{
		CallID:         q.int("callId", 1, math.MaxInt64),
		SeriesID:       q.int("seriesId", 1, math.MaxInt64),
		Plugin:         q.str("plugin"),
		Method:         q.str("method"),
		Identifier:     q.str("identifier"),
		Outcome:        abi.Outcome(q.str("outcome")),
		FinishedBefore: q.time("finishedBefore"),
		FinishedAfter:  q.time("finishedAfter"),
	}
	page := store.Page{Cursor: q.str("cursor"), Limit: int(q.int("limit", 1, store.MaxPageLimit)), MaxBytes: a.pageBytes}
	if f.Outcome != "" && !f.Outcome.Valid() {
		var names []string
		for _, o := range abi.Outcomes() {
			names = append(names, string(o))
		}
		q.fail(badParam("outcome", "%q is not one of %s", f.Outcome, strings.Join(names, ", ")))
	}
	if err := q.errOrNil(); err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	entries, next, err := a.store.ListHistory(ctx, f, page)
	if err != nil {
		return err
	}
	out := client.HistoryPage{Entries: make([]client.HistoryEntry, len(entries)), NextCursor: next}
	for i, h := range entries {
		out.Entries[i] = client.HistoryEntry(h)
	}
	return c.JSON(http.StatusOK, out)
}
