//! drip_rust: a drip campaign on a record parameter, written in Rust with sdk/rust.
//!
//! welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
//! "drip-user-<userId>") and schedules followUp(signup) three days later under that
//! identifier, so signing up twice restarts the drip. followUp(signup) sends the
//! follow-up e-mail through a mail API when the operator configures one and allows the
//! plugin to reach it (the README, Granting access), once per user, and logs it
//! otherwise. unsubscribe(userId) cancels the user's pending drip.
//!
//! ```yaml
//! sandbox:
//!   plugins:
//!     drip_rust:
//!       http: {allow: ["https://api.mail.example"]}
//!       config:
//!         mailUrl: https://api.mail.example/v1/send
//!         mailToken: env:MAIL_TOKEN
//!         from: noreply@example.com
//! ```

use futurecalls::{
    cancel, config, http, log, record, state, string_enum, Call, Level, Request, Result, Retry, Schedule, Schema, Value,
};
use serde::{Deserialize, Serialize};

/// A pricing plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
}

impl Schema for Plan {
    fn schema() -> Value {
        string_enum(&["free", "pro"])
    }
}

/// A new user's signup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signup {
    pub user_id: i64,
    pub email: String,
    pub plan: Plan,
}

impl Schema for Signup {
    fn schema() -> Value {
        record().field::<i64>("userId").field::<String>("email").field::<Plan>("plan").into()
    }
}

futurecalls::plugin! {
    name = "drip_rust";
    version = "1.1.0";
    description = "A drip campaign: welcome a new user, follow up three days later";
    // A mail API that fails now and then costs a retry, not the e-mail: the host sends
    // the same Idempotency-Key on each attempt, so the API sends it once.
    retry = Retry::attempts(3).backoff("1s");

    /// Welcomes a new user and schedules the follow-up.
    fn welcome(_call: &Call, signup: Signup, note: Option<String>) -> Result {
        let line = format!("welcome {} (plan {:?})", signup.email, signup.plan);
        match note {
            Some(note) => log(Level::Info, &format!("{}: {}", line, note)),
            None => log(Level::Info, &line),
        }
        let id = identifier(signup.user_id);
        cancel(&id)?;
        Schedule::new("followUp").arg("signup", &signup).delay("3d").identifier(&id).send()
    }

    /// Sends the follow-up e-mail, once per user.
    fn followUp(call: &Call, signup: Signup) -> Result {
        let subject = match signup.plan {
            Plan::Pro => "tips for pro users",
            Plan::Free => "try the pro plan",
        };
        let url = match config("mailUrl")? {
            Some(url) => url,
            None => {
                log(Level::Info, &format!("follow-up e-mail to {}: {}", signup.email, subject));
                return Ok(());
            }
        };
        // One follow-up per user, however often they sign up. (A retried attempt needs
        // no check: the host sends its request with the first attempt's Idempotency-Key.)
        let key = format!("mailed-{}", signup.user_id);
        let mailed: Mailed = state::get_json(&key)?.unwrap_or_default();
        if mailed.count > 0 {
            log(Level::Info, &format!("follow-up e-mail to {} already sent by call {}: skipped", signup.email, mailed.last_call));
            return Ok(());
        }
        send_mail(&url, &signup.email, subject)?;
        // Committed only if this call succeeds, together with its outcome.
        state::put_json(&key, &Mailed { count: mailed.count + 1, last_call: call.id })?;
        Ok(())
    }

    /// Stops the drip of a user.
    fn unsubscribe(_call: &Call, user_id as "userId": i64) -> Result {
        let n = cancel(&identifier(user_id))?;
        log(Level::Info, &format!("unsubscribed user {}: {} pending calls cancelled", user_id, n));
        Ok(())
    }
}

/// identifier tags the pending calls of a user's drip.
fn identifier(user_id: i64) -> String {
    format!("drip-user-{}", user_id)
}

/// What the plugin's state keeps per user, under "mailed-<userId>".
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mailed {
    count: i64,
    last_call: i64,
}

/// The body the mail API takes.
#[derive(Serialize)]
struct Mail<'a> {
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
}

/// Posts one e-mail to the mail API at url, with the configured sender and token.
fn send_mail(url: &str, to: &str, subject: &str) -> Result {
    let from = config("from")?.unwrap_or_else(|| "noreply@example.com".into());
    let text = format!("Hello from the drip campaign: {}.", subject);
    let mut request = Request::post(url).json(&Mail { from: &from, to, subject, text: &text })?;
    if let Some(token) = config("mailToken")? {
        request = request.header("Authorization", &format!("Bearer {}", token));
    }
    let response = http(&request)?;
    if !response.is_success() {
        return Err(format!("mail API answered {}", response.status));
    }
    log(Level::Info, &format!("follow-up e-mail to {} sent: {}", to, subject));
    Ok(())
}
