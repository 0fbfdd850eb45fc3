package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// sourceAPI labels the metrics of calls scheduled and cancelled through the API.
const sourceAPI = "api"

// checkBatchSize refuses a batch whose list (field, of nouns) is empty or holds more
// than MaxBatch items.
func checkBatchSize(field, noun string, n int) *apiError {
	switch {
	case n == 0:
		return fail(http.StatusBadRequest, client.CodeInvalidRequest, "%q must list at least one %s", field, noun)
	case n > MaxBatch:
		return fail(http.StatusBadRequest, client.CodeInvalidRequest, "%q lists %d %ss, more than the limit of %d", field, n, noun, MaxBatch)
	}
	return nil
}

// checkText refuses a body whose strings PostgreSQL cannot store as given: a NUL or a
// lone surrogate escape, which decoding would turn into U+FFFD, so that two different
// identifiers would collide.
func checkText(body []byte) *apiError {
	if err := request.CheckStorable(body); err != nil {
		return fail(http.StatusBadRequest, client.CodeInvalidRequest, "%v", err)
	}
	return nil
}

// decodeRequest decodes one schedule request. Decoding into abi.ScheduleRequest
// itself means fields added to it (recurring calls) are accepted without change here,
// and every other field is refused by name.
func decodeRequest(data []byte) (abi.ScheduleRequest, *apiError) {
	var req abi.ScheduleRequest
	if err := decodeStrictly(data, &req); err != nil {
		return abi.ScheduleRequest{}, err
	}
	return req, nil
}

// prepare checks one request against the loaded plugins. Its errors are *apiError,
// except faults of the catalog.
func (a *API) prepare(req abi.ScheduleRequest, now time.Time) (store.NewCall, error) {
	call, err := request.Prepare(a.catalog, req, now)
	if err != nil {
		if e := prepareError(err, req); e != nil {
			return store.NewCall{}, e
		}
		return store.NewCall{}, fmt.Errorf("check request for %s.%s: %w", req.Plugin, req.Method, err)
	}
	return call, nil
}

// schedule is POST /v1/calls.
func (a *API) schedule(c echo.Context) error {
	body, err := a.readBody(c)
	if err != nil {
		return err
	}
	req, derr := decodeRequest(body)
	if derr != nil {
		return derr
	}
	call, err := a.prepare(req, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	stored, err := a.store.Schedule(ctx, call)
	if err != nil {
		return err
	}
	a.metrics.Scheduled.WithLabelValues(stored.Plugin, stored.Method, sourceAPI).Inc()
	c.Response().Header().Set(echo.HeaderLocation, "/v1/calls/"+strconv.FormatInt(stored.ID, 10))
	return c.JSON(http.StatusCreated, toCall(stored))
}

// scheduleBatch is POST /v1/calls/batch: every call is checked, then all are stored
// in one transaction, or none.
func (a *API) scheduleBatch(c echo.Context) error {
	body, err := a.readBody(c)
	if err != nil {
		return err
	}
	var batch client.Batch[json.RawMessage]
	if derr := decodeStrictly(body, &batch); derr != nil {
		return derr
	}
	if serr := checkBatchSize("calls", "call", len(batch.Calls)); serr != nil {
		return serr
	}
	now := time.Now()
	calls := make([]store.NewCall, len(batch.Calls))
	for i, raw := range batch.Calls {
		req, derr := decodeRequest(raw)
		if derr != nil {
			return derr.at(i)
		}
		if calls[i], err = a.prepare(req, now); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return ae.at(i)
			}
			return fmt.Errorf("calls[%d]: %w", i, err)
		}
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	stored, err := a.store.ScheduleBatch(ctx, calls)
	if err != nil {
		return err
	}
	out := client.Batch[client.Call]{Calls: make([]client.Call, len(stored))}
	for i, s := range stored {
		a.metrics.Scheduled.WithLabelValues(s.Plugin, s.Method, sourceAPI).Inc()
		out.Calls[i] = toCall(s)
	}
	return c.JSON(http.StatusCreated, out)
}

// list is GET /v1/calls.
func (a *API) list(c echo.Context) error {
	q := newQuery(c, "plugin", "method", "identifier", "dueBefore", "dueAfter", "limit", "cursor")
	f := store.Filter{
		Plugin:     q.str("plugin"),
		Method:     q.str("method"),
		Identifier: q.str("identifier"),
		DueBefore:  q.time("dueBefore"),
		DueAfter:   q.time("dueAfter"),
	}
	page := store.Page{Cursor: q.str("cursor"), Limit: int(q.int("limit", 1, store.MaxPageLimit)), MaxBytes: a.pageBytes}
	if err := q.errOrNil(); err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	calls, next, err := a.store.List(ctx, f, page)
	if err != nil {
		return err
	}
	out := client.CallPage{Calls: make([]client.Call, len(calls)), NextCursor: next}
	for i, call := range calls {
		out.Calls[i] = toCall(call)
	}
	return c.JSON(http.StatusOK, out)
}

// get is GET /v1/calls/{id}.
func (a *API) get(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	call, err := a.store.Get(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCall(call))
}

// cancel is DELETE /v1/calls/{id}. A recurring call is stored as its next
// occurrence, so cancelling that occurrence stops its whole series; the answer says so.
func (a *API) cancel(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	call, err := a.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := a.store.Cancel(ctx, id, a.host); err != nil {
		return err
	}
	a.metrics.Cancelled.WithLabelValues(sourceAPI).Inc()
	out := client.Cancelled{Cancelled: 1}
	if call.Series != nil {
		out.SeriesStopped = 1
	}
	return c.JSON(http.StatusOK, out)
}

// cancelIdentifier is DELETE /v1/calls?identifier=X (Serverpod's cancel(identifier)).
// The identifier is required: this route never cancels everything.
func (a *API) cancelIdentifier(c echo.Context) error {
	q := newQuery(c, "identifier")
	identifier := q.str("identifier")
	if err := q.errOrNil(); err != nil {
		return err
	}
	if identifier == "" {
		return badParam("identifier", "required: DELETE /v1/calls cancels the calls carrying an identifier (DELETE /v1/calls/{id} cancels one call)")
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	n, stopped, err := a.store.CancelIdentifier(ctx, identifier, a.host)
	if err != nil {
		return err
	}
	a.metrics.Cancelled.WithLabelValues(sourceAPI).Add(float64(n))
	return c.JSON(http.StatusOK, client.Cancelled{Cancelled: n, SeriesStopped: stopped})
}

func toCall(c store.Call) client.Call {
	status := client.StatusWaiting
	if c.ClaimedBy != "" {
		status = client.StatusRunning
	}
	return client.Call{
		ID:         c.ID,
		Plugin:     c.Plugin,
		Method:     c.Method,
		Args:       c.Args,
		RunAt:      c.RunAt,
		Identifier: c.Identifier,
		CreatedAt:  c.CreatedAt,
		Status:     status,
		Attempt:    c.Attempt,
		Retry: abi.RetryPolicy{
			MaxAttempts: c.Retry.MaxAttempts,
			Backoff:     duration(c.Retry.Backoff),
			MaxBackoff:  duration(c.Retry.MaxBackoff),
		},
		ClaimedBy:  c.ClaimedBy,
		ClaimedAt:  c.ClaimedAt,
		LeaseUntil: c.LeaseUntil,
		LastError:  c.LastError,
		Series:     toSeries(c.Series),
		MessageID:  c.MessageID,
	}
}

func toSeries(s *store.Series) *client.Series {
	if s == nil {
		return nil
	}
	out := &client.Series{ID: s.ID, Cron: s.Cron, TimeZone: s.TimeZone}
	if s.Every > 0 {
		anchor := s.Anchor
		out.Every, out.Anchor = duration(s.Every), &anchor
	}
	return out
}

// duration writes d as Go does, without zero trailing units: "1h", not "1h0m0s".
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
