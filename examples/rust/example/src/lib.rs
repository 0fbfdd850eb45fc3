//! example_rust: Serverpod's example future calls, written in Rust with sdk/rust.

use futurecalls::{log, Call, Level, Result};

futurecalls::plugin! {
    name = "example_rust";
    version = "1.0.0";
    description = "Serverpod's example future calls, in Rust";

    /// Does some work.
    fn doWork(_call: &Call) -> Result {
        log(Level::Info, "doWork called");
        Ok(())
    }

    /// Does other work with the given data.
    fn doOtherWork(_call: &Call, data: String) -> Result {
        log(Level::Info, &format!("doOtherWork called with data: {}", data));
        Ok(())
    }
}
