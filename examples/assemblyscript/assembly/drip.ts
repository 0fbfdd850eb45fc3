// drip_as: a drip campaign on a record parameter, written in AssemblyScript with
// sdk/assemblyscript.
//
// welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
// "drip-user-<userId>") and schedules followUp(signup) three days later under that
// identifier, so signing up twice restarts the drip. followUp(signup) logs it, and
// unsubscribe(userId) cancels the user's pending drip.
import {
  Call,
  cancel,
  INTEGER,
  Json,
  lastError,
  Level,
  log,
  method,
  Param,
  plugin,
  quote,
  Schedule,
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

plugin("drip_as", "1.0.0", "A drip campaign: welcome a new user, follow up three days later");
method(
  "welcome",
  "Welcomes a new user and schedules the follow-up.",
  [new Param("signup", Signup.SCHEMA), new Param("note", STRING, true)],
  welcome,
);
method(
  "followUp",
  "Follows up with a user three days after the welcome.",
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
  log(Level.Info, `followUp ${signup.email} (user ${signup.userId})`);
  return null;
}

function unsubscribe(call: Call): string | null {
  const userId = call.args.getInt("userId");
  const n = cancel(identifier(userId));
  if (n < 0) return lastError();
  log(Level.Info, `unsubscribed user ${userId}: ${n} pending calls cancelled`);
  return null;
}
