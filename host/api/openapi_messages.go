package api

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/futurecalls/futurecalls/abi"
)

// topicPattern is the rule of a topic's name, as signature.ValidTopic applies it.
const topicPattern = `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`

// messageSchemas adds the schemas of messages: for each topic the loaded plugins
// subscribe to, "topic.<topic>.Payload" (the arguments every subscriber takes: the
// intersection, allOf, of their argument schemas, since a payload must fit each of
// them) and "topic.<topic>.Request", the body of POST /v1/messages; PublishRequest is
// one of those, or a message to a topic nobody subscribes to.
func messageSchemas(schemas obj, plugins []Plugin) {
	subscribers := map[string][]string{} // topic → "<plugin>.<method>"
	required := map[string]bool{}        // topic → a subscriber has a required parameter
	for _, p := range plugins {
		for _, s := range p.Manifest.Subscriptions {
			subscribers[s.Topic] = append(subscribers[s.Topic], p.Manifest.Name+"."+s.Call)
			for _, m := range p.Manifest.Calls {
				if m.Name == s.Call && slices.ContainsFunc(m.Params, func(p abi.Param) bool { return !p.Optional }) {
					required[s.Topic] = true
				}
			}
		}
	}
	topics := slices.Sorted(maps.Keys(subscribers))
	var requests []any
	for _, topic := range topics {
		subs := subscribers[topic]
		prefix := "topic." + topic
		refs := make([]any, len(subs))
		for i, s := range subs {
			refs[i] = ref(s + ".Args")
		}
		payload := obj{"description": fmt.Sprintf("The payload of a message to %s: the arguments of every subscribed call (%s), "+
			"so it must fit each of their signatures.", topic, strings.Join(subs, ", ")), "allOf": refs}
		schemas[prefix+".Payload"] = payload
		req := object(fmt.Sprintf("Publishes a message to %s, delivered to %s.", topic, strings.Join(subs, ", ")), publishProps(obj{
			"topic":   obj{"type": "string", "const": topic, "enum": []string{topic}},
			"payload": ref(prefix + ".Payload"),
		}), publishRequired(required[topic])...)
		req["title"] = prefix
		req["not"] = obj{"required": []string{"delay", "at"}}
		schemas[prefix+".Request"] = req
		requests = append(requests, ref(prefix+".Request"))
	}
	other := obj{"type": "string", "pattern": topicPattern, "description": "A topic no loaded plugin subscribes to: the message is kept, with no deliveries."}
	if len(topics) > 0 {
		other["not"] = obj{"enum": topics}
	}
	unsubscribed := object("Publishes a message to a topic nobody subscribes to.", publishProps(obj{
		"topic":   other,
		"payload": obj{"type": "object", "description": "The payload: any object."},
	}), "topic")
	unsubscribed["not"] = obj{"required": []string{"delay", "at"}}
	schemas["PublishRequest"] = obj{
		"description": "A message to publish: to a topic the loaded plugins subscribe to, with a payload that fits every subscriber, or to another topic.",
		"oneOf":       append(requests, unsubscribed),
	}
	schemas["Delivery"] = object("One subscriber's call of a message.", obj{
		"callId": integer("The call's id: GET /v1/calls/{id} while it waits, the history's callId afterwards."),
		"plugin": str("The subscriber's plugin."),
		"method": str("The subscribed method."),
		"status": obj{"type": "string", "description": "waiting or running while the call is stored; then the outcome of its last attempt " +
			"(succeeded, failed, …); gone when its history was trimmed."},
		"runAt":      dateTime("When a waiting delivery is due."),
		"attempt":    obj{"type": "integer", "description": "Attempts started so far."},
		"error":      str("The error of the last attempt, when it failed."),
		"finishedAt": dateTime("When the last attempt finished, once the call is done."),
	}, "callId", "plugin", "method", "status", "attempt")
	schemas["Message"] = object("A published message and its deliveries: one call per subscription to its topic when it was published.", obj{
		"id":         integer("The message's id; the messageId of its calls and their history."),
		"topic":      str("The topic."),
		"payload":    obj{"type": "object", "description": "The payload: the arguments of every delivery."},
		"identifier": str("The identifier every delivery carries."),
		"createdAt":  dateTime("When the message was published."),
		"publisher":  str(`"api", or "call <id> (<plugin>.<method>)" for a message a call published with fc.publish.`),
		"deliveries": arrayOf(ref("Delivery")),
	}, "id", "topic", "payload", "createdAt", "publisher", "deliveries")
	schemas["MessageBatchRequest"] = object("Messages to publish together: all or none.", obj{
		"messages": obj{"type": "array", "items": ref("PublishRequest"), "minItems": 1, "maxItems": MaxBatch},
	}, "messages")
	schemas["MessageBatchResponse"] = object("The messages published, in the order requested.", obj{
		"messages": arrayOf(ref("Message")),
	}, "messages")
}

// publishProps adds to props the fields of a publish request besides topic and payload.
func publishProps(props obj) obj {
	props["identifier"] = ref("Identifier")
	props["delay"] = ref("Delay")
	props["at"] = ref("At")
	return props
}

func publishRequired(payload bool) []string {
	if payload {
		return []string{"topic", "payload"}
	}
	return []string{"topic"}
}

// messagePaths are the operations of messages.
func messagePaths(auth bool, body func(string) obj) map[string]struct {
	name string
	ops  obj
} {
	op := func(id, summary string, ok obj, errors ...string) obj {
		return operation(auth, id, summary, ok, errors...)
	}
	message := func(description string) obj {
		return withRequestID(obj{
			"description": description,
			"headers":     obj{"Location": headerRef("Location")},
			"content":     obj{"application/json": obj{"schema": ref("Message")}},
		})
	}
	publish := op("publishMessage", "Publish a message to the calls subscribed to its topic", obj{
		"201": message("The stored message, with the calls it created."),
		"202": message("The stored message, to a topic nobody subscribes to: no deliveries. Accepted rather than refused, " +
			"so that a publisher need not know its subscribers, and keeps working while they are deployed."),
	}, "BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableEntity")
	publish["requestBody"] = body("PublishRequest")
	batch := op("publishMessages", "Publish several messages, all or none", obj{
		"201": jsonBody("The stored messages, in the order given.", ref("MessageBatchResponse")),
	}, "BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableEntity")
	batch["requestBody"] = body("MessageBatchRequest")
	get := op("getMessage", "Get a message, its deliveries and their outcomes", obj{"200": jsonBody("The message.", ref("Message"))},
		"BadRequest", "NotFound")
	idParam := obj{"name": "id", "in": "path", "required": true, "description": "The message's id.",
		"schema": obj{"type": "integer", "format": "int64", "minimum": 1}}
	return map[string]struct {
		name string
		ops  obj
	}{
		"/v1/messages":       {"Messages", obj{"post": publish}},
		"/v1/messages/batch": {"MessageBatch", obj{"post": batch}},
		"/v1/messages/{id}":  {"Message", obj{"parameters": []any{idParam}, "get": get}},
	}
}
