/*
 * futurecalls.h: write futurecalls plugins in C (guest ABI v1, see abi/README.md).
 *
 * Build with clang for wasm32-wasi as a reactor, together with futurecalls.c:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -I sdk/c \
 *       -o plugins/my_plugin.wasm my_plugin.c sdk/c/futurecalls.c
 *
 * futurecalls.c implements the exports the host calls (fc_alloc, fc_manifest, fc_invoke).
 * A plugin defines one thing, fc_plugin_definition (its name, methods and their
 * parameters; the SDK writes the manifest from it), and writes its handlers with the
 * helpers below. Memory a helper returns belongs to the current call:
 * it is freed when the host starts the next call, so handlers need not free anything.
 */
#ifndef FUTURECALLS_H
#define FUTURECALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- What a plugin defines ------------------------------------------------------------ */

/*
 * fc_json is a JSON value: the span of its text in the envelope, never copied. A missing
 * value has ptr == NULL; every reader below accepts one and returns "missing" in turn, so
 * lookups chain: fc_json_get(fc_json_get(call->args, "signup"), "email").
 */
typedef struct {
	const char *ptr;
	size_t len;
} fc_json;

/* fc_call is the call being run. */
typedef struct {
	fc_json args; /* the arguments object; the host checked them against the manifest */
	fc_json info; /* the envelope's "call" object: id, plugin, scheduledAt, identifier, attempt, ... */
} fc_call;

/* fc_handler runs one method. It returns NULL on success, or the error message. */
typedef const char *(*fc_handler)(const fc_call *call);

/*
 * fc_param is a parameter of a method: its name, its JSON Schema (JSON text, FC_JSON
 * writes it), whether a call may leave it out, and an optional description.
 */
typedef struct {
	const char *name;
	const char *schema;
	bool optional;
	const char *description;
} fc_param;

/*
 * fc_method is a method of the plugin: its name, its handler, a description (or NULL),
 * and its parameters (FC_PARAMS(...), or NULL for none).
 */
typedef struct {
	const char *name;
	fc_handler run;
	const char *description;
	const fc_param *params;
} fc_method;

/*
 * fc_plugin is what a plugin defines, once, as fc_plugin_definition: its name, version,
 * description and methods (FC_METHODS(...)), and optionally the default retry policy of
 * its calls as a JSON object (FC_JSON({"maxAttempts": 3, "backoff": "2s"}); NULL for
 * none: the ABI's *Retries*). The SDK writes the manifest from it and dispatches calls
 * by it, so a method's name is written once and the manifest cannot disagree with the
 * handlers.
 */
typedef struct {
	const char *name;
	const char *version;
	const char *description;
	const fc_method *methods;
	const char *retry;
} fc_plugin;

/* The plugin's definition, which the plugin's own code provides. */
extern const fc_plugin fc_plugin_definition;

/* FC_METHODS(...) is a list of fc_method, ended for the SDK. */
#define FC_METHODS(...) ((const fc_method[]){__VA_ARGS__, {NULL, NULL, NULL, NULL}})

/* FC_PARAMS(...) is a list of fc_param (FC_PARAM, FC_OPTIONAL), ended for the SDK. */
#define FC_PARAMS(...) ((const fc_param[]){__VA_ARGS__, {NULL, NULL, false, NULL}})

/* FC_PARAM is a required parameter, FC_OPTIONAL one that a call may leave out. */
#define FC_PARAM(name, schema) {(name), (schema), false, NULL}
#define FC_OPTIONAL(name, schema) {(name), (schema), true, NULL}

/*
 * FC_JSON turns JSON written as C tokens into a string literal, quotes escaped:
 * FC_JSON({"type": "string"}) is "{\"type\": \"string\"}". The preprocessor turns every
 * run of white space between tokens into one space. printf conversions written outside
 * JSON strings (%s, %lld) survive, so it also writes format strings for fc_format.
 */
#define FC_JSON(...) #__VA_ARGS__

/* ---- Call memory and strings ---------------------------------------------------------- */

/* fc_arena_alloc returns n bytes that live until the next call, or NULL. */
void *fc_arena_alloc(size_t n);

/* fc_format is snprintf into call memory. */
char *fc_format(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* ---- A minimal JSON reader and writer ------------------------------------------------- */
/*
 * Minimal on purpose: it reads what the host sends, which is well-formed JSON checked
 * against the manifest, and does not validate it again. Member names are compared as
 * written, so a name spelt with escapes ("\u0061") does not match. Every reader takes a
 * missing value, and reports it as missing or returns false.
 */

/* fc_json_kind is what kind of value an fc_json holds. */
typedef enum {
	FC_JSON_MISSING, /* not there: an optional member left out, or a failed lookup */
	FC_JSON_NULL,
	FC_JSON_BOOL,
	FC_JSON_NUMBER,
	FC_JSON_STRING,
	FC_JSON_ARRAY,
	FC_JSON_OBJECT,
} fc_json_kind;

/* fc_json_kind_of tells what kind of value v is. */
fc_json_kind fc_json_kind_of(fc_json v);

/* fc_json_get returns the member name of an object, or a missing value. */
fc_json fc_json_get(fc_json object, const char *name);

/*
 * fc_json_items returns the items of an array, in call memory, and stores how many in
 * *n; it returns NULL (and *n = 0) when v is not an array.
 */
const fc_json *fc_json_items(fc_json v, size_t *n);

/*
 * fc_json_string decodes a JSON string (escapes, \u sequences and surrogate pairs) into
 * NUL-terminated UTF-8 in call memory, or returns NULL when v is not a string. A string
 * containing \u0000 ends there.
 */
const char *fc_json_string(fc_json v);

/*
 * fc_json_int reads an integer (1, -7, and 3.0, which JSON Schema counts as one) into
 * *out. It returns false, leaving *out alone, when v is missing, not an integer, or
 * beyond int64_t (2^100 is an integer to JSON Schema): fail the call then.
 */
bool fc_json_int(fc_json v, int64_t *out);

/*
 * fc_json_float reads a number (1, -0.5, 6.02e23) into *out. It returns false, leaving
 * *out alone, when v is missing, not a number, or beyond the range of a double.
 */
bool fc_json_float(fc_json v, double *out);

/*
 * fc_json_bool reads true or false into *out. It returns false, leaving *out alone, when
 * v is missing or not a boolean.
 */
bool fc_json_bool(fc_json v, bool *out);

/* fc_json_quote returns s as a JSON string, quotes and escapes included, in call memory. */
const char *fc_json_quote(const char *s);

/* ---- Host functions ------------------------------------------------------------------- */

enum { FC_DEBUG = 0, FC_INFO = 1, FC_WARN = 2, FC_ERROR = 3 };

/* fc_log formats a line like printf and writes it to the host's log at level. */
void fc_log(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/*
 * fc_schedule asks for a follow-up call, request being the JSON of POST /v1/calls
 * ({"method": ..., "args": ..., "delay": "3d", "identifier": ...}; the plugin defaults
 * to this one). It is committed only if the current call succeeds. It returns 0, or a
 * negative number when refused: fc_last_error says why.
 */
int64_t fc_schedule(const char *request);

/*
 * fc_cancel cancels, when the current call succeeds, the calls carrying identifier. It
 * returns how many carry it now, or a negative number when refused (see fc_last_error).
 */
int64_t fc_cancel(const char *identifier);

/*
 * fc_last_error returns why the last request of this call (any function here that
 * returned a negative number) was refused. It never returns NULL, so a handler can
 * return it as its error message.
 */
const char *fc_last_error(void);

/* ---- Capabilities, as the operator grants them (abi/README.md) ------------------------ */

/* The return codes of abi/README.md beyond fc_schedule's -1 (invalid), -2 (limit), -3 (host error). */
enum { FC_NOT_FOUND = -4, FC_DENIED = -5 };

/*
 * fc_http makes an outbound HTTP request. request is the JSON of abi/README.md, http
 * ({"method": "POST", "url": ..., "headers": {...}, "body": ...}). It returns the length
 * of the response document and sets *response to it, in call memory, for the fc_json
 * readers: fc_json_get(*response, "status"), "headers", "body" (or "bodyBase64"). Or it
 * returns a negative code: FC_DENIED when the operator's grant does not allow the URL,
 * with the reason in fc_last_error.
 */
int64_t fc_http(const char *request, fc_json *response);

/*
 * fc_config reads the operator's configuration value for key (secrets included) and
 * points *value at it, NUL-terminated; it returns its length, or FC_NOT_FOUND.
 */
int64_t fc_config(const char *key, const char **value);

/*
 * fc_state_get reads the plugin's value under key (committed, plus this call's own
 * writes) and points *value at it, NUL-terminated (values are bytes: use the length it
 * returns); or returns FC_NOT_FOUND. A call whose read keys change before it succeeds
 * fails with a state conflict and is retried by its policy.
 */
int64_t fc_state_get(const char *key, const char **value);

/* fc_state_put sets the plugin's value under key, committed only if the call succeeds; 0 or a negative code. */
int64_t fc_state_put(const char *key, const void *value, size_t len);

/* fc_state_delete deletes the plugin's value under key, if the call succeeds; 0 or a negative code. */
int64_t fc_state_delete(const char *key);

#endif
