//! example_rust: Serverpod's example future calls, written in Rust with sdk/rust, and
//! kinds, which reads a value of every JSON kind, logs it and calls itself again with it,
//! for the conformance suite (examples/conformance).

use futurecalls::{log, record, Call, Level, Result, Schedule, Schema, Value};
use serde::{Deserialize, Serialize};

/// A point: the record parameter of kinds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

impl Schema for Point {
    fn schema() -> Value {
        record().field::<i64>("x").field::<i64>("y").into()
    }
}

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

    /// Reads a value of every JSON kind, logs it, and calls itself again in an hour with it.
    fn kinds(_call: &Call, text: String, count: i64, ratio: f64, flag: bool, tags: Vec<String>, point: Point,
             note: Option<String>) -> Result {
        log(Level::Info, &format!(
            "kinds: text={} count={} ratio={} flag={} tags=[{}] point={{x:{} y:{}}} note={}",
            text, count, ratio, flag, tags.join(","), point.x, point.y, note.as_deref().unwrap_or("none")));
        let mut again = Schedule::new("kinds").arg("text", &text).arg("count", &count).arg("ratio", &ratio)
            .arg("flag", &flag).arg("tags", &tags).arg("point", &point);
        if let Some(note) = &note {
            again = again.arg("note", note);
        }
        again.delay("1h").send()
    }
}
