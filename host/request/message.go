package request

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/abi/signature"
	"github.com/futurecalls/futurecalls/host/store"
)

// Subscriber is one subscription to a topic: the plugin and the call its messages
// become.
type Subscriber struct {
	Plugin, Method string
}

// Topics says which calls subscribe to a topic, besides what Catalog says of them.
type Topics interface {
	Catalog
	// Subscribers lists the subscriptions to topic of the loaded plugins.
	Subscribers(topic string) []Subscriber
}

// RefusedError says which subscribers refused a message's payload, and why: each Err is
// a *signature.Error, or wraps ErrUnknownPlugin or ErrUnknownMethod when a subscriber
// went away meanwhile.
type RefusedError struct {
	Refusals []Refusal
}

// Refusal is one subscriber's refusal of a payload.
type Refusal struct {
	Subscriber
	Err error
}

func (e *RefusedError) Error() string {
	parts := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		parts[i] = fmt.Sprintf("subscriber %s.%s: %v", r.Plugin, r.Method, r.Err)
	}
	return "the payload does not fit: " + strings.Join(parts, "; ")
}

// PrepareMessage checks req and returns the message to store, with one delivery per
// subscriber of its topic, each checked against the subscriber's signature. publisher
// says who publishes it (store.NewMessage.Publisher). Errors wrap ErrInvalid, or are a
// *RefusedError listing every subscriber that refuses the payload.
func PrepareMessage(topics Topics, req abi.PublishRequest, publisher string, now time.Time) (store.NewMessage, error) {
	if !signature.ValidTopic(req.Topic) {
		return store.NewMessage{}, fmt.Errorf(`%w: "topic" %q must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`, ErrInvalid, req.Topic)
	}
	payload := req.Payload
	if len(payload) == 0 || string(payload) == "null" {
		payload = json.RawMessage(`{}`)
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(payload, &object); err != nil {
		return store.NewMessage{}, fmt.Errorf(`%w: "payload" must be a JSON object, the arguments of every subscribed call`, ErrInvalid)
	}
	// The checks that do not depend on a subscriber, made once, whether or not the
	// topic has any (a message to no one is stored too).
	if _, _, _, err := check(abi.ScheduleRequest{Args: payload, Identifier: req.Identifier, Delay: req.Delay, At: req.At}, now); err != nil {
		return store.NewMessage{}, err
	}
	msg := store.NewMessage{Topic: req.Topic, Payload: payload, Identifier: req.Identifier, Publisher: publisher}
	var refused RefusedError
	for _, sub := range topics.Subscribers(req.Topic) {
		call, err := Prepare(topics, abi.ScheduleRequest{Plugin: sub.Plugin, Method: sub.Method, Args: payload,
			Identifier: req.Identifier, Delay: req.Delay, At: req.At}, now)
		var sigErr *signature.Error
		switch {
		case err == nil:
			msg.Deliveries = append(msg.Deliveries, call)
		case errors.As(err, &sigErr), errors.Is(err, ErrUnknownPlugin), errors.Is(err, ErrUnknownMethod):
			refused.Refusals = append(refused.Refusals, Refusal{Subscriber: sub, Err: err})
		default:
			return store.NewMessage{}, err
		}
	}
	if len(refused.Refusals) > 0 {
		return store.NewMessage{}, &refused
	}
	return msg, nil
}
