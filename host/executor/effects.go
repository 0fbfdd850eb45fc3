package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/plugin"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
)

// effects collects the fc.schedule and fc.cancel requests of one running call, and
// its state writes (state.go). They are applied with its outcome, only if it succeeds.
type effects struct {
	e    *Executor
	call store.Call
	list []store.Effect
	// httpRequests counts the call's fc.http requests, for its history entry.
	httpRequests int
	state
}

// ObserveHTTP counts one fc.http request of the call (plugin.HTTPObserver).
func (h *effects) ObserveHTTP(class string) {
	h.httpRequests++
	h.e.opts.Metrics.HTTPRequests.WithLabelValues(h.call.Plugin, class).Inc()
}

// Schedule validates a follow-up request and keeps it.
func (h *effects) Schedule(ctx context.Context, raw []byte) error {
	var req abi.ScheduleRequest
	if err := decodeStrict(raw, &req); err != nil {
		return refused{err}
	}
	if req.Plugin == "" {
		req.Plugin = h.call.Plugin
	}
	c, err := request.Prepare(h.e.opts.Catalog, req, time.Now())
	if err != nil {
		return refused{err}
	}
	h.list = append(h.list, store.Effect{Schedule: &c})
	return nil
}

// Cancel keeps a cancellation and returns how many calls carry the identifier now.
func (h *effects) Cancel(ctx context.Context, identifier string) (int64, error) {
	if identifier == "" {
		return 0, refused{errors.New("empty identifier")}
	}
	n, err := h.e.opts.Store.CountIdentifier(ctx, identifier)
	if err != nil {
		return 0, err
	}
	for _, f := range h.list {
		if f.Schedule != nil && f.Schedule.Identifier == identifier {
			n++
		}
	}
	if last := len(h.list) - 1; last < 0 || h.list[last].CancelIdentifier != identifier {
		h.list = append(h.list, store.Effect{CancelIdentifier: identifier}) // a repeat would change nothing
	}
	return n, nil
}

// refused marks a request the plugin made that the host refuses because of its
// content; the guest's fc.schedule or fc.cancel then returns "invalid request".
type refused struct{ err error }

func (r refused) Error() string {
	// The guest's SDK says "invalid request" already, from the code it gets.
	return strings.TrimPrefix(r.err.Error(), request.ErrInvalid.Error()+": ")
}

func (r refused) Unwrap() []error { return []error{plugin.ErrInvalidRequest, r.err} }

// decodeStrict decodes one JSON object, refusing unknown fields (a misspelt "delay"
// must not silently mean "now") and trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed request: data after the JSON object")
	}
	return nil
}
