//! Write futurecalls plugins in Rust (guest ABI v1, see abi/README.md in the futurecalls
//! repository).
//!
//! [`plugin!`] turns ordinary Rust functions with typed parameters into future calls: it
//! generates the exports the host calls (`fc_alloc`, `fc_manifest`, `fc_invoke`), the
//! manifest with a JSON Schema for every parameter, and the dispatcher that reads each
//! argument into its Rust type. [`record!`] and [`string_enum!`] declare the records and
//! enumerations a parameter can be made of. [`log`], [`Schedule`] and [`cancel`] wrap the
//! host functions.
//!
//! The crate needs nothing but std: its JSON (the [`Value`] parser, the [`FromJson`],
//! [`ToJson`] and [`ToSchema`] traits) is a minimal stand-in for serde.
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

mod json;
#[doc(hidden)]
pub mod rt;

pub use json::{member, object_schema, quote, FromJson, ObjectWriter, ToJson, ToSchema, Value};

/// What a call returns: Ok, or the error message that fails it.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The call being run, from the envelope the host passed.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub id: i64,
    pub plugin: String,
    /// When the call was due, RFC 3339 in UTC.
    pub scheduled_at: String,
    pub identifier: Option<String>,
    /// Which attempt this is, from 1 to max_attempts.
    pub attempt: u32,
    pub max_attempts: u32,
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

/// Why the host refused the last schedule or cancel of this call.
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

/// A follow-up call to schedule: `Schedule::new("method").arg("name", &value).send()`.
/// It is committed only if the current call succeeds.
#[derive(Debug, Clone)]
pub struct Schedule {
    method: String,
    plugin: Option<String>,
    args: String,
    delay: Option<String>,
    at: Option<String>,
    identifier: Option<String>,
}

impl Schedule {
    /// A call of method, on this plugin unless [`Schedule::plugin`] names another, due now
    /// unless [`Schedule::delay`] or [`Schedule::at`] says otherwise.
    pub fn new(method: &str) -> Self {
        Schedule {
            method: method.into(),
            plugin: None,
            args: String::new(),
            delay: None,
            at: None,
            identifier: None,
        }
    }

    /// Calls another plugin.
    pub fn plugin(mut self, plugin: &str) -> Self {
        self.plugin = Some(plugin.into());
        self
    }

    /// Adds the argument name.
    pub fn arg<T: ToJson + ?Sized>(mut self, name: &str, value: &T) -> Self {
        self.args.push(if self.args.is_empty() { '{' } else { ',' });
        quote(name, &mut self.args);
        self.args.push(':');
        value.write_json(&mut self.args);
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

    /// Gives the call an identifier, by which [`cancel`] finds it.
    pub fn identifier(mut self, identifier: &str) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// Asks the host to schedule the call, and returns why it refused if it did.
    pub fn send(&self) -> Result {
        let req = json::object(|w| {
            w.member("method", &self.method);
            w.member("plugin", &self.plugin);
            if !self.args.is_empty() {
                w.member("args", &json::Raw(format!("{}}}", self.args)));
            }
            w.member("delay", &self.delay);
            w.member("at", &self.at);
            w.member("identifier", &self.identifier);
        });
        // SAFETY: the host reads req during the call only.
        match unsafe { host::fc_schedule(req.as_ptr(), req.len()) } {
            0 => Ok(()),
            _ => Err(last_error()),
        }
    }
}

/// Declares a plugin: its manifest and its calls, each an ordinary function whose first
/// parameter is the [`Call`] and whose other parameters are the call's, typed by any
/// [`FromJson`] + [`ToSchema`] type. An `Option` parameter is optional. A parameter's name
/// is its Rust name unless `as "name"` renames it (`user_id as "userId": i64`). Doc
/// comments become the calls' descriptions. `version` and `description` may be left out.
///
/// ```ignore
/// futurecalls::plugin! {
///     name = "example_rust";
///     version = "1.0.0";
///     description = "Serverpod's example future calls";
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
                calls: &[$($crate::rt::Method {
                    name: stringify!($method),
                    doc: &[$($doc),*],
                    params: &[$($crate::rt::Param {
                        name: [$($key,)? stringify!($param)][0],
                        schema: <$type as $crate::ToSchema>::schema,
                        optional: <$type as $crate::FromJson>::OPTIONAL,
                    }),*],
                }),*],
            })
        }

        #[no_mangle]
        pub extern "C" fn fc_invoke(ptr: *const u8, len: usize) -> u64 {
            $crate::rt::invoke(ptr, len, |method, args, call| {
                let _ = (&args, &call); // unused when the plugin has no calls
                match method {
                    $(stringify!($method) => Some((|| -> $crate::Result {
                        $(let $param: $type = $crate::member(args, [$($key,)? stringify!($param)][0])?;)*
                        $method(call $(, $param)*)
                    })()),)*
                    _ => None,
                }
            })
        }
    };
}

/// Declares a record: a struct read from and written as a JSON object, whose schema lists
/// its fields as properties, every non-Option field required. A field's JSON name is its
/// Rust name unless `as "name"` renames it.
///
/// ```ignore
/// futurecalls::record! {
///     pub struct Signup {
///         pub user_id as "userId": i64,
///         pub email: String,
///     }
/// }
/// ```
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident $(as $key:literal)? : $type:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $type),*
        }

        impl $crate::FromJson for $name {
            fn from_json(v: &$crate::Value) -> ::std::result::Result<Self, String> {
                if !matches!(v, $crate::Value::Object(_)) {
                    return Err("want an object".into());
                }
                Ok($name {
                    $($field: $crate::member(v, [$($key,)? stringify!($field)][0])?),*
                })
            }
        }

        impl $crate::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                let mut w = $crate::ObjectWriter::new(out);
                $(w.member([$($key,)? stringify!($field)][0], &self.$field);)*
                w.end();
            }
        }

        impl $crate::ToSchema for $name {
            fn schema() -> String {
                $crate::object_schema(&[$((
                    [$($key,)? stringify!($field)][0],
                    <$type as $crate::ToSchema>::schema(),
                    <$type as $crate::FromJson>::OPTIONAL,
                )),*])
            }
        }
    };
}

/// Declares an enumeration of strings: a unit enum read from and written as one of the
/// given strings, whose schema is `{"type": "string", "enum": [...]}`.
///
/// ```ignore
/// futurecalls::string_enum! {
///     pub enum Plan { Free = "free", Pro = "pro" }
/// }
/// ```
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),*
        }

        impl $name {
            /// The string that stands for the value in JSON.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl $crate::FromJson for $name {
            fn from_json(v: &$crate::Value) -> ::std::result::Result<Self, String> {
                match v {
                    $($crate::Value::String(s) if s == $text => Ok($name::$variant),)*
                    _ => Err(format!("want one of {}", <$name as $crate::ToSchema>::schema())),
                }
            }
        }

        impl $crate::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::quote(self.as_str(), out);
            }
        }

        impl $crate::ToSchema for $name {
            fn schema() -> String {
                let mut out = String::from(r#"{"type": "string", "enum": ["#);
                for (i, text) in [$($text),*].iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    $crate::quote(text, &mut out);
                }
                out.push_str("]}");
                out
            }
        }
    };
}
