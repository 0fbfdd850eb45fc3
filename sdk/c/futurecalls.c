/* futurecalls.c: the guest ABI v1 exports and the helpers of futurecalls.h. */
#include "futurecalls.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Host imports --------------------------------------------------------------------- */

__attribute__((import_module("fc"), import_name("log"))) void
fc_host_log(int32_t level, const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("schedule"))) int64_t
fc_host_schedule(const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("cancel"))) int64_t
fc_host_cancel(const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("last_error"))) size_t
fc_host_last_error(char *ptr, size_t cap);
__attribute__((import_module("fc"), import_name("result"))) size_t
fc_host_result(char *ptr, size_t cap);
__attribute__((import_module("fc"), import_name("http"))) int64_t
fc_host_http(const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("config"))) int64_t
fc_host_config(const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("state_get"))) int64_t
fc_host_state_get(const char *ptr, size_t len);
__attribute__((import_module("fc"), import_name("state_put"))) int64_t
fc_host_state_put(const char *kptr, size_t klen, const void *vptr, size_t vlen);
__attribute__((import_module("fc"), import_name("state_delete"))) int64_t
fc_host_state_delete(const char *ptr, size_t len);

/* ---- Call memory ---------------------------------------------------------------------- */

/*
 * The arena is a list of malloc'd blocks, freed together when the host starts the next
 * call (fc_alloc is its first export). Freeing at the start of the next call, rather than
 * at the end of this one, keeps the error message fc_invoke returns alive for the host.
 */
struct block {
	struct block *next;
	max_align_t data[];
};

static struct block *arena;

void *fc_arena_alloc(size_t n) {
	if (n > SIZE_MAX - sizeof(struct block)) {
		return NULL;
	}
	struct block *b = malloc(sizeof(struct block) + n);
	if (b == NULL) {
		return NULL;
	}
	b->next = arena;
	arena = b;
	return b->data;
}

static void *must_alloc(size_t n) {
	void *p = fc_arena_alloc(n);
	if (p == NULL) {
		__builtin_trap(); /* out of memory: trapping fails the call */
	}
	return p;
}

static char *vformat(const char *format, va_list args) {
	va_list again;
	va_copy(again, args);
	int n = vsnprintf(NULL, 0, format, args);
	if (n < 0) {
		n = 0;
	}
	char *s = must_alloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, format, again);
	va_end(again);
	return s;
}

char *fc_format(const char *format, ...) {
	va_list args;
	va_start(args, format);
	char *s = vformat(format, args);
	va_end(args);
	return s;
}

/* ---- Exports -------------------------------------------------------------------------- */

static uint64_t pack(const char *ptr, size_t len) {
	return (uint64_t)(uintptr_t)ptr << 32 | (uint64_t)len;
}

__attribute__((export_name("fc_alloc"))) void *fc_alloc(size_t size) {
	while (arena != NULL) {
		struct block *next = arena->next;
		free(arena);
		arena = next;
	}
	return fc_arena_alloc(size);
}

/* text is a string that grows by appending, in malloc'd memory that it never frees. */
struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *s) {
	size_t n = strlen(s);
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap == 0 ? 256 : t->cap;
		while (t->len + n + 1 > cap) {
			cap *= 2;
		}
		char *grown = realloc(t->s, cap);
		if (grown == NULL) {
			__builtin_trap(); /* out of memory */
		}
		t->s = grown;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

/* put_member appends , "name": "value" (value quoted) unless value is NULL. */
static void put_member(struct text *t, const char *name, const char *value) {
	if (value != NULL) {
		put(t, ", \"");
		put(t, name);
		put(t, "\": ");
		put(t, fc_json_quote(value));
	}
}

/*
 * fc_manifest writes the manifest from fc_plugin_definition, once: it must stay valid
 * after the call (the ABI), and the definition never changes.
 */
__attribute__((export_name("fc_manifest"))) uint64_t fc_manifest(void) {
	static struct text manifest;
	if (manifest.len == 0) {
		const fc_plugin *p = &fc_plugin_definition;
		put(&manifest, "{\"abi\": 1, \"name\": ");
		put(&manifest, fc_json_quote(p->name));
		put_member(&manifest, "version", p->version);
		put_member(&manifest, "description", p->description);
		if (p->retry != NULL) {
			put(&manifest, ", \"retry\": ");
			put(&manifest, p->retry);
		}
		put(&manifest, ", \"calls\": [");
		for (const fc_method *m = p->methods; m != NULL && m->name != NULL; m++) {
			put(&manifest, m == p->methods ? "\n{\"name\": " : ",\n{\"name\": ");
			put(&manifest, fc_json_quote(m->name));
			put_member(&manifest, "description", m->description);
			put(&manifest, ", \"params\": [");
			for (const fc_param *prm = m->params; prm != NULL && prm->name != NULL; prm++) {
				put(&manifest, prm == m->params ? "\n  {\"name\": " : ",\n  {\"name\": ");
				put(&manifest, fc_json_quote(prm->name));
				put_member(&manifest, "description", prm->description);
				put(&manifest, ", \"schema\": ");
				put(&manifest, prm->schema);
				put(&manifest, prm->optional ? ", \"optional\": true}" : "}");
			}
			put(&manifest, "]}");
		}
		put(&manifest, "]}");
	}
	return pack(manifest.s, manifest.len);
}

static uint64_t fail(const char *message) {
	return pack(message, strlen(message));
}

__attribute__((export_name("fc_invoke"))) uint64_t fc_invoke(const char *ptr, size_t len) {
	fc_json envelope = {ptr, len};
	const char *method = fc_json_string(fc_json_get(envelope, "method"));
	if (method == NULL) {
		return fail("the envelope names no method");
	}
	fc_call call = {fc_json_get(envelope, "args"), fc_json_get(envelope, "call")};
	for (const fc_method *m = fc_plugin_definition.methods; m != NULL && m->name != NULL; m++) {
		if (strcmp(m->name, method) == 0) {
			const char *err = m->run(&call);
			return err == NULL ? 0 : fail(err);
		}
	}
	return fail(fc_format("unknown method %s", method));
}

/* ---- JSON ----------------------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end) {
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
	}
	return p;
}

/* skip_string skips the string starting at the quote at p. */
static const char *skip_string(const char *p, const char *end) {
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return end;
}

/* skip_value skips a string, an object or array (by its brackets), or a scalar. */
static const char *skip_value(const char *p, const char *end) {
	if (p < end && *p == '"') {
		return skip_string(p, end);
	}
	if (p < end && (*p == '{' || *p == '[')) {
		int depth = 0;
		while (p < end) {
			if (*p == '"') {
				p = skip_string(p, end);
				continue;
			}
			if (*p == '{' || *p == '[') {
				depth++;
			} else if (*p == '}' || *p == ']') {
				depth--;
			}
			p++;
			if (depth == 0) {
				break;
			}
		}
		return p;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && (unsigned char)*p > ' ') {
		p++;
	}
	return p;
}

static const fc_json missing = {NULL, 0};

fc_json fc_json_get(fc_json object, const char *name) {
	if (object.ptr == NULL) {
		return missing;
	}
	const char *end = object.ptr + object.len;
	const char *p = skip_ws(object.ptr, end);
	if (p == end || *p != '{') {
		return missing;
	}
	size_t name_len = strlen(name);
	for (p = skip_ws(p + 1, end); p < end && *p == '"';) {
		const char *key = p + 1;
		p = skip_string(p, end);
		bool match = (size_t)(p - 1 - key) == name_len && memcmp(key, name, name_len) == 0;
		p = skip_ws(p, end);
		if (p == end || *p != ':') {
			break;
		}
		const char *value = skip_ws(p + 1, end);
		p = skip_value(value, end);
		if (match) {
			return (fc_json){value, (size_t)(p - value)};
		}
		p = skip_ws(p, end);
		if (p == end || *p != ',') {
			break;
		}
		p = skip_ws(p + 1, end);
	}
	return missing;
}

fc_json_kind fc_json_kind_of(fc_json v) {
	if (v.ptr == NULL || v.len == 0) {
		return FC_JSON_MISSING;
	}
	switch (v.ptr[0]) {
	case 'n': return FC_JSON_NULL;
	case 't': case 'f': return FC_JSON_BOOL;
	case '"': return FC_JSON_STRING;
	case '[': return FC_JSON_ARRAY;
	case '{': return FC_JSON_OBJECT;
	default: return FC_JSON_NUMBER;
	}
}

const fc_json *fc_json_items(fc_json v, size_t *n) {
	*n = 0;
	if (fc_json_kind_of(v) != FC_JSON_ARRAY) {
		return NULL;
	}
	const char *end = v.ptr + v.len;
	/* Counting commas outside nested values first sizes the result exactly. */
	size_t count = 0;
	for (const char *p = skip_ws(v.ptr + 1, end); p < end && *p != ']';) {
		p = skip_ws(skip_value(p, end), end);
		count++;
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
		} else {
			break;
		}
	}
	fc_json *items = must_alloc(count * sizeof(fc_json) + 1);
	const char *p = skip_ws(v.ptr + 1, end);
	for (size_t i = 0; i < count; i++) {
		const char *item = p;
		p = skip_value(p, end);
		items[i] = (fc_json){item, (size_t)(p - item)};
		p = skip_ws(p, end);
		p = skip_ws(p + 1, end); /* the comma */
	}
	*n = count;
	return items;
}

bool fc_json_bool(fc_json v, bool *out) {
	if (v.ptr == NULL) {
		return false;
	}
	if (v.len == 4 && memcmp(v.ptr, "true", 4) == 0) {
		*out = true;
		return true;
	}
	if (v.len == 5 && memcmp(v.ptr, "false", 5) == 0) {
		*out = false;
		return true;
	}
	return false;
}

bool fc_json_float(fc_json v, double *out) {
	if (fc_json_kind_of(v) != FC_JSON_NUMBER) {
		return false;
	}
	/* strtod wants a NUL-terminated string: the value is a span of the envelope. */
	char *text = must_alloc(v.len + 1);
	memcpy(text, v.ptr, v.len);
	text[v.len] = '\0';
	char *rest;
	errno = 0;
	double d = strtod(text, &rest);
	if (rest != text + v.len || (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))) {
		return false;
	}
	*out = d;
	return true;
}

static int hex_digit(char c) {
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c |= 0x20; /* lower case */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* hex4 reads the four hex digits of a \u escape, or returns -1. */
static int hex4(const char *p, const char *end) {
	if (end - p < 4) {
		return -1;
	}
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0) {
			return -1;
		}
		v = v << 4 | d;
	}
	return v;
}

static char *put_utf8(char *out, uint32_t c) {
	if (c < 0x80) {
		*out++ = (char)c;
	} else if (c < 0x800) {
		*out++ = (char)(0xc0 | c >> 6);
		*out++ = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		*out++ = (char)(0xe0 | c >> 12);
		*out++ = (char)(0x80 | (c >> 6 & 0x3f));
		*out++ = (char)(0x80 | (c & 0x3f));
	} else {
		*out++ = (char)(0xf0 | c >> 18);
		*out++ = (char)(0x80 | (c >> 12 & 0x3f));
		*out++ = (char)(0x80 | (c >> 6 & 0x3f));
		*out++ = (char)(0x80 | (c & 0x3f));
	}
	return out;
}

const char *fc_json_string(fc_json v) {
	if (v.ptr == NULL || v.len < 2 || v.ptr[0] != '"') {
		return NULL;
	}
	const char *p = v.ptr + 1, *end = v.ptr + v.len - 1; /* between the quotes */
	/* Decoding never makes a string longer: "\u00e9" (6 bytes) is é (2 bytes). */
	char *s = must_alloc(v.len), *out = s;
	while (p < end) {
		if (*p != '\\') {
			*out++ = *p++;
			continue;
		}
		p++;
		if (p == end) {
			break;
		}
		char c = *p++;
		switch (c) {
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'u': {
			int u = hex4(p, end);
			if (u < 0) {
				return NULL;
			}
			p += 4;
			uint32_t code = (uint32_t)u;
			if (code >= 0xd800 && code < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				int low = hex4(p + 2, end);
				if (low >= 0xdc00 && low < 0xe000) {
					code = 0x10000 + ((code - 0xd800) << 10) + ((uint32_t)low - 0xdc00);
					p += 6;
				}
			}
			out = put_utf8(out, code);
			break;
		}
		default: *out++ = c; /* \" \\ \/ */
		}
	}
	*out = '\0';
	return s;
}

bool fc_json_int(fc_json v, int64_t *out) {
	if (v.ptr == NULL) {
		return false;
	}
	const char *p = v.ptr, *end = v.ptr + v.len;
	bool negative = p < end && *p == '-';
	if (negative) {
		p++;
	}
	if (p == end) {
		return false;
	}
	uint64_t n = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (n > (limit - d) / 10) {
			return false;
		}
		n = n * 10 + d;
	}
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
		/* 3.0 or 1e2: whole numbers written as floats, read exactly up to 2^53. */
		double d;
		if (!fc_json_float(v, &d) || d != trunc(d) || fabs(d) > 9007199254740992.0) {
			return false;
		}
		*out = (int64_t)d;
		return true;
	}
	if (p != end) {
		return false;
	}
	*out = negative ? (int64_t)(0 - n) : (int64_t)n;
	return true;
}

const char *fc_json_quote(const char *s) {
	size_t n = strlen(s);
	char *q = must_alloc(6 * n + 3), *out = q; /* at worst every byte becomes \u00XX */
	*out++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			*out++ = '\\';
			*out++ = (char)c;
		} else if (c < 0x20) {
			out += sprintf(out, "\\u%04x", c);
		} else {
			*out++ = (char)c;
		}
	}
	*out++ = '"';
	*out = '\0';
	return q;
}

/* ---- Host functions ------------------------------------------------------------------- */

void fc_log(int level, const char *format, ...) {
	va_list args;
	va_start(args, format);
	char *line = vformat(format, args);
	va_end(args);
	fc_host_log(level, line, strlen(line));
}

int64_t fc_schedule(const char *request) {
	return fc_host_schedule(request, strlen(request));
}

int64_t fc_cancel(const char *identifier) {
	return fc_host_cancel(identifier, strlen(identifier));
}

const char *fc_last_error(void) {
	size_t n = fc_host_last_error(NULL, 0);
	if (n == 0) {
		return "the host refused the request";
	}
	char *s = must_alloc(n + 1);
	fc_host_last_error(s, n);
	s[n] = '\0';
	return s;
}

/*
 * produced copies the document of length n (what a host function returned) into call
 * memory, NUL-terminated, and points *out at it; a negative n is passed through.
 */
static int64_t produced(int64_t n, const char **out) {
	if (n < 0) {
		return n;
	}
	char *doc = must_alloc((size_t)n + 1);
	fc_host_result(doc, (size_t)n);
	doc[n] = '\0';
	if (out != NULL) {
		*out = doc;
	}
	return n;
}

int64_t fc_http(const char *request, fc_json *response) {
	const char *doc = NULL;
	int64_t n = produced(fc_host_http(request, strlen(request)), &doc);
	if (n >= 0 && response != NULL) {
		*response = (fc_json){doc, (size_t)n};
	}
	return n;
}

int64_t fc_config(const char *key, const char **value) {
	return produced(fc_host_config(key, strlen(key)), value);
}

int64_t fc_state_get(const char *key, const char **value) {
	return produced(fc_host_state_get(key, strlen(key)), value);
}

int64_t fc_state_put(const char *key, const void *value, size_t len) {
	return fc_host_state_put(key, strlen(key), value, len);
}

int64_t fc_state_delete(const char *key) {
	return fc_host_state_delete(key, strlen(key));
}
