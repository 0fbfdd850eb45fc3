/*
 * drip_c: a drip campaign on a record parameter, written in C with sdk/c.
 *
 * welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
 * "drip-user-<userId>") and schedules followUp(signup) three days later under that
 * identifier, so signing up twice restarts the drip. followUp(signup) sends the
 * follow-up e-mail through a mail API when the operator configures one and allows the
 * plugin to reach it (the README, Granting access), once per user, and logs it
 * otherwise. unsubscribe(userId) cancels the user's pending drip.
 *
 *   sandbox:
 *     plugins:
 *       drip_c:
 *         http: {allow: ["https://api.mail.example"]}
 *         config:
 *           mailUrl: https://api.mail.example/v1/send
 *           mailToken: env:MAIL_TOKEN
 *           from: noreply@example.com
 */
#include <string.h>

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

/* config reads the operator's value for key, or def when the operator set none. */
static const char *config(const char *key, const char *def, const char **err) {
	const char *value = NULL;
	int64_t n = fc_config(key, &value);
	if (n == FC_NOT_FOUND) {
		return def;
	}
	if (n < 0) {
		*err = fc_last_error();
	}
	return value;
}

/*
 * send_mail posts one e-mail to the mail API at url, with the configured sender and
 * token. The host adds an Idempotency-Key that a retried attempt repeats, so the API
 * sends the e-mail once.
 */
static const char *send_mail(const char *url, const char *to, const char *subject) {
	const char *err = NULL;
	const char *from = config("from", "noreply@example.com", &err);
	const char *token = config("mailToken", NULL, &err);
	if (err != NULL) {
		return err;
	}
	const char *text = fc_format("Hello from the drip campaign: %s.", subject);
	const char *body = fc_format(FC_JSON({"from": %s, "to": %s, "subject": %s, "text": %s}),
		fc_json_quote(from), fc_json_quote(to), fc_json_quote(subject), fc_json_quote(text));
	const char *auth = token == NULL ? ""
		: fc_format(FC_JSON(, "Authorization": %s), fc_json_quote(fc_format("Bearer %s", token)));
	const char *request = fc_format(FC_JSON({"method": "POST", "url": %s,
		"headers": {"Content-Type": "application/json" %s}, "body": %s}),
		fc_json_quote(url), auth, fc_json_quote(body));
	fc_json response;
	if (fc_http(request, &response) < 0) {
		return fc_last_error();
	}
	int64_t status;
	if (!fc_json_int(fc_json_get(response, "status"), &status)) {
		return "the mail API's response has no status";
	}
	if (status < 200 || status > 299) {
		return fc_format("mail API answered %lld", (long long)status);
	}
	fc_log(FC_INFO, "follow-up e-mail to %s sent: %s", to, subject);
	return NULL;
}

/*
 * follow_up sends the follow-up e-mail through the operator's mail API (config mailUrl),
 * once per user: the state key "mailed-<userId>" records {"count": 1, "lastCall": <call
 * id>}, committed with the call's success. Without mailUrl it logs the e-mail instead.
 */
static const char *follow_up(const fc_call *call) {
	struct signup s;
	const char *err = read_signup(call, &s);
	if (err != NULL) {
		return err;
	}
	const char *subject = strcmp(s.plan, "pro") == 0 ? "tips for pro users" : "try the pro plan";
	const char *url = config("mailUrl", NULL, &err);
	if (err != NULL) {
		return err;
	}
	if (url == NULL) {
		fc_log(FC_INFO, "follow-up e-mail to %s: %s", s.email, subject);
		return NULL;
	}

	const char *key = fc_format("mailed-%lld", (long long)s.user_id);
	const char *mailed = NULL;
	int64_t n = fc_state_get(key, &mailed);
	if (n < 0 && n != FC_NOT_FOUND) {
		return fc_last_error();
	}
	fc_json record = {mailed, n < 0 ? 0 : (size_t)n};
	int64_t count = 0, last_call = 0;
	if (fc_json_int(fc_json_get(record, "count"), &count) && count > 0) {
		fc_json_int(fc_json_get(record, "lastCall"), &last_call);
		fc_log(FC_INFO, "follow-up e-mail to %s already sent by call %lld: skipped", s.email, (long long)last_call);
		return NULL;
	}

	if ((err = send_mail(url, s.email, subject)) != NULL) {
		return err;
	}
	int64_t id;
	if (!fc_json_int(fc_json_get(call->info, "id"), &id)) {
		return "the envelope has no call id";
	}
	/* Committed only if this call succeeds, together with its outcome. */
	const char *value = fc_format(FC_JSON({"count": %lld, "lastCall": %lld}), (long long)(count + 1), (long long)id);
	if (fc_state_put(key, value, strlen(value)) < 0) {
		return fc_last_error();
	}
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
	.version = "1.1.0",
	.description = "A drip campaign: welcome a new user, follow up three days later",
	.methods = FC_METHODS(
		{"welcome", welcome, "Welcomes a new user and schedules the follow-up.",
		 FC_PARAMS(FC_PARAM("signup", SIGNUP), FC_OPTIONAL("note", FC_JSON({"type": "string"})))},
		{"followUp", follow_up, "Sends the follow-up e-mail, once per user.",
		 FC_PARAMS(FC_PARAM("signup", SIGNUP))},
		{"unsubscribe", unsubscribe, "Stops the drip of a user.",
		 FC_PARAMS(FC_PARAM("userId", FC_JSON({"type": "integer"})))}),
	/*
	 * A mail API that fails now and then costs a retry, not the e-mail: tried again,
	 * twice, a second apart and more.
	 */
	.retry = FC_JSON({"maxAttempts": 3, "backoff": "1s"}),
};
