/*
 * example_c: Serverpod's example future calls, written in C with sdk/c, and kinds(),
 * which reads a value of every JSON kind, logs what it read (the conformance test
 * compares the line with every language's) and schedules itself again an hour later with
 * the values it read.
 */
#include "futurecalls.h"

static const char *do_work(const fc_call *call) {
	(void)call;
	fc_log(FC_INFO, "doWork called");
	return NULL;
}

static const char *do_other_work(const fc_call *call) {
	const char *data = fc_json_string(fc_json_get(call->args, "data"));
	fc_log(FC_INFO, "doOtherWork called with data: %s", data);
	return NULL;
}

/* kinds reads a string, an integer, a float, a boolean, an array, a record and an optional. */
static const char *kinds(const fc_call *call) {
	fc_json args = call->args;
	const char *text = fc_json_string(fc_json_get(args, "text"));
	int64_t count, x, y;
	double ratio;
	bool flag;
	fc_json point = fc_json_get(args, "point");
	if (text == NULL || !fc_json_int(fc_json_get(args, "count"), &count) ||
	    !fc_json_float(fc_json_get(args, "ratio"), &ratio) || !fc_json_bool(fc_json_get(args, "flag"), &flag) ||
	    !fc_json_int(fc_json_get(point, "x"), &x) || !fc_json_int(fc_json_get(point, "y"), &y)) {
		return "kinds: an argument does not fit its type";
	}
	size_t n;
	const fc_json *items = fc_json_items(fc_json_get(args, "tags"), &n);
	const char *tags = "", *tags_json = "";
	for (size_t i = 0; i < n; i++) {
		const char *tag = fc_json_string(items[i]);
		tags = fc_format("%s%s%s", tags, i > 0 ? "," : "", tag);
		tags_json = fc_format("%s%s%s", tags_json, i > 0 ? "," : "", fc_json_quote(tag));
	}
	/* An optional parameter left out reads as missing. */
	const char *note = fc_json_string(fc_json_get(args, "note"));
	fc_log(FC_INFO, "kinds: text=%s count=%lld ratio=%g flag=%s tags=[%s] point={x:%lld y:%lld} note=%s",
	       text, (long long)count, ratio, flag ? "true" : "false", tags, (long long)x, (long long)y,
	       note != NULL ? note : "none");

	/* The same values written back, as a follow-up call: %.17g keeps every double exact. */
	const char *request = fc_format(FC_JSON({"method": "kinds", "delay": "1h", "args": {"text": %s,
		"count": %lld, "ratio": %.17g, "flag": %s, "tags": [%s], "point": {"x": %lld, "y": %lld}%s}}),
		fc_json_quote(text), (long long)count, ratio, flag ? "true" : "false", tags_json, (long long)x,
		(long long)y, note != NULL ? fc_format(", \"note\": %s", fc_json_quote(note)) : "");
	return fc_schedule(request) < 0 ? fc_last_error() : NULL;
}

const fc_plugin fc_plugin_definition = {
	.name = "example_c",
	.version = "1.0.0",
	.description = "Serverpod's example future calls, in C",
	.methods = FC_METHODS(
		{"doWork", do_work, "Does some work.", NULL},
		{"doOtherWork", do_other_work, "Does other work with the given data.",
		 FC_PARAMS(FC_PARAM("data", FC_JSON({"type": "string"})))},
		{"kinds", kinds, "Reads a value of every JSON kind, logs it, and calls itself again in an hour with it.",
		 FC_PARAMS(
			FC_PARAM("text", FC_JSON({"type": "string"})),
			FC_PARAM("count", FC_JSON({"type": "integer"})),
			FC_PARAM("ratio", FC_JSON({"type": "number"})),
			FC_PARAM("flag", FC_JSON({"type": "boolean"})),
			FC_PARAM("tags", FC_JSON({"type": "array", "items": {"type": "string"}})),
			FC_PARAM("point", FC_JSON({"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
				"required": ["x", "y"], "additionalProperties": false})),
			FC_OPTIONAL("note", FC_JSON({"type": "string"})))}),
};
