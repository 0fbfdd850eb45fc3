//! The runtime behind the exports [`plugin!`](crate::plugin) generates. Not for plugins to
//! call.

use crate::json::{array, member, object, Raw, Value};
use crate::{Call, Result};
use std::cell::RefCell;

thread_local! {
    /// The envelope buffer fc_alloc hands out, reused from call to call.
    static INPUT: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    /// What fc_manifest or fc_invoke returned last; it must outlive the export.
    static OUTPUT: RefCell<String> = RefCell::new(String::new());
}

/// fc_alloc: the envelope buffer, or null when memory cannot grow.
pub fn alloc(size: usize) -> *mut u8 {
    INPUT.with(|input| {
        let mut input = input.borrow_mut();
        input.clear();
        if input.try_reserve(size).is_err() {
            return std::ptr::null_mut();
        }
        input.resize(size, 0);
        input.as_mut_ptr()
    })
}

/// Keeps text until the next export and returns it packed as (ptr << 32) | len.
fn output(text: String) -> u64 {
    OUTPUT.with(|out| {
        let mut out = out.borrow_mut();
        *out = text;
        (out.as_ptr() as u64) << 32 | out.len() as u64
    })
}

/// The manifest of a plugin, as plugin! declares it.
pub struct Manifest {
    pub name: &'static str,
    pub version: Option<&'static str>,
    pub description: Option<&'static str>,
    pub calls: &'static [Method],
}

/// One call of a plugin.
pub struct Method {
    pub name: &'static str,
    /// The lines of its doc comment.
    pub doc: &'static [&'static str],
    pub params: &'static [Param],
}

/// One parameter of a call.
pub struct Param {
    pub name: &'static str,
    pub schema: fn() -> String,
    pub optional: bool,
}

/// fc_manifest.
pub fn manifest(m: &Manifest) -> u64 {
    output(object(|w| {
        w.member("abi", &1);
        w.member("name", &m.name);
        w.member("version", &m.version);
        w.member("description", &m.description);
        w.member("calls", &array(m.calls.iter().map(method)));
    }))
}

fn method(call: &Method) -> String {
    let doc: Vec<&str> = call.doc.iter().map(|line| line.trim()).collect();
    let doc = doc.join(" ");
    object(|w| {
        w.member("name", &call.name);
        w.member("description", &Some(doc.trim()).filter(|d| !d.is_empty()));
        w.member("params", &array(call.params.iter().map(param)));
    })
}

fn param(p: &Param) -> String {
    object(|w| {
        w.member("name", &p.name);
        w.member("schema", &Raw((p.schema)()));
        if p.optional {
            w.member("optional", &true);
        }
    })
}

/// fc_invoke: parses the envelope in the buffer of fc_alloc and runs the call dispatch
/// finds for its method; dispatch returns None for a method the plugin does not have.
pub fn invoke<F>(ptr: *const u8, len: usize, dispatch: F) -> u64
where
    F: FnOnce(&str, &Value, &Call) -> Option<Result>,
{
    let result = INPUT
        .with(|input| {
            let input = input.borrow();
            if ptr != input.as_ptr() || len > input.len() {
                return Err("fc_invoke: the envelope is not in the buffer fc_alloc returned".into());
            }
            let text = std::str::from_utf8(&input[..len]).map_err(|e| format!("envelope: {}", e))?;
            Value::parse(text).map_err(|e| format!("envelope: {}", e))
        })
        .and_then(|envelope| {
            let method: String = member(&envelope, "method")?;
            let no_args = Value::Object(Vec::new());
            let args = envelope.get("args").unwrap_or(&no_args);
            let call = call_info(envelope.get("call").unwrap_or(&Value::Null));
            dispatch(&method, args, &call).unwrap_or_else(|| Err(format!("unknown method {}", method)))
        });
    match result {
        Ok(()) => 0,
        Err(message) => output(message),
    }
}

/// call_info reads the envelope's call object, leniently: it is for the plugin's
/// information, and hosts may add fields to it.
fn call_info(v: &Value) -> Call {
    Call {
        id: member(v, "id").unwrap_or_default(),
        plugin: member(v, "plugin").unwrap_or_default(),
        scheduled_at: member(v, "scheduledAt").unwrap_or_default(),
        identifier: member(v, "identifier").unwrap_or_default(),
        attempt: member(v, "attempt").unwrap_or_default(),
        max_attempts: member(v, "maxAttempts").unwrap_or_default(),
    }
}
