//! drip_rust: a drip campaign on a record parameter, written in Rust with sdk/rust.
//!
//! welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
//! "drip-user-<userId>") and schedules followUp(signup) three days later under that
//! identifier, so signing up twice restarts the drip. followUp(signup) logs it, and
//! unsubscribe(userId) cancels the user's pending drip.

use futurecalls::{cancel, log, record, string_enum, Call, Level, Result, Schedule, Schema, Value};
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
    version = "1.0.0";
    description = "A drip campaign: welcome a new user, follow up three days later";

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

    /// Follows up with a user three days after the welcome.
    fn followUp(_call: &Call, signup: Signup) -> Result {
        log(Level::Info, &format!("followUp {} (user {})", signup.email, signup.user_id));
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
