//! drip_rust: a drip campaign on a record parameter, written in Rust with sdk/rust.
//!
//! welcome(signup, note?) logs the signup, cancels the user's pending drip (identifier
//! "drip-user-<userId>") and schedules followUp(signup) three days later under that
//! identifier, so signing up twice restarts the drip. followUp(signup) logs it, and
//! unsubscribe(userId) cancels the user's pending drip.

use futurecalls::{cancel, log, Call, Level, Result, Schedule};

futurecalls::string_enum! {
    /// A pricing plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        Free = "free",
        Pro = "pro",
    }
}

futurecalls::record! {
    /// A new user's signup.
    #[derive(Debug, Clone)]
    pub struct Signup {
        pub user_id as "userId": i64,
        pub email: String,
        pub plan: Plan,
    }
}

futurecalls::plugin! {
    name = "drip_rust";
    version = "1.0.0";
    description = "A drip campaign: welcome a new user, follow up three days later";

    /// Welcomes a new user and schedules the follow-up.
    fn welcome(_call: &Call, signup: Signup, note: Option<String>) -> Result {
        let line = format!("welcome {} (plan {})", signup.email, signup.plan.as_str());
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
