package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// openAPI is GET /openapi.json. The document is generated from the loaded plugins on
// first use and kept until they change (a reload).
func (a *API) openAPI(c echo.Context) error {
	doc, err := a.openAPIDocument()
	if err != nil {
		return fmt.Errorf("openapi document: %w", err)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc)
}

// openAPIDocument returns the document of the plugins loaded now.
func (a *API) openAPIDocument() ([]byte, error) {
	a.loadedPlugins()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.openapi == nil {
		doc, err := json.Marshal(openAPIDocument(a.rawPlugins, len(a.tokens) > 0))
		if err != nil {
			return nil, err
		}
		a.openapi = doc
	}
	return a.openapi, nil
}

// obj is a JSON object of the document.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(description string) obj { return obj{"type": "string", "description": description} }

func dateTime(description string) obj {
	return obj{"type": "string", "format": "date-time", "description": description}
}

func integer(description string) obj {
	return obj{"type": "integer", "format": "int64", "description": description}
}

func arrayOf(items any) obj { return obj{"type": "array", "items": items} }

// object is a closed object schema.
func object(description string, props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if description != "" {
		o["description"] = description
	}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// openAPIDocument describes the API. Each plugin method gets two schemas:
// "<plugin>.<method>.Args", its arguments, and "<plugin>.<method>.Request", the body
// of POST /v1/calls that schedules it; the body is one of the latter.
func openAPIDocument(plugins []Plugin, auth bool) obj {
	schemas := baseSchemas()
	schemas["ScheduleMode"] = scheduleMode()
	var requests []any
	for _, p := range plugins {
		for _, m := range p.Manifest.Calls {
			prefix := p.Manifest.Name + "." + m.Name
			schemas[prefix+".Args"] = argsSchema(schemas, prefix, m)
			schemas[prefix+".Request"] = requestSchema(p.Manifest.Name, m, prefix)
			requests = append(requests, ref(prefix+".Request"))
		}
	}
	if len(requests) > 0 {
		schemas["ScheduleRequest"] = obj{
			"description": "A call to schedule: one of the loaded plugins' methods, with its arguments.",
			"oneOf":       requests,
		}
	} else {
		schemas["ScheduleRequest"] = genericRequestSchema()
	}

	messageSchemas(schemas, plugins)
	components := obj{
		"schemas":   schemas,
		"responses": errorResponses(auth),
		"headers":   headers(auth),
	}
	doc := obj{
		"openapi": "3.1.0",
		"servers": []any{obj{"url": "/", "description": "The host that serves this document."}},
		"info": obj{
			"title":   "futurecalls",
			"version": "1.0.0",
			"description": "Schedule future calls of WebAssembly plugins: after a delay or at a time, " +
				"cancel them by id or by identifier, and read their history. Every plugin method's arguments " +
				"are a schema of their own (<plugin>.<method>.Args), so a generated client is typed.",
		},
		"paths":      paths(auth),
		"components": components,
		// Without tokens nothing asks for one; the probes say so again for themselves.
		"security": []any{},
	}
	if auth {
		components["securitySchemes"] = obj{
			"bearerAuth": obj{"type": "http", "scheme": "bearer", "description": "One of the host's api.tokens."},
		}
		doc["security"] = []any{obj{"bearerAuth": []any{}}}
	}
	return doc
}

// argsSchema is the schema of a method's arguments object. A parameter schema that
// refers to itself ($ref, $defs) becomes a component of its own, "<prefix>.Args.<param>",
// with its $defs hoisted beside it, since such references would otherwise resolve
// against the OpenAPI document.
func argsSchema(schemas obj, prefix string, m abi.Method) obj {
	props := obj{}
	var required []string
	for _, p := range m.Params {
		var s any = obj{}
		if len(p.Schema) > 0 {
			_ = json.Unmarshal(p.Schema, &s) // the registry checked every schema
		}
		if so, ok := s.(obj); ok {
			if p.Description != "" {
				if _, has := so["description"]; !has {
					so["description"] = p.Description
				}
			}
			if selfReferring(so) {
				name := prefix + ".Args." + p.Name
				hoist(schemas, name, so)
				s = ref(name)
			}
		}
		props[p.Name] = s
		if !p.Optional {
			required = append(required, p.Name)
		}
	}
	desc := fmt.Sprintf("The arguments of %s, by parameter name.", prefix)
	if m.Description != "" {
		desc = fmt.Sprintf("The arguments of %s (%s), by parameter name.", prefix, m.Description)
	}
	return object(desc, props, required...)
}

// requestSchema is the body of POST /v1/calls that schedules plugin's method m.
func requestSchema(plugin string, m abi.Method, prefix string) obj {
	desc := fmt.Sprintf("Schedules %s.", prefix)
	if m.Description != "" {
		desc = fmt.Sprintf("Schedules %s: %s", prefix, m.Description)
	}
	required := []string{"plugin", "method"}
	for _, p := range m.Params {
		if !p.Optional {
			required = append(required, "args")
			break
		}
	}
	var args any = ref(prefix + ".Args")
	if len(required) == 2 {
		// Without required parameters, null args mean no arguments, as the server reads them.
		args = obj{"anyOf": []any{args, obj{"type": "null"}}}
	}
	o := object(desc, scheduleProps(obj{
		"plugin": obj{"type": "string", "const": plugin, "enum": []string{plugin}},
		"method": obj{"type": "string", "const": m.Name, "enum": []string{m.Name}},
		"args":   args,
	}), required...)
	o["title"] = prefix
	o["allOf"] = []any{ref("ScheduleMode")}
	return o
}

// genericRequestSchema is the request body when no plugin is loaded.
func genericRequestSchema() obj {
	o := object("A call to schedule.", scheduleProps(obj{
		"plugin": obj{"type": "string", "minLength": 1, "description": "The plugin's name."},
		"method": obj{"type": "string", "minLength": 1, "description": "The plugin method's name."},
		"args":   obj{"type": []string{"object", "null"}, "description": "The arguments by parameter name."},
	}), "plugin", "method")
	o["allOf"] = []any{ref("ScheduleMode")}
	return o
}

// scheduleMode says which fields of a schedule request go together, as the server
// enforces it: a one-off call is due now, after delay, or at a time; a recurring call
// has cron (with an optional timezone) or every (with an optional start), and an
// identifier.
func scheduleMode() obj {
	timing := []string{"delay", "at", "cron", "timezone", "every", "start"}
	mode := func(description string, required []string, allowed ...string) obj {
		var forbidden []any
		for _, f := range timing {
			if !slices.Contains(required, f) && !slices.Contains(allowed, f) {
				forbidden = append(forbidden, obj{"required": []string{f}})
			}
		}
		o := obj{"description": description, "not": obj{"anyOf": forbidden}}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	return obj{
		"description": "Which fields go together: exactly one of these modes.",
		"oneOf": []any{
			mode("A one-off call due now.", nil),
			mode("A one-off call due after delay.", []string{"delay"}),
			mode("A one-off call due at a time.", []string{"at"}),
			mode("A recurring call on a cron schedule, cancelled by its identifier.", []string{"cron", "identifier"}, "timezone"),
			mode("A recurring call at a fixed interval, cancelled by its identifier.", []string{"every", "identifier"}, "start"),
		},
	}
}

// scheduleProps adds to props the fields of a schedule request that say when and how
// the call runs, the same for every method.
func scheduleProps(props obj) obj {
	for name, schema := range map[string]string{"delay": "Delay", "at": "At", "identifier": "Identifier",
		"retry": "RetryPolicy", "cron": "Cron", "timezone": "TimeZone", "every": "Every", "start": "Start"} {
		props[name] = ref(schema)
	}
	return props
}

// notData are the keywords whose values are data, not schemas: a "$ref" inside them
// is no reference.
var notData = map[string]bool{"enum": true, "const": true, "default": true, "examples": true, "example": true}

// selfReferring reports whether schema has $defs or a local $ref anywhere.
func selfReferring(schema any) bool {
	switch v := schema.(type) {
	case obj:
		if _, ok := v["$defs"]; ok {
			return true
		}
		if r, ok := v["$ref"].(string); ok && strings.HasPrefix(r, "#") {
			return true
		}
		for k, sub := range v {
			if !notData[k] && selfReferring(sub) {
				return true
			}
		}
	case []any:
		for _, sub := range v {
			if selfReferring(sub) {
				return true
			}
		}
	}
	return false
}

var unsafeComponentChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// hoist adds schema as component name, its top-level $defs as components
// "<name>.<def>", and points its local references at them.
func hoist(schemas obj, name string, schema obj) {
	defs := map[string]string{}
	defSchemas, _ := schema["$defs"].(obj)
	delete(schema, "$defs")
	for _, def := range slices.Sorted(maps.Keys(defSchemas)) {
		component := name + "." + unsafeComponentChars.ReplaceAllString(def, "_")
		for _, taken := schemas[component]; taken; _, taken = schemas[component] {
			component += "_"
		}
		defs[def] = component
		schemas[component] = struct{}{} // reserved while the others are named
	}
	for def, s := range defSchemas {
		schemas[defs[def]] = rewriteRefs(s, name, defs)
	}
	schemas[name] = rewriteRefs(schema, name, defs)
}

// rewriteRefs points the local references of a schema hoisted as component name, and
// of its hoisted $defs, at their new places.
func rewriteRefs(schema any, name string, defs map[string]string) any {
	switch v := schema.(type) {
	case obj:
		for k, sub := range v {
			if k == "$ref" {
				if r, ok := sub.(string); ok {
					v[k] = rewriteRef(r, name, defs)
				}
				continue
			}
			if !notData[k] {
				v[k] = rewriteRefs(sub, name, defs)
			}
		}
	case []any:
		for i, sub := range v {
			v[i] = rewriteRefs(sub, name, defs)
		}
	}
	return schema
}

func rewriteRef(r, name string, defs map[string]string) string {
	fragment, ok := strings.CutPrefix(r, "#")
	if !ok || (fragment != "" && !strings.HasPrefix(fragment, "/")) {
		return r // not local, or an $anchor: anchors are global in OpenAPI 3.1
	}
	if rest, ok := strings.CutPrefix(fragment, "/$defs/"); ok {
		token, tail, _ := strings.Cut(rest, "/")
		def := strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		if component, ok := defs[def]; ok {
			if tail != "" {
				tail = "/" + tail
			}
			return "#/components/schemas/" + component + tail
		}
	}
	return "#/components/schemas/" + name + fragment
}

// anyArgs are the arguments of a stored call, by parameter name: any JSON values, which
// generated types let a client read (a bare "object" would type them as empty).
var anyArgs = obj{"type": "object", "additionalProperties": true, "description": "The arguments by parameter name."}

// offsetPattern restricts a date-time to the offsets RFC 3339 allows (hours up to 23),
// as the server does.
const offsetPattern = `(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$`

// baseSchemas are the schemas of the API itself.
func baseSchemas() obj {
	when := "RFC 3339, always UTC in answers."
	return obj{
		"Delay": obj{"type": "string", "pattern": request.DurationPattern, "examples": []any{"1h30m", "3d", "90s"},
			"description": "Run the call this long from now: a Go duration, plus d for days of 24 hours. Exclusive with at; with neither, the call is due at once (Serverpod's callWithDelay)."},
		"At": obj{"type": "string", "format": "date-time", "pattern": offsetPattern,
			"description": "Run the call at this time, RFC 3339; stored in UTC. Exclusive with delay (Serverpod's callAtTime)."},
		"Identifier": obj{"type": "string", "minLength": 1, "maxLength": abi.MaxIdentifierBytes,
			"description": "Tags the call; DELETE /v1/calls?identifier= cancels every call carrying it. Several calls may share one."},
		"RetryPolicy": object("How often a failed call is tried again; the plugin's default when absent.", obj{
			"maxAttempts": obj{"type": "integer", "minimum": 1, "maximum": abi.MaxRetryAttempts, "description": "Every attempt counts, the first included: 1 means no retry."},
			"backoff": obj{"type": "string", "pattern": request.DurationPattern,
				"description": "Wait after the first failure, a duration like delay's, at least 1ms (default 1s); doubled after each further failure."},
			"maxBackoff": obj{"type": "string", "pattern": request.DurationPattern,
				"description": "The longest wait between attempts, a duration like delay's, at least 1ms (default 1h)."},
		}, "maxAttempts"),
		"Cron": obj{"type": "string", "minLength": 1, "examples": []any{"0 9 * * MON-FRI", "*/30 * * * * *", "@daily"},
			"description": "Makes the call recurring on a cron schedule: five fields (minute hour day-of-month month day-of-week), or six with seconds first; month and weekday names; descriptors such as @daily. A day matching either a restricted day of month or a restricted day of week runs. Needs an identifier, which cancels the series; exclusive with every, delay and at."},
		"TimeZone": obj{"type": "string", "minLength": 1, "not": obj{"const": "Local"}, "examples": []any{"Europe/Berlin"},
			"description": "The IANA time zone of cron (UTC when absent); not Local, which would differ from host to host. Across daylight-saving changes a skipped local time runs an hour later and a repeated one runs once."},
		"Every": obj{"type": "string", "pattern": request.DurationPattern, "examples": []any{"15m", "1d"},
			"description": "Makes the call recurring at a fixed interval (a duration like delay's, at least 1ms), on the grid start + k·every. Runs missed while no host was up collapse into one. Needs an identifier; exclusive with cron, delay and at."},
		"Start": obj{"type": "string", "format": "date-time", "pattern": offsetPattern,
			"description": "The anchor of an every series: its first run (or, if past, the grid it keeps). Default: one interval from now."},
		"Series": object("The schedule of a recurring call.", obj{
			"id":       integer("The series' id; the history's seriesId."),
			"cron":     str("The cron expression."),
			"timezone": str("The cron expression's time zone."),
			"every":    str("The interval."),
			"anchor":   dateTime("The interval's anchor."),
		}, "id"),
		"Call": object("A waiting or running call.", obj{
			"id":         integer("The call's id."),
			"plugin":     str("The plugin."),
			"method":     str("The plugin's method."),
			"args":       anyArgs,
			"runAt":      dateTime("When the call is due, " + when),
			"identifier": str("The identifier the call carries."),
			"createdAt":  dateTime("When the call was scheduled."),
			"status":     obj{"type": "string", "enum": []string{client.StatusWaiting, client.StatusRunning}, "description": "Whether a host is running the call."},
			"attempt":    obj{"type": "integer", "description": "Attempts started so far."},
			"retry":      ref("RetryPolicy"),
			"claimedBy":  str("The host running the call."),
			"claimedAt":  dateTime("When the host claimed it."),
			"leaseUntil": dateTime("Until when the claim holds."),
			"lastError":  str("The error of the previous attempt, when waiting for a retry."),
			"series":     ref("Series"),
			"messageId":  integer("The message the call delivers (POST /v1/messages, fc.publish); absent for other calls."),
		}, "id", "plugin", "method", "args", "runAt", "createdAt", "status", "attempt", "retry"),
		"CallPage": object("One page of calls, by run time.", obj{
			"calls":      arrayOf(ref("Call")),
			"nextCursor": str(nextCursor),
		}, "calls"),
		"BatchRequest": object("Calls to schedule together: all or none.", obj{
			"calls": obj{"type": "array", "items": ref("ScheduleRequest"), "minItems": 1, "maxItems": MaxBatch},
		}, "calls"),
		"BatchResponse": object("The calls stored, in the order requested.", obj{
			"calls": arrayOf(ref("Call")),
		}, "calls"),
		"Cancelled": object("How many calls were cancelled, and how many series stopped.", obj{
			"cancelled":     integer("The waiting calls cancelled."),
			"seriesStopped": integer("The recurring series carrying the identifier that are now stopped: those whose next occurrence was cancelled, and those whose occurrence is running now (it finishes, and gets no successor)."),
		}, "cancelled", "seriesStopped"),
		"CancelledCall": object("The call cancelled, and whether that stopped a series.", obj{
			"cancelled":     integer("1: the call."),
			"seriesStopped": integer("1 when the call was the next occurrence of a recurring call, whose whole series is now stopped; else 0."),
		}, "cancelled", "seriesStopped"),
		"HistoryEntry": object("A finished attempt of a call, or a call removed without running.", obj{
			"id":          integer("The entry's id."),
			"callId":      integer("The call's id."),
			"plugin":      str("The plugin."),
			"method":      str("The plugin's method."),
			"args":        anyArgs,
			"identifier":  str("The identifier the call carried."),
			"scheduledAt": dateTime("When the call was due."),
			"startedAt":   dateTime("When the attempt started; absent when it never ran."),
			"finishedAt":  dateTime("When the attempt ended or the call was removed."),
			"attempt":     obj{"type": "integer", "description": "The attempt's number, 1 for the first."},
			"outcome":     obj{"type": "string", "enum": abi.Outcomes(), "description": "How the attempt ended."},
			"error":       str("Why the attempt failed."),
			"host":        str("The host that ran the attempt or recorded the outcome."),
			"retryAt":     dateTime("When the call runs again, for a failed attempt that is retried."),
			"seriesId":    integer("The series of a recurring call's occurrence."),
			"httpRequests": obj{"type": "integer", "minimum": 0,
				"description": "How many outbound HTTP requests (fc.http) the attempt made, refused ones included; 0 for a call that never ran."},
			"pluginVersion": str("The version of the plugin the attempt ran on (its manifest's); absent for a call removed without running."),
			"messageId":     integer("The message the call delivered; absent for other calls."),
		}, "id", "callId", "plugin", "method", "args", "scheduledAt", "finishedAt", "attempt", "outcome", "host", "httpRequests"),
		"HistoryPage": object("One page of the history, newest first.", obj{
			"entries":    arrayOf(ref("HistoryEntry")),
			"nextCursor": str(nextCursor),
		}, "entries"),
		"Param": object("A parameter of a plugin method.", obj{
			"name":        str("The parameter's name, its key in args."),
			"description": str("What the parameter means."),
			"schema":      obj{"description": "The parameter's JSON Schema (draft 2020-12)."},
			"optional":    obj{"type": "boolean", "description": "Whether args may leave the parameter out."},
		}, "name", "schema"),
		"Method": object("A plugin method: a future call.", obj{
			"name":        str("The method's name."),
			"description": str("What the method does."),
			"params":      arrayOf(ref("Param")),
		}, "name", "params"),
		"Plugin": object("A loaded plugin.", obj{
			"name":             str("The plugin's name."),
			"version":          str("The plugin's version."),
			"description":      str("What the plugin does."),
			"file":             str("The plugin's file name."),
			"calls":            arrayOf(ref("Method")),
			"retry":            ref("RetryPolicy"),
			"loadedAt":         dateTime("When the host loaded the running version."),
			"sha256":           str("The hex SHA-256 of the file the running version was loaded from."),
			"refusedCandidate": ref("Candidate"),
			"subscriptions": arrayOf(object("A call of the plugin subscribed to a topic: messages published to the topic become its calls.", obj{
				"topic": obj{"type": "string", "pattern": topicPattern, "description": "The topic."},
				"call":  str("The subscribed method."),
			}, "topic", "call")),
		}, "name", "file", "calls"),
		"Candidate": object("A new version of a plugin that a reload refused to swap in: stored calls would break under it (plugins.reload.onBreaking: refuse). The running version stays.", obj{
			"name":      str("The plugin's name."),
			"version":   str("The candidate's version."),
			"file":      str("The candidate's file name."),
			"sha256":    str("The hex SHA-256 of the candidate's file."),
			"refusedAt": dateTime("When the reload refused it."),
			"reason":    str("Why, in one line, with the broken calls counted by method."),
			"broken":    integer("The stored calls that would break."),
			"methods": arrayOf(object("The stored calls of one method that would break.", obj{
				"method": str("The method."),
				"kind":   obj{"type": "string", "enum": []string{"method_missing", "args_mismatch"}, "description": "method_missing: the candidate no longer declares the method; args_mismatch: the stored arguments do not fit its signature."},
				"count":  integer("How many."),
				"reason": str("Why the first of them breaks."),
			}, "method", "kind", "count", "reason")),
		}, "name", "file", "sha256", "refusedAt", "reason", "broken", "methods"),
		"PluginChange": object("A plugin a reload added, swapped or removed.", obj{
			"name":            str("The plugin's name."),
			"version":         str("The version now running (added, swapped) or taken out (removed)."),
			"file":            str("The file name."),
			"sha256":          str("The hex SHA-256 of the file."),
			"previousVersion": str("The version replaced, for a swap."),
			"broken":          integer("Stored calls the new version breaks (swapped under onBreaking accept or delete)."),
			"deleted":         integer("Broken calls moved into the history as deleted_broken (onBreaking delete)."),
			"waiting":         integer("Stored calls of a removed plugin: they wait for a host that has it."),
		}, "name", "file", "sha256"),
		"Reload": object("What a reload of the plugins directory changed.", obj{
			"added":   arrayOf(ref("PluginChange")),
			"swapped": arrayOf(ref("PluginChange")),
			"removed": arrayOf(ref("PluginChange")),
			"refused": arrayOf(ref("Candidate")),
			"failed": arrayOf(object("A file that could not be loaded; the version running, if any, stays.", obj{
				"file":   str("The file name."),
				"sha256": str("The hex SHA-256 of the file."),
				"error":  str("Why it could not be loaded."),
			}, "file", "sha256", "error")),
			"pending": obj{"type": "array", "items": obj{"type": "string"}, "description": "Files still being written: loaded once they stop changing."},
		}, "added", "swapped", "removed", "refused", "failed", "pending"),
		"Stats": object("The schedule now and the history of the last minutes.", obj{
			"since":       dateTime("The start of the history read: the first minute counted."),
			"until":       dateTime("The end of the history read: now."),
			"dueNextHour": integer("Waiting calls due within an hour, overdue ones included; counted up to 100000."),
			"dueNextDay":  integer("Waiting calls due within a day, overdue ones included; counted up to 100000."),
			"running":     integer("Calls a host runs now; counted up to 100000."),
			"outcomes": arrayOf(object("The history entries of one minute with one outcome.", obj{
				"minute":  dateTime("The minute the entries finished in."),
				"outcome": obj{"type": "string", "enum": abi.Outcomes(), "description": "How they ended."},
				"count":   integer("How many."),
			}, "minute", "outcome", "count")),
			"lateness": object("How late first attempts started after they were due.", obj{
				"started": integer("First attempts started in the window."),
				"p50Ms":   obj{"type": "number", "description": "The median lateness in milliseconds; absent when none started."},
				"p99Ms":   obj{"type": "number", "description": "The 99th percentile in milliseconds; absent when none started."},
			}, "started"),
			"failing": arrayOf(object("A method whose attempts failed, timed out, were interrupted or broken.", obj{
				"plugin":       str("The plugin."),
				"method":       str("The plugin's method."),
				"failures":     integer("Unsuccessful attempts in the window."),
				"lastError":    str("The error of the latest one."),
				"lastFailedAt": dateTime("When the latest one finished."),
			}, "plugin", "method", "failures", "lastError", "lastFailedAt")),
		}, "since", "until", "dueNextHour", "dueNextDay", "running", "outcomes", "lateness", "failing"),
		"PluginList": object("The loaded plugins, by name.", obj{"plugins": arrayOf(ref("Plugin"))}, "plugins"),
		"StateEntry": object("One value of a plugin's state, which its calls write with fc.state_put.", obj{
			"key": obj{"type": "string", "minLength": 1, "description": "The key: 1 to 256 bytes of UTF-8."},
			"value": obj{"description": "The value, when its bytes are a JSON document (shown as that document, " +
				"whitespace removed); else valueBase64 holds it. An empty value has neither."},
			"valueBase64": obj{"type": "string", "contentEncoding": "base64",
				"description": "The value in standard base64, when its bytes are not a JSON document."},
			"version":   integer("Changes with every write of the key."),
			"updatedAt": dateTime("When the call that last wrote the key committed."),
		}, "key", "version", "updatedAt"),
		"StatePage": object("One page of a plugin's state, by key (bytewise).", obj{
			"entries":    arrayOf(ref("StateEntry")),
			"nextCursor": str(nextCursor),
		}, "entries"),
		"Readiness": object("Whether the host is up or ready.", obj{
			"status":  obj{"type": "string", "enum": []string{"ok", "ready", "unavailable"}, "description": "ok (up), ready, or unavailable."},
			"reasons": obj{"type": "array", "items": obj{"type": "string"}, "description": "Why the host is not ready."},
		}, "status"),
		"Violation": object("One way the arguments do not fit the signature.", obj{
			"pointer":    str("JSON pointer into args (a message's payload); empty for args itself."),
			"message":    str("What is wrong there."),
			"subscriber": str("The subscriber (<plugin>.<method>) whose signature a message's payload does not fit."),
		}, "pointer", "message"),
		"Error": object("An error answer.", obj{
			"error": object("What went wrong.", obj{
				"code": obj{"type": "string", "enum": []client.Code{client.CodeMalformedJSON, client.CodeUnknownField, client.CodeInvalidRequest,
					client.CodeInvalidParameter, client.CodeUnauthorized, client.CodeForbiddenHost, client.CodeNotFound, client.CodeCallNotFound,
					client.CodeUnknownPlugin, client.CodeUnknownMethod, client.CodeStateNotFound, client.CodeMethodNotAllowed, client.CodeCallRunning, client.CodeBodyTooLarge,
					client.CodeUnsupportedMediaType, client.CodeInvalidArguments, client.CodeInternal, client.CodeUnavailable, client.CodeMessageNotFound},
					"description": "What went wrong, for programs."},
				"message": str("What went wrong, for people."),
				"violations": obj{"type": "array", "items": ref("Violation"), "maxItems": MaxViolations,
					"description": "How the arguments do not fit the signature (invalid_arguments): the first ones, when there are many."},
				"violationsOmitted": integer("How many more violations there were, past those listed."),
				"index":             obj{"type": "integer", "description": "The failing call (or message) of a batch."},
				"requestId":         str("Names the request in the host's log."),
			}, "code", "message"),
		}, "error"),
	}
}

// headers are the response headers the document refers to.
func headers(auth bool) obj {
	h := obj{
		"RequestId": obj{"description": "Names the request in the host's log: the client's own X-Request-Id when it is sane " +
			"(1 to 64 of A-Z a-z 0-9 . _ -), else a new one.", "schema": obj{"type": "string"}},
		"RetryAfter":      obj{"description": "Seconds to wait before trying again.", "schema": obj{"type": "integer", "minimum": 0}},
		"Allow":           obj{"description": "The methods the path takes.", "schema": obj{"type": "string"}},
		"WWWAuthenticate": obj{"description": "The scheme the host asks for: Bearer.", "schema": obj{"type": "string"}},
		"Location":        obj{"description": "The stored call: /v1/calls/{id}.", "schema": obj{"type": "string"}},
	}
	if !auth {
		delete(h, "WWWAuthenticate")
	}
	for _, header := range h {
		header.(obj)["required"] = true // where a response names one, it is always sent
	}
	return h
}

func headerRef(name string) obj { return obj{"$ref": "#/components/headers/" + name} }

// withRequestID adds the X-Request-Id header, which every answer carries, to a response.
func withRequestID(response obj) obj {
	h, _ := response["headers"].(obj)
	if h == nil {
		h = obj{}
	}
	h[requestIDHeader] = headerRef("RequestId")
	response["headers"] = h
	return response
}

// errorResponses are the shared error answers, by HTTP status.
func errorResponses(auth bool) obj {
	r := func(description string, headers obj) obj {
		return withRequestID(obj{"description": description, "headers": headers,
			"content": obj{"application/json": obj{"schema": ref("Error")}}})
	}
	responses := obj{
		"BadRequest":           r("The request is malformed: bad JSON, an unknown field, a wrong parameter.", nil),
		"NotFound":             r("No such call, plugin, method or state key.", nil),
		"Conflict":             r("The call is running and can no longer be cancelled.", nil),
		"PayloadTooLarge":      r("The body is larger than the host's limit.", nil),
		"UnsupportedMediaType": r("The body is not application/json, or it is encoded (Content-Encoding).", nil),
		"UnprocessableEntity":  r("The arguments do not fit the method's signature; the violations are listed, the first ones only when there are many.", nil),
		"Unavailable":          r("The database is unavailable; try again later.", obj{"Retry-After": headerRef("RetryAfter")}),
		"Error": r("Any other error, in the same shape: 404 not_found for a path the API does not have, 405 method_not_allowed "+
			"(with Allow) for a method a path does not take, 500 internal.", obj{
			"Allow": obj{"description": "On 405: the methods the path takes.", "schema": obj{"type": "string"}},
		}),
	}
	if auth {
		responses["Unauthorized"] = r("No or wrong bearer token.", obj{"WWW-Authenticate": headerRef("WWWAuthenticate")})
	} else {
		responses["ForbiddenHost"] = r("The request names a host other than localhost or a loopback address, and the host has no "+
			"api.tokens (a defence against DNS rebinding).", nil)
	}
	return responses
}

func respRef(name string) obj { return obj{"$ref": "#/components/responses/" + name} }

func jsonBody(description string, schema any) obj {
	return withRequestID(obj{"description": description, "content": obj{"application/json": obj{"schema": schema}}})
}

func queryParam(name, description string, schema obj) obj {
	return obj{"name": name, "in": "query", "description": description, "schema": schema}
}

// operation is one operation with the error answers every guarded operation can give:
// 401 when the host asks for tokens, 403 forbidden_host when it does not.
func operation(auth bool, id, summary string, ok obj, errors ...string) obj {
	responses := obj{"503": respRef("Unavailable"), "default": respRef("Error")}
	if auth {
		responses["401"] = respRef("Unauthorized")
	} else {
		responses["403"] = respRef("ForbiddenHost")
	}
	for k, v := range ok {
		responses[k] = v
	}
	statuses := map[string]string{"BadRequest": "400", "NotFound": "404", "Conflict": "409", "PayloadTooLarge": "413",
		"UnsupportedMediaType": "415", "UnprocessableEntity": "422"}
	for _, e := range errors {
		responses[statuses[e]] = respRef(e)
	}
	return obj{"operationId": id, "summary": summary, "responses": responses}
}

// headOf is the HEAD operation of a GET operation: the same answers without a body.
func headOf(get obj) obj {
	responses := obj{}
	for status := range get["responses"].(obj) {
		responses[status] = withRequestID(obj{"description": "The answer of GET, without its body."})
	}
	head := obj{"operationId": get["operationId"].(string) + "Head", "summary": get["summary"].(string) + " (headers only)",
		"responses": responses}
	if security, ok := get["security"]; ok {
		head["security"] = security
	}
	if params, ok := get["parameters"]; ok {
		head["parameters"] = params
	}
	return head
}

// optionsOf is the OPTIONS operation of a path, which lists its methods in Allow.
func optionsOf(auth bool, path, id string) obj {
	allowed := withRequestID(obj{"description": "The methods the path takes, in Allow.", "headers": obj{"Allow": headerRef("Allow")}})
	if !guarded(path) {
		return obj{"operationId": id, "summary": "The methods of " + path, "security": []any{},
			"responses": obj{"204": allowed, "default": respRef("Error")}}
	}
	return operation(auth, id, "The methods of "+path, obj{"204": allowed})
}

// nextCursor describes the cursor of a page: a page may end before its limit, when its
// rows reach the byte budget, so only an absent cursor means the end.
const nextCursor = "Pass as cursor for the following page; absent after the last one. A page may hold fewer " +
	"rows than limit (when they reach the byte budget) and still have a following page: only an absent nextCursor ends the listing."

func paths(auth bool) obj {
	limit := queryParam("limit", "Most rows in a page. A page also ends early, with a nextCursor, once its rows "+
		"reach the host's byte budget (api.pageBytes, 4 MiB by default): a page of large rows holds fewer.", obj{"type": "integer", "minimum": 1, "maximum": store.MaxPageLimit, "default": 100})
	cursor := queryParam("cursor", "nextCursor of the previous page.", obj{"type": "string"})
	filter := func(name, description string) obj { return queryParam(name, description, obj{"type": "string"}) }
	timeFilter := func(name, description string) obj {
		return queryParam(name, description, obj{"type": "string", "format": "date-time"})
	}
	idParam := obj{"name": "id", "in": "path", "required": true, "description": "The call's id.",
		"schema": obj{"type": "integer", "format": "int64", "minimum": 1}}
	body := func(schema string) obj {
		return obj{"required": true, "content": obj{"application/json": obj{"schema": ref(schema)}}}
	}
	op := func(id, summary string, ok obj, errors ...string) obj {
		return operation(auth, id, summary, ok, errors...)
	}

	created := withRequestID(obj{
		"description": "The stored call.",
		"headers":     obj{"Location": headerRef("Location")},
		"content":     obj{"application/json": obj{"schema": ref("Call")}},
	})
	schedule := op("scheduleCall", "Schedule a call (callWithDelay, callAtTime)", obj{"201": created},
		"BadRequest", "NotFound", "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableEntity")
	schedule["requestBody"] = body("ScheduleRequest")

	batch := op("scheduleCalls", "Schedule several calls, all or none", obj{
		"201": jsonBody("The stored calls, in the order given.", ref("BatchResponse")),
	}, "BadRequest", "NotFound", "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableEntity")
	batch["requestBody"] = body("BatchRequest")

	list := op("listCalls", "List waiting and running calls, by run time", obj{
		"200": jsonBody("One page of calls.", ref("CallPage")),
	}, "BadRequest")
	list["parameters"] = []any{filter("plugin", "Only this plugin's calls."), filter("method", "Only calls of this method."),
		filter("identifier", "Only calls carrying this identifier."),
		timeFilter("dueBefore", "Only calls due before this time (exclusive)."),
		timeFilter("dueAfter", "Only calls due at or after this time."), limit, cursor}

	cancelIdentifier := op("cancelCallsByIdentifier", "Cancel every waiting call carrying an identifier (cancel(identifier))", obj{
		"200": jsonBody("How many calls were cancelled, and how many series were stopped.", ref("Cancelled")),
	}, "BadRequest")
	cancelIdentifier["parameters"] = []any{obj{"name": "identifier", "in": "query", "required": true,
		"description": "The identifier whose calls to cancel.", "schema": obj{"type": "string", "minLength": 1}}}

	get := op("getCall", "Get a waiting or running call", obj{"200": jsonBody("The call.", ref("Call"))}, "BadRequest", "NotFound")
	cancel := op("cancelCall", "Cancel a waiting call; for an occurrence of a recurring call, stop its whole series", obj{
		"200": jsonBody("Cancelled; for an occurrence of a series, the whole series is stopped (seriesStopped: 1).", ref("CancelledCall")),
	}, "BadRequest", "NotFound", "Conflict")

	history := op("listHistory", "List finished attempts and removed calls, newest first", obj{
		"200": jsonBody("One page of the history.", ref("HistoryPage")),
	}, "BadRequest")
	history["parameters"] = []any{
		queryParam("callId", "Only this call's entries.", obj{"type": "integer", "format": "int64", "minimum": 1}),
		queryParam("seriesId", "Only the occurrences of this series.", obj{"type": "integer", "format": "int64", "minimum": 1}),
		filter("plugin", "Only this plugin's entries."), filter("method", "Only entries of this method."),
		filter("identifier", "Only entries carrying this identifier."),
		queryParam("outcome", "Only entries with this outcome.", obj{"type": "string", "enum": abi.Outcomes()}),
		timeFilter("finishedBefore", "Only entries finished before this time (exclusive)."),
		timeFilter("finishedAfter", "Only entries finished at or after this time."), limit, cursor}

	stats := op("getStats", "Calls due soon and running now, and outcomes, lateness and failing methods of the last minutes", obj{
		"200": jsonBody("The overview.", ref("Stats")),
	}, "BadRequest")
	stats["parameters"] = []any{queryParam("minutes", "How many minutes of history to read, the current one included.",
		obj{"type": "integer", "minimum": 1, "maximum": MaxStatsMinutes, "default": DefaultStatsMinutes})}

	listPlugins := op("listPlugins", "List the loaded plugins with their signatures", obj{"200": jsonBody("The plugins.", ref("PluginList"))})
	getPlugin := op("getPlugin", "Get a loaded plugin with its signatures", obj{"200": jsonBody("The plugin.", ref("Plugin"))}, "NotFound")
	reload := op("reloadPlugins", "Reload the plugins directory now, as its watch and SIGHUP do, and say what changed", obj{
		"200": jsonBody("What changed.", ref("Reload")),
	}, "BadRequest", "NotFound")
	nameParam := obj{"name": "name", "in": "path", "required": true, "description": "The plugin's name.", "schema": obj{"type": "string"}}
	listState := op("listState", "List a plugin's state (the values its calls wrote with fc.state_put), by key", obj{
		"200": jsonBody("One page of the plugin's state.", ref("StatePage")),
	}, "BadRequest", "NotFound")
	listState["parameters"] = []any{limit, cursor}
	getState := op("getState", "Get one value of a plugin's state", obj{"200": jsonBody("The value.", ref("StateEntry"))},
		"BadRequest", "NotFound")
	keyParam := obj{"name": "key", "in": "path", "required": true,
		"description": "The key, percent-encoded as one path segment (a / in it as %2F).", "schema": obj{"type": "string", "minLength": 1}}

	probe := func(id, summary string, ok obj) obj {
		return obj{"operationId": id, "summary": summary, "responses": ok, "security": []any{}}
	}
	metrics := op("metrics", "Prometheus metrics", obj{
		"200": withRequestID(obj{"description": "The metrics in Prometheus text format.", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}),
	})
	openapi := op("openapi", "This document", obj{"200": jsonBody("The OpenAPI document.", obj{"type": "object"})})
	healthz := probe("healthz", "The process is up", obj{"200": jsonBody("Up.", ref("Readiness"))})
	readyz := probe("readyz", "The host can take calls: database reachable, plugins loaded", obj{
		"200": jsonBody("Ready.", ref("Readiness")), "503": jsonBody("Not ready, with the reasons.", ref("Readiness")),
	})

	items := map[string]struct {
		name string
		ops  obj
	}{
		"/v1/calls":                      {"Calls", obj{"post": schedule, "get": list, "delete": cancelIdentifier}},
		"/v1/calls/batch":                {"Batch", obj{"post": batch}},
		"/v1/calls/{id}":                 {"Call", obj{"parameters": []any{idParam}, "get": get, "delete": cancel}},
		"/v1/history":                    {"History", obj{"get": history}},
		"/v1/stats":                      {"Stats", obj{"get": stats}},
		"/v1/plugins":                    {"Plugins", obj{"get": listPlugins}},
		"/v1/plugins/{name}":             {"Plugin", obj{"parameters": []any{nameParam}, "get": getPlugin}},
		"/v1/plugins/reload":             {"Reload", obj{"post": reload}},
		"/v1/plugins/{name}/state":       {"State", obj{"parameters": []any{nameParam}, "get": listState}},
		"/v1/plugins/{name}/state/{key}": {"StateValue", obj{"parameters": []any{nameParam, keyParam}, "get": getState}},
		"/healthz":                       {"Healthz", obj{"get": healthz}},
		"/readyz":                        {"Readyz", obj{"get": readyz}},
		"/metrics":                       {"Metrics", obj{"get": metrics}},
		"/openapi.json":                  {"OpenAPI", obj{"get": openapi}},
	}
	for path, item := range messagePaths(auth, body) {
		items[path] = item
	}
	out := obj{}
	for path, item := range items {
		if get, ok := item.ops["get"].(obj); ok {
			item.ops["head"] = headOf(get)
		}
		item.ops["options"] = optionsOf(auth, path, "options"+item.name)
		out[path] = item.ops
	}
	return out
}
