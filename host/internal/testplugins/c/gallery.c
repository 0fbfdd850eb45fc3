/*
 * gallery: a subscriber written in C with sdk/c. archive(imageId, path, size?) is
 * subscribed to the topic "image.uploaded" and logs "archive <imageId> <path>";
 * announce(imageId) publishes {"imageId": imageId, "path": "gallery/<imageId>.png"} to
 * "image.uploaded" with fc_publish and logs how many deliveries it made, or fails with
 * the host's reason.
 */
#include "futurecalls.h"

static const char *archive(const fc_call *call) {
	int64_t id;
	if (!fc_json_int(fc_json_get(call->args, "imageId"), &id)) {
		return "archive: imageId is not an integer";
	}
	fc_log(FC_INFO, "archive %lld %s", (long long)id, fc_json_string(fc_json_get(call->args, "path")));
	return NULL;
}

static const char *announce(const fc_call *call) {
	int64_t id;
	if (!fc_json_int(fc_json_get(call->args, "imageId"), &id)) {
		return "announce: imageId is not an integer";
	}
	int64_t n = fc_publish(fc_format(FC_JSON({"topic": "image.uploaded",
		"payload": {"imageId": %lld, "path": "gallery/%lld.png"}, "identifier": "gallery-%lld"}),
		(long long)id, (long long)id, (long long)id));
	if (n < 0) {
		return fc_last_error();
	}
	fc_log(FC_INFO, "announced to %lld", (long long)n);
	return NULL;
}

const fc_plugin fc_plugin_definition = {
	.name = "gallery",
	.version = "1",
	.description = "test plugin: a subscriber and publisher in C",
	.methods = FC_METHODS(
		{"archive", archive, "Archives an uploaded image.",
		 FC_PARAMS(FC_PARAM("imageId", FC_JSON({"type": "integer"})), FC_PARAM("path", FC_JSON({"type": "string"})),
			FC_OPTIONAL("size", FC_JSON({"type": "integer"})))},
		{"announce", announce, "Publishes an upload of an image.",
		 FC_PARAMS(FC_PARAM("imageId", FC_JSON({"type": "integer"})))}),
	.subscriptions = FC_SUBSCRIPTIONS({"image.uploaded", "archive"}),
};
