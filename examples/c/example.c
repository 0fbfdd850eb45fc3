/* example_c: Serverpod's example future calls, written in C with sdk/c. */
#include "futurecalls.h"

const char fc_plugin_manifest[] = FC_JSON({
	"abi": 1,
	"name": "example_c",
	"version": "1.0.0",
	"description": "Serverpod's example future calls, in C",
	"calls": [
		{"name": "doWork", "description": "Does some work.", "params": []},
		{"name": "doOtherWork", "description": "Does other work with the given data.",
		 "params": [{"name": "data", "schema": {"type": "string"}}]}
	]
});

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

const fc_method fc_plugin_methods[] = {
	{"doWork", do_work},
	{"doOtherWork", do_other_work},
	{NULL, NULL},
};
