/*
 * futurecalls.h: write futurecalls plugins in C (guest ABI v1, see abi/README.md).
 *
 * Build with clang for wasm32-wasi as a reactor, together with futurecalls.c:
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -I sdk/c \
 *       -o plugins/my_plugin.wasm my_plugin.c sdk/c/futurecalls.c
 *
 * futurecalls.c implements the exports the host calls (fc_alloc, fc_manifest, fc_invoke).
 * A plugin defines two things, fc_plugin_manifest and fc_plugin_methods, and writes its
 * handlers with the helpers below. Memory a helper returns belongs to the current call:
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

/* fc_method binds a method name of the manifest to its handler. */
typedef struct {
	const char *name;
	fc_handler run;
} fc_method;

/* The plugin's manifest, a JSON document (FC_JSON writes one without escapes). */
extern const char fc_plugin_manifest[];

/* The plugin's methods, ended by {NULL, NULL}. */
extern const fc_method fc_plugin_methods[];

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
 * written, so a name spelt with escapes ("\u0061") does not match.
 */

/* fc_json_get returns the member name of an object, or a missing value. */
fc_json fc_json_get(fc_json object, const char *name);

/*
 * fc_json_string decodes a JSON string (escapes, \u sequences and surrogate pairs) into
 * NUL-terminated UTF-8 in call memory, or returns NULL when v is not a string. A string
 * containing \u0000 ends there.
 */
const char *fc_json_string(fc_json v);

/* fc_json_int reads an integer (1, -7, and 3.0, which JSON Schema counts as one). */
bool fc_json_int(fc_json v, int64_t *out);

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
 * fc_last_error returns why the last fc_schedule or fc_cancel of this call was refused.
 * It never returns NULL, so a handler can return it as its error message.
 */
const char *fc_last_error(void);

#endif
