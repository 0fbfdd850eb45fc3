// drip_as: a drip campaign on a record parameter, written in AssemblyScript with
// sdk/assemblyscript.
//
// welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
// "drip-user-<userId>") and schedules followUp(signup) three days later under that
// identifier, so signing up twice restarts the drip. followUp(signup) sends the
// follow-up e-mail through a mail API when the operator configures one and allows the
// plugin to reach it (the README, Granting access), once per user, and logs it
// otherwise. unsubscribe(userId) cancels the user's pending drip.
//
//   sandbox:
//     plugins:
//       drip_as:
//         http: {allow: ["https://api.mail.example"]}
//         config:
//           mailUrl: https://api.mail.example/v1/send
//           mailToken: env:MAIL_TOKEN
//           from: noreply@example.com
import {
  Call,
  cancel,
  Code,
  config,
  http,
  INTEGER,
  Json,
  lastCode,
  lastError,
  Level,
  log,
  method,
  Param,
  plugin,
  quote,
  Request,
  retry,
  Schedule,
  stateGet,
  statePut,
  STRING,
} from "@futurecalls/sdk-assemblyscript/assembly";
export { fc_alloc, fc_invoke, fc_manifest } from "@futurecalls/sdk-assemblyscript/assembly";

/** A new user's signup: the record parameter, with its JSON Schema and JSON forms. */
class Signup {
  static SCHEMA: string = `{"type": "object",
    "properties": {"userId": {"type": "integer"}, "email": {"type": "string"},
      "plan": {"type": "string", "enum": ["free", "pro"]}},
    "required": ["userId", "email", "plan"], "additionalProperties": false}`;

  constructor(
    public userId: i64,
    public email: string,
    public plan: string,
  ) {}

  static fromJson(v: Json): Signup {
    return new Signup(v.getInt("userId"), v.getString("email"), v.getString("plan"));
  }

  toJson(): string {
    return `{"userId": ${this.userId}, "email": ${quote(this.email)}, "plan": ${quote(this.plan)}}`;
  }
}

plugin("drip_as", "1.1.0", "A drip campaign: welcome a new user, follow up three days later");
// A mail API that fails now and then costs a retry, not the e-mail: the host sends the
// same Idempotency-Key on each attempt, so the API sends it once.
retry(3, "1s");
method(
  "welcome",
  "Welcomes a new user and schedules the follow-up.",
  [new Param("signup", Signup.SCHEMA), new Param("note", STRING, true)],
  welcome,
);
method(
  "followUp",
  "Sends the follow-up e-mail, once per user.",
  [new Param("signup", Signup.SCHEMA)],
  followUp,
);
method("unsubscribe", "Stops the drip of a user.", [new Param("userId", INTEGER)], unsubscribe);

/** identifier tags the pending calls of a user's drip. */
function identifier(userId: i64): string {
  return `drip-user-${userId}`;
}

function welcome(call: Call): string | null {
  const signup = Signup.fromJson(call.args.member("signup"));
  let line = `welcome ${signup.email} (plan ${signup.plan})`;
  if (call.args.has("note")) line += ": " + call.args.getString("note");
  log(Level.Info, line);
  const id = identifier(signup.userId);
  if (cancel(id) < 0) return lastError();
  return new Schedule("followUp").arg("signup", signup).delay("3d").identifier(id).send();
}

function followUp(call: Call): string | null {
  const signup = Signup.fromJson(call.args.member("signup"));
  const subject = signup.plan == "pro" ? "tips for pro users" : "try the pro plan";
  const url = config("mailUrl");
  if (url === null) {
    if (lastCode() != Code.NotFound) return lastError();
    log(Level.Info, `follow-up e-mail to ${signup.email}: ${subject}`);
    return null;
  }
  // One follow-up per user, however often they sign up. (A retried attempt needs no
  // check: the host sends its request with the first attempt's Idempotency-Key.)
  const key = `mailed-${signup.userId}`;
  const mailed = stateGet(key);
  let count: i64 = 0;
  if (mailed !== null) {
    const m = Json.parse(mailed);
    if (m !== null && m.has("count")) count = m.getInt("count");
    if (count > 0) {
      log(Level.Info, `follow-up e-mail to ${signup.email} already sent by call ${m!.getInt("lastCall")}: skipped`);
      return null;
    }
  } else if (lastCode() != Code.NotFound) {
    return lastError();
  }
  const err = sendMail(url, signup.email, subject);
  if (err !== null) return err;
  // Committed only if this call succeeds, together with its outcome.
  return statePut(key, `{"count": ${count + 1}, "lastCall": ${call.id}}`);
}

/** sendMail posts one e-mail to the mail API at url, with the configured sender and token. */
function sendMail(url: string, to: string, subject: string): string | null {
  let from = config("from");
  if (from === null) {
    if (lastCode() != Code.NotFound) return lastError();
    from = "noreply@example.com";
  }
  const token = config("mailToken");
  if (token === null && lastCode() != Code.NotFound) return lastError();
  const text = `Hello from the drip campaign: ${subject}.`;
  const request = new Request("POST", url)
    .header("Content-Type", "application/json")
    .body(`{"from": ${quote(from)}, "to": ${quote(to)}, "subject": ${quote(subject)}, "text": ${quote(text)}}`);
  if (token !== null) request.header("Authorization", "Bearer " + token);
  const response = http(request);
  if (response === null) return lastError();
  if (response.status < 200 || response.status > 299) return `mail API answered ${response.status}`;
  log(Level.Info, `follow-up e-mail to ${to} sent: ${subject}`);
  return null;
}

function unsubscribe(call: Call): string | null {
  const userId = call.args.getInt("userId");
  const n = cancel(identifier(userId));
  if (n < 0) return lastError();
  log(Level.Info, `unsubscribed user ${userId}: ${n} pending calls cancelled`);
  return null;
}
