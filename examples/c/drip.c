/*
 * drip_c: a drip campaign on a record parameter, written in C with sdk/c.
 *
 * welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
 * "drip-user-<userId>") and schedules followUp(signup) three days later under that
 * identifier, so signing up twice restarts the drip. followUp(signup) logs it, and
 * unsubscribe(userId) cancels the user's pending drip.
 */
#include "futurecalls.h"

/* SIGNUP is the JSON Schema of the record parameter signup. */
#define SIGNUP FC_JSON({"type": "object", \
	"properties": {"userId": {"type": "integer"}, "email": {"type": "string"}, \
		"plan": {"type": "string", "enum": ["free", "pro"]}}, \
	"required": ["userId", "email", "plan"], "additionalProperties": false})

/* signup is the record parameter, read from the call's arguments. */
struct signup {
	int64_t user_id;
	const char *email;
	const char *plan;
};

static const char *read_signup(const fc_call *call, struct signup *s) {
	fc_json v = fc_json_get(call->args, "signup");
	s->email = fc_json_string(fc_json_get(v, "email"));
	s->plan = fc_json_string(fc_json_get(v, "plan"));
	if (!fc_json_int(fc_json_get(v, "userId"), &s->user_id) || s->email == NULL || s->plan == NULL) {
		return "signup is not a {userId, email, plan} record";
	}
	return NULL;
}

static const char *welcome(const fc_call *call) {
	struct signup s;
	const char *err = read_signup(call, &s);
	if (err != NULL) {
		return err;
	}
	const char *note = fc_json_string(fc_json_get(call->args, "note"));
	if (note != NULL) {
		fc_log(FC_INFO, "welcome %s (plan %s): %s", s.email, s.plan, note);
	} else {
		fc_log(FC_INFO, "welcome %s (plan %s)", s.email, s.plan);
	}

	const char *id = fc_format("drip-user-%lld", (long long)s.user_id);
	if (fc_cancel(id) < 0) {
		return fc_last_error();
	}
	const char *request = fc_format(FC_JSON({"method": "followUp",
		"args": {"signup": {"userId": %lld, "email": %s, "plan": %s}},
		"delay": "3d", "identifier": "%s"}),
		(long long)s.user_id, fc_json_quote(s.email), fc_json_quote(s.plan), id);
	if (fc_schedule(request) < 0) {
		return fc_last_error();
	}
	return NULL;
}

static const char *follow_up(const fc_call *call) {
	struct signup s;
	const char *err = read_signup(call, &s);
	if (err != NULL) {
		return err;
	}
	fc_log(FC_INFO, "followUp %s (user %lld)", s.email, (long long)s.user_id);
	return NULL;
}

static const char *unsubscribe(const fc_call *call) {
	int64_t user_id;
	if (!fc_json_int(fc_json_get(call->args, "userId"), &user_id)) {
		return "userId is not an integer";
	}
	int64_t n = fc_cancel(fc_format("drip-user-%lld", (long long)user_id));
	if (n < 0) {
		return fc_last_error();
	}
	fc_log(FC_INFO, "unsubscribed user %lld: %lld pending calls cancelled", (long long)user_id, (long long)n);
	return NULL;
}

const fc_plugin fc_plugin_definition = {
	.name = "drip_c",
	.version = "1.0.0",
	.description = "A drip campaign: welcome a new user, follow up three days later",
	.methods = FC_METHODS(
		{"welcome", welcome, "Welcomes a new user and schedules the follow-up.",
		 FC_PARAMS(FC_PARAM("signup", SIGNUP), FC_OPTIONAL("note", FC_JSON({"type": "string"})))},
		{"followUp", follow_up, "Follows up with a user three days after the welcome.",
		 FC_PARAMS(FC_PARAM("signup", SIGNUP))},
		{"unsubscribe", unsubscribe, "Stops the drip of a user.",
		 FC_PARAMS(FC_PARAM("userId", FC_JSON({"type": "integer"})))}),
	/* A mail that could not go out is tried again, twice, two seconds apart and more. */
	.retry = FC_JSON({"maxAttempts": 3, "backoff": "2s"}),
};
