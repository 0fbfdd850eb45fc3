//! Write futurecalls plugins in Rust (guest ABI v1, see abi/README.md in the futurecalls
//! repository), with serde.
//!
//! [`plugin!`] turns ordinary Rust functions into future calls. Their parameters are any
//! `serde::Deserialize` types that also state a JSON Schema ([`Schema`]): the macro
//! generates the exports the host calls (`fc_alloc`, `fc_manifest`, `fc_invoke`), the
//! manifest with every parameter's schema, and the dispatcher that decodes each argument
//! with `serde_json`. [`log`], [`Schedule`] and [`cancel`] wrap the host functions;
//! follow-up arguments are any `serde::Serialize` types. [`http`], [`config`] and
//! [`state`] are the capabilities an operator grants; their refusals are an [`Error`].
//!
//! ```ignore
//! use futurecalls::{log, Call, Level, Result};
//!
//! futurecalls::plugin! {
//!     name = "hello";
//!
//!     /// Greets someone.
//!     fn greet(_call: &Call, who: String, times: Option<u32>) -> Result {
//!         for _ in 0..times.unwrap_or(1) {
//!             log(Level::Info, &format!("hello, {}", who));
//!         }
//!         Ok(())
//!     }
//! }
//! ```

mod capabilities;
#[doc(hidden)]
pub mod rt;
mod schema;
pub mod state;

pub use capabilities::{config, http, Error, Request, Response};
pub use schema::{record, string_enum, Record, Schema};
use serde::{Deserialize, Serialize};
use serde_json::Map;
pub use serde_json::Value;

/// What a call returns: Ok, or the error message that fails it.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The call being run, from the envelope the host passed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Call {
    pub id: i64,
    pub plugin: String,
    /// When the call was due, RFC 3339 in UTC.
    pub scheduled_at: String,
    pub identifier: Option<String>,
    /// Which attempt this is, from 1 to max_attempts.
    pub attempt: u32,
    pub max_attempts: u32,
    /// The message this call delivers (see [`Publish`]); 0 for other calls.
    pub message_id: i64,
}

/// The level of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

mod host {
    #[link(wasm_import_module = "fc")]
    extern "C" {
        #[link_name = "log"]
        pub fn fc_log(level: i32, ptr: *const u8, len: usize);
        #[link_name = "schedule"]
        pub fn fc_schedule(ptr: *const u8, len: usize) -> i64;
        #[link_name = "cancel"]
        pub fn fc_cancel(ptr: *const u8, len: usize) -> i64;
        #[link_name = "publish"]
        pub fn fc_publish(ptr: *const u8, len: usize) -> i64;
        #[link_name = "last_error"]
        pub fn fc_last_error(ptr: *mut u8, cap: usize) -> usize;
    }
}

/// Writes a line to the host's log, tagged with the plugin, method and call.
pub fn log(level: Level, line: &str) {
    // SAFETY: the host reads line during the call only.
    unsafe { host::fc_log(level as i32, line.as_ptr(), line.len()) }
}

/// Cancels, when the current call succeeds, every call carrying identifier. It returns
/// how many carry it now, or why the host refused.
pub fn cancel(identifier: &str) -> Result<u64> {
    // SAFETY: the host reads identifier during the call only.
    let n = unsafe { host::fc_cancel(identifier.as_ptr(), identifier.len()) };
    u64::try_from(n).map_err(|_| last_error())
}

/// Why the host refused the last request of this call.
fn last_error() -> String {
    // SAFETY: with a capacity of 0 the host writes nothing; then it writes at most
    // buf.len() bytes into buf.
    unsafe {
        let n = host::fc_last_error(std::ptr::null_mut(), 0);
        if n == 0 {
            return "the host refused the request".into();
        }
        let mut buf = vec![0u8; n];
        host::fc_last_error(buf.as_mut_ptr(), n);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// The default retry policy of a plugin's calls (abi/README.md, *Retries*), which the
/// operator's policy and a schedule request's own override:
/// `retry = Retry::attempts(3).backoff("1s");` in [`plugin!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each next one: a Go
    /// duration ("1s", "5m").
    pub backoff: Option<&'static str>,
    /// The longest wait.
    pub max_backoff: Option<&'static str>,
}

impl Retry {
    /// At most n attempts in all.
    pub const fn attempts(n: u32) -> Self {
        Retry { max_attempts: n, backoff: None, max_backoff: None }
    }

    /// Waits backoff after the first failed attempt, twice that after the second, ...
    pub const fn backoff(mut self, backoff: &'static str) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Waits at most max between attempts.
    pub const fn max_backoff(mut self, max: &'static str) -> Self {
        self.max_backoff = Some(max);
        self
    }
}

/// A follow-up call to schedule: `Schedule::new("method").arg("name", &value).send()`,
/// value being any `serde::Serialize` type. It is committed only if the current call
/// succeeds.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    args: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    /// Why an argument could not be written as JSON; send returns it.
    #[serde(skip)]
    error: Option<String>,
}

impl Schedule {
    /// A call of method, on this plugin unless [`Schedule::plugin`] names another, due now
    /// unless [`Schedule::delay`] or [`Schedule::at`] says otherwise.
    pub fn new(method: &str) -> Self {
        Schedule {
            method: method.into(),
            plugin: None,
            args: Map::new(),
            delay: None,
            at: None,
            identifier: None,
            error: None,
        }
    }

    /// Calls another plugin.
    pub fn plugin(mut self, plugin: &str) -> Self {
        self.plugin = Some(plugin.into());
        self
    }

    /// Adds the argument name. A value serde cannot write as JSON (a map with non-string
    /// keys, say) makes [`Schedule::send`] fail.
    pub fn arg<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.args.insert(name.into(), value);
            }
            Err(e) => self.error = Some(format!("argument {}: {}", name, e)),
        }
        self
    }

    /// Runs the call after delay: a Go duration, plus d for days ("3d", "1h30m").
    pub fn delay(mut self, delay: &str) -> Self {
        self.delay = Some(delay.into());
        self
    }

    /// Runs the call at a time, RFC 3339 ("2026-01-01T09:00:00Z").
    pub fn at(mut self, at: &str) -> Self {
        self.at = Some(at.into());
        self
    }

    /// Gives the call an identifier (any string, such as "drip-user-42"), by which
    /// [`cancel`] finds it.
    pub fn identifier(mut self, identifier: &str) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// Asks the host to schedule the call, and returns why it refused if it did.
    pub fn send(&self) -> Result {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let req = serde_json::to_string(self).map_err(|e| e.to_string())?;
        // SAFETY: the host reads req during the call only.
        match unsafe { host::fc_schedule(req.as_ptr(), req.len()) } {
            0 => Ok(()),
            _ => Err(last_error()),
        }
    }
}

/// A message to publish to the calls subscribed to a topic:
/// `Publish::new("image.uploaded").arg("imageId", &7).send()`, each value any
/// `serde::Serialize` type, the payload being the subscribed calls' arguments. It is
/// stored, and delivered, only if the current call succeeds.
#[derive(Debug, Clone, Serialize)]
pub struct Publish {
    topic: String,
    payload: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    #[serde(skip)]
    error: Option<String>,
}

impl Publish {
    /// A message to topic, delivered now unless [`Publish::delay`] says otherwise.
    pub fn new(topic: &str) -> Self {
        Publish { topic: topic.into(), payload: Map::new(), delay: None, identifier: None, error: None }
    }

    /// Adds the payload's member name (an argument of every subscribed call).
    pub fn arg<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => {
                self.payload.insert(name.into(), value);
            }
            Err(e) => self.error = Some(format!("payload {}: {}", name, e)),
        }
        self
    }

    /// Delivers the message after delay, as [`Schedule::delay`].
    pub fn delay(mut self, delay: &str) -> Self {
        self.delay = Some(delay.into());
        self
    }

    /// Gives every delivery an identifier, by which [`cancel`] finds them.
    pub fn identifier(mut self, identifier: &str) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// Asks the host to publish the message; returns the number of deliveries, or why
    /// the host refused (a subscriber whose signature the payload does not fit, say).
    pub fn send(&self) -> Result<u64> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let req = serde_json::to_string(self).map_err(|e| e.to_string())?;
        // SAFETY: the host reads req during the call only.
        let n = unsafe { host::fc_publish(req.as_ptr(), req.len()) };
        u64::try_from(n).map_err(|_| last_error())
    }
}

/// Declares a plugin: its manifest and its calls, each an ordinary function whose first
/// parameter is the [`Call`] and whose other parameters are the call's, typed by any
/// `serde::Deserialize` + [`Schema`] type, and which returns [`Result`]: `Ok(())`, or
/// `Err(message)` to fail the call. An `Option` parameter is optional. A parameter's name
/// is its Rust name unless `as "name"` renames it (`user_id as "userId": i64`). Doc
/// comments become the calls' descriptions. `version`, `description` and `retry` (the
/// calls' default [`Retry`] policy) may be left out; `subscribe = [("image.uploaded",
/// "makeThumbnail")];` after them subscribes calls to topics (see [`Publish`]).
///
/// ```ignore
/// futurecalls::plugin! {
///     name = "example_rust";
///     version = "1.0.0";
///     description = "Serverpod's example future calls";
///     retry = Retry::attempts(3).backoff("1s");
///
///     /// Does other work with the given data.
///     fn doOtherWork(_call: &Call, data: String) -> Result {
///         log(Level::Info, &data);
///         Ok(())
///     }
/// }
/// ```
#[macro_export]
macro_rules! plugin {
    (
        name = $name:literal;
        $(version = $version:literal;)?
        $(description = $description:literal;)?
        $(retry = $retry:expr;)?
        $(subscribe = [$(($topic:literal, $subscribed:literal)),* $(,)?];)?
        $(
            $(#[doc = $doc:literal])*
            fn $method:ident(
                $call:ident : $call_type:ty $(, $param:ident $(as $key:literal)? : $type:ty)* $(,)?
            ) -> $ret:ty $body:block
        )*
    ) => {
        $(
            $(#[doc = $doc])*
            #[allow(non_snake_case)]
            fn $method($call: $call_type $(, $param: $type)*) -> $ret $body
        )*

        #[no_mangle]
        pub extern "C" fn fc_alloc(size: usize) -> *mut u8 {
            $crate::rt::alloc(size)
        }

        #[no_mangle]
        pub extern "C" fn fc_manifest() -> u64 {
            $crate::rt::manifest(&$crate::rt::Manifest {
                name: $name,
                version: [$($version)?].first().copied(),
                description: [$($description)?].first().copied(),
                retry: {
                    let retry: Option<$crate::Retry> = None;
                    $(let retry = Some($retry);)?
                    retry
                },
                subscriptions: &[$($(($topic, $subscribed)),*)?],
                calls: &[$($crate::rt::Method {
                    name: stringify!($method),
                    doc: &[$($doc),*],
                    params: &[$($crate::rt::Param {
                        name: [$($key,)? stringify!($param)][0],
                        schema: <$type as $crate::Schema>::schema,
                        optional: <$type as $crate::Schema>::OPTIONAL,
                    }),*],
                }),*],
            })
        }

        #[no_mangle]
        pub extern "C" fn fc_invoke(ptr: *const u8, len: usize) -> u64 {
            $crate::rt::invoke(ptr, len, |method, mut args, call| {
                let _ = (&mut args, &call); // unused when the plugin has no calls
                match method {
                    $(stringify!($method) => Some((|| -> $crate::Result {
                        $(let $param: $type = args.take([$($key,)? stringify!($param)][0])?;)*
                        $method(call $(, $param)*)
                    })()),)*
                    _ => None,
                }
            })
        }
    };
}
