package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// errorBody is the body of every error response.
type errorBody struct {
	Error *client.Error `json:"error"`
}

// apiError is an error answered to the client: its status and body. Anything else a
// handler returns is classified by answerFor.
type apiError struct {
	status int
	body   client.Error
}

// MaxViolations caps the violations a 422 answer lists, so that a large request
// cannot make a larger answer; ViolationsOmitted says how many more there were.
const MaxViolations = 100

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.body.Code, e.body.Message)
}

func fail(status int, code client.Code, format string, args ...any) *apiError {
	return &apiError{status: status, body: client.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// at marks the error as the one of the index-th call of a batch.
func (e *apiError) at(index int) *apiError {
	e.body.Index = &index
	e.body.Message = fmt.Sprintf("calls[%d]: %s", index, e.body.Message)
	return e
}

// prepareError answers an error of request.Prepare for req.
func prepareError(err error, req abi.ScheduleRequest) *apiError {
	var sigErr *signature.Error
	switch {
	case errors.As(err, &sigErr):
		e := fail(http.StatusUnprocessableEntity, client.CodeInvalidArguments,
			"arguments do not fit the signature of %s.%s", req.Plugin, req.Method)
		for _, v := range sigErr.Violations[:min(len(sigErr.Violations), MaxViolations)] {
			e.body.Violations = append(e.body.Violations, client.Violation{Pointer: v.Pointer, Message: v.Message})
		}
		if e.body.ViolationsOmitted = len(sigErr.Violations) - len(e.body.Violations); e.body.ViolationsOmitted > 0 {
			e.body.Message += fmt.Sprintf(" (the first %d violations of %d)", MaxViolations, len(sigErr.Violations))
		}
		return e
	case errors.Is(err, request.ErrUnknownPlugin):
		return fail(http.StatusNotFound, client.CodeUnknownPlugin, "no plugin named %q is loaded (GET /v1/plugins lists them)", req.Plugin)
	case errors.Is(err, request.ErrUnknownMethod):
		return fail(http.StatusNotFound, client.CodeUnknownMethod, "plugin %q has no call named %q (GET /v1/plugins/%s lists them)", req.Plugin, req.Method, req.Plugin)
	case errors.Is(err, request.ErrInvalid):
		return fail(http.StatusBadRequest, client.CodeInvalidRequest, "%v", err)
	}
	return nil
}

// answerFor classifies any error a handler returns.
func (a *API) answerFor(c echo.Context, err error) *apiError {
	var ae *apiError
	var he *echo.HTTPError
	r := c.Request()
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &he) && he.Code == http.StatusNotFound:
		return fail(http.StatusNotFound, client.CodeNotFound, "no route %s %s", r.Method, r.URL.Path)
	case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
		return fail(http.StatusMethodNotAllowed, client.CodeMethodNotAllowed, "%s does not take %s (allowed: %s)",
			r.URL.Path, r.Method, c.Response().Header().Get(echo.HeaderAllow))
	case errors.Is(err, store.ErrNotFound):
		return fail(http.StatusNotFound, client.CodeCallNotFound, "no waiting or running call has this id (finished calls are in /v1/history)")
	case errors.Is(err, store.ErrRunning):
		return fail(http.StatusConflict, client.CodeCallRunning, "the call is running and can no longer be cancelled")
	case errors.Is(err, store.ErrBadCursor):
		return fail(http.StatusBadRequest, client.CodeInvalidParameter, "cursor: not a cursor this listing handed out")
	case store.IsBadData(err):
		return fail(http.StatusBadRequest, client.CodeInvalidRequest, "the database refused a value of the request: %v", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		a.log.Debug("request cancelled by the client", slog.String("request_id", requestID(c)), slog.Any("err", err))
		return fail(http.StatusServiceUnavailable, client.CodeUnavailable, "the request was cancelled")
	case store.IsUnavailable(err):
		a.log.Warn("database unavailable", slog.String("request_id", requestID(c)), slog.Any("err", err))
		return fail(http.StatusServiceUnavailable, client.CodeUnavailable, "the database is unavailable; try again later")
	}
	a.log.Error("request failed", slog.String("request_id", requestID(c)), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Any("err", err))
	return fail(http.StatusInternalServerError, client.CodeInternal, "internal error; the host's log has it under the request id")
}

// writeError answers err in the shared error shape.
func (a *API) writeError(c echo.Context, err error) {
	e := a.answerFor(c, err)
	if c.Response().Committed {
		return
	}
	if e.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="futurecalls"`)
	}
	if e.status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	body := e.body
	body.RequestID = requestID(c)
	if werr := c.JSON(e.status, errorBody{Error: &body}); werr != nil {
		a.log.Debug("write error answer", slog.Any("err", werr))
	}
}
