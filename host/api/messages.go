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

// publisherAPI is the publisher of the messages published through the API.
const publisherAPI = "api"

// noTopics is the catalog of subscriptions when the API's catalog has none: every
// topic has no subscriber.
type noTopics struct{ request.Catalog }

func (noTopics) Subscribers(string) []request.Subscriber { return nil }

// prepareMessage checks one message against the loaded plugins' subscriptions. Its
// errors are *apiError, except faults of the catalog.
func (a *API) prepareMessage(req abi.PublishRequest, now time.Time) (store.NewMessage, error) {
	msg, err := request.PrepareMessage(a.topics, req, publisherAPI, now)
	if err == nil {
		return msg, nil
	}
	var refused *request.RefusedError
	if errors.As(err, &refused) {
		return store.NewMessage{}, refusedError(req.Topic, refused)
	}
	if errors.Is(err, request.ErrInvalid) {
		return store.NewMessage{}, fail(http.StatusBadRequest, client.CodeInvalidRequest, "%v", err)
	}
	return store.NewMessage{}, fmt.Errorf("check message to %s: %w", req.Topic, err)
}

// refusedError answers a payload that subscribers refuse: 422, naming each of them,
// with their violations.
func refusedError(topic string, refused *request.RefusedError) *apiError {
	names := make([]string, len(refused.Refusals))
	for i, r := range refused.Refusals {
		names[i] = r.Plugin + "." + r.Method
	}
	e := fail(http.StatusUnprocessableEntity, client.CodeInvalidArguments,
		"the payload does not fit the signature of %s, subscribed to %q: nothing was published", strings.Join(names, ", "), topic)
	total := 0
	for i, r := range refused.Refusals {
		violations := prepareError(r.Err, abi.ScheduleRequest{Plugin: r.Plugin, Method: r.Method})
		if violations == nil {
			continue
		}
		if len(violations.body.Violations) == 0 {
			// A subscriber that went away meanwhile: its reason stands for a violation.
			violations.body.Violations = []client.Violation{{Message: violations.body.Message}}
		}
		for _, v := range violations.body.Violations {
			total++
			if len(e.body.Violations) < MaxViolations {
				v.Subscriber = names[i]
				e.body.Violations = append(e.body.Violations, v)
			}
		}
		total += violations.body.ViolationsOmitted
	}
	if e.body.ViolationsOmitted = total - len(e.body.Violations); e.body.ViolationsOmitted > 0 {
		e.body.Message += fmt.Sprintf(" (the first %d violations of %d)", len(e.body.Violations), total)
	}
	return e
}

// publish is POST /v1/messages. A message with deliveries is answered 201 with the
// calls it created; one to a topic nobody subscribes to is stored too, and answered
// 202 with no deliveries (see README.md: a publisher need not know its subscribers).
func (a *API) publish(c echo.Context) error {
	body, err := a.readBody(c)
	if err != nil {
		return err
	}
	var req abi.PublishRequest
	if derr := decodeStrictly(body, &req); derr != nil {
		return derr
	}
	msg, err := a.prepareMessage(req, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	stored, err := a.store.Publish(ctx, []store.NewMessage{msg})
	if err != nil {
		return err
	}
	a.countDeliveries(stored)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/messages/"+strconv.FormatInt(stored[0].ID, 10))
	status := http.StatusCreated
	if len(stored[0].Deliveries) == 0 {
		status = http.StatusAccepted
	}
	return c.JSON(status, toMessage(stored[0]))
}

// publishBatch is POST /v1/messages/batch: every message is checked, then all are
// stored with their deliveries in one transaction, or none.
func (a *API) publishBatch(c echo.Context) error {
	body, err := a.readBody(c)
	if err != nil {
		return err
	}
	var batch client.MessageBatch[json.RawMessage]
	if derr := decodeStrictly(body, &batch); derr != nil {
		return derr
	}
	if serr := checkBatchSize("messages", "message", len(batch.Messages)); serr != nil {
		return serr
	}
	now := time.Now()
	msgs := make([]store.NewMessage, len(batch.Messages))
	deliveries := 0
	for i, raw := range batch.Messages {
		var req abi.PublishRequest
		if derr := decodeStrictly(raw, &req); derr != nil {
			return derr.atMessage(i)
		}
		if msgs[i], err = a.prepareMessage(req, now); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return ae.atMessage(i)
			}
			return fmt.Errorf("messages[%d]: %w", i, err)
		}
		if deliveries += len(msgs[i].Deliveries); deliveries > MaxBatchDeliveries {
			return fail(http.StatusBadRequest, client.CodeInvalidRequest,
				"the messages make more than %d deliveries: send fewer at once", MaxBatchDeliveries).atMessage(i)
		}
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	stored, err := a.store.Publish(ctx, msgs)
	if err != nil {
		return err
	}
	a.countDeliveries(stored)
	out := client.MessageBatch[client.Message]{Messages: make([]client.Message, len(stored))}
	for i, m := range stored {
		out.Messages[i] = toMessage(m)
	}
	return c.JSON(http.StatusCreated, out)
}

// MaxBatchDeliveries bounds the calls one POST /v1/messages/batch creates.
const MaxBatchDeliveries = 10 * MaxBatch

// countDeliveries counts the calls that messages created as scheduled through the API.
func (a *API) countDeliveries(msgs []store.Message) {
	for _, m := range msgs {
		for _, d := range m.Deliveries {
			a.metrics.Scheduled.WithLabelValues(d.Plugin, d.Method, sourceAPI).Inc()
		}
	}
}

// getMessage is GET /v1/messages/{id}.
func (a *API) getMessage(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not a message id (a positive integer)", c.Param("id"))
	}
	ctx, cancel := a.dbContext(c)
	defer cancel()
	m, err := a.store.GetMessage(ctx, id)
	if errors.Is(err, store.ErrMessageNotFound) {
		return fail(http.StatusNotFound, client.CodeMessageNotFound, "no message has id %d", id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toMessage(m))
}

// atMessage marks the error as the one of the index-th message of a batch.
func (e *apiError) atMessage(index int) *apiError {
	e.body.Index = &index
	e.body.Message = fmt.Sprintf("messages[%d]: %s", index, e.body.Message)
	return e
}

func toMessage(m store.Message) client.Message {
	out := client.Message{
		ID:         m.ID,
		Topic:      m.Topic,
		Payload:    m.Payload,
		Identifier: m.Identifier,
		CreatedAt:  m.CreatedAt,
		Publisher:  m.Publisher,
		Deliveries: make([]client.Delivery, len(m.Deliveries)),
	}
	for i, d := range m.Deliveries {
		cd := client.Delivery{CallID: d.CallID, Plugin: d.Plugin, Method: d.Method}
		switch {
		case d.Call != nil:
			call := toCall(*d.Call)
			cd.Status, cd.RunAt, cd.Attempt, cd.Error = call.Status, &call.RunAt, call.Attempt, call.LastError
		case d.Last != nil:
			finished := d.Last.FinishedAt
			cd.Status, cd.Attempt, cd.Error, cd.FinishedAt = string(d.Last.Outcome), d.Last.Attempt, d.Last.Error, &finished
		default:
			cd.Status = client.StatusGone
		}
		out.Deliveries[i] = cd
	}
	return out
}
