package fc

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/futurecalls/futurecalls/abi"
)

// topicNameRule is the rule of a topic's name (abi/README.md).
const topicNameRule = `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`

func validTopic(s string) bool {
	if len(s) == 0 || len(s) > 128 || !(isLetter(s[0]) || isDigit(s[0])) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(isLetter(c) || isDigit(c) || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Subscribe makes every message published to topic a call of the registered call, whose
// arguments are the message's payload: the call's signature is the message's schema,
// as this plugin sees it. Call it in an init function, before or after Register. The
// topic must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$; a call that is never
// registered makes the plugin fail to load.
func Subscribe(topic, call string) {
	if !validTopic(topic) {
		panic(fmt.Sprintf("fc.Subscribe(%q, %q): the topic must match %s", topic, call, topicNameRule))
	}
	registry.Lock()
	defer registry.Unlock()
	registry.manifest.Subscriptions = append(registry.manifest.Subscriptions, abi.Subscription{Topic: topic, Call: call})
	registry.encoded = nil
}

// Message is a message to publish (the same fields as the host's POST /v1/messages).
type Message struct {
	// Topic is the topic to publish to.
	Topic string
	// Payload is the message: an Args map, or a struct whose JSON fields are the
	// parameter names of the subscribed calls.
	Payload any
	// Identifier tags every delivery, so that Cancel can find them.
	Identifier string
	// Delay delivers the message this long after now; At at a time. They are
	// exclusive; with neither the deliveries are due at once.
	Delay time.Duration
	At    time.Time
}

// Publish publishes a message to the calls subscribed to its topic, and returns how
// many there are. The host checks the payload against each of them at once; the
// message is stored, and delivered, only if the current call succeeds. The error is a
// *HostError.
func Publish(m Message) (int64, error) {
	req := abi.PublishRequest{Topic: m.Topic, Identifier: m.Identifier}
	if m.Payload != nil {
		payload, err := json.Marshal(m.Payload)
		if err != nil {
			return 0, fmt.Errorf("fc.Publish %s: encode payload: %w", m.Topic, err)
		}
		req.Payload = payload
	}
	if m.Delay != 0 {
		req.Delay = formatDelay(m.Delay)
	}
	if !m.At.IsZero() {
		at := m.At
		req.At = &at
	}
	data, err := json.Marshal(req)
	if err != nil {
		return 0, fmt.Errorf("fc.Publish %s: encode request: %w", m.Topic, err)
	}
	return PublishJSON(data)
}

// PublishJSON is Publish for a request already in the host's JSON form (an
// abi.PublishRequest, the body of POST /v1/messages), passed on as it is.
func PublishJSON(request []byte) (int64, error) {
	n := host.publish(request)
	if n < 0 {
		return 0, &HostError{Op: "publish", Code: n, Message: host.lastError()}
	}
	return n, nil
}
