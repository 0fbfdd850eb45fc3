/* benchc: the benchmarks' C plugin. noop() does nothing, so a drain of noop calls
 * measures what the host costs per call; sleep(ms) holds a call in flight (a WASI
 * sleep, which the host serves with a real timer) for the footprint scenario. */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include <time.h>

#include "futurecalls.h"

static const char *noop(const fc_call *call) {
	(void)call;
	return NULL;
}

static const char *sleep_ms(const fc_call *call) {
	int64_t ms = 0;
	if (!fc_json_int(fc_json_get(call->args, "ms"), &ms)) {
		return "ms must be an integer";
	}
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&t, NULL);
	return NULL;
}

const fc_plugin fc_plugin_definition = {
	.name = "benchc",
	.version = "1.0.0",
	.description = "benchmark plugin in C: a no-op and a sleep",
	.methods = FC_METHODS(
		{"noop", noop, "Does nothing.", NULL},
		{"sleep", sleep_ms, "Sleeps ms milliseconds.",
		 FC_PARAMS(FC_PARAM("ms", FC_JSON({"type": "integer", "minimum": 0})))}),
};
