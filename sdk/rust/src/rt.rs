//! The runtime behind the exports [`plugin!`](crate::plugin) generates. Not for plugins to
//! call.

use crate::{Call, Result, Retry, Schema};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
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
    pub retry: Option<Retry>,
    /// (topic, call) pairs.
    pub subscriptions: &'static [(&'static str, &'static str)],
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
    pub schema: fn() -> Value,
    pub optional: bool,
}

/// fc_manifest.
pub fn manifest(m: &Manifest) -> u64 {
    let mut manifest = json!({"abi": 1, "name": m.name, "calls": m.calls.iter().map(method).collect::<Vec<_>>()});
    if let Some(version) = m.version {
        manifest["version"] = version.into();
    }
    if let Some(description) = m.description {
        manifest["description"] = description.into();
    }
    if let Some(r) = m.retry {
        let mut retry = json!({"maxAttempts": r.max_attempts});
        if let Some(backoff) = r.backoff {
            retry["backoff"] = backoff.into();
        }
        if let Some(max) = r.max_backoff {
            retry["maxBackoff"] = max.into();
        }
        manifest["retry"] = retry;
    }
    if !m.subscriptions.is_empty() {
        manifest["subscriptions"] =
            m.subscriptions.iter().map(|(topic, call)| json!({"topic": topic, "call": call})).collect::<Vec<_>>().into();
    }
    output(manifest.to_string())
}

fn method(call: &Method) -> Value {
    let doc: Vec<&str> = call.doc.iter().map(|line| line.trim()).collect();
    let doc = doc.join(" ");
    let params: Vec<Value> = call
        .params
        .iter()
        .map(|p| {
            let mut param = json!({"name": p.name, "schema": (p.schema)()});
            if p.optional {
                param["optional"] = true.into();
            }
            param
        })
        .collect();
    let mut method = json!({"name": call.name, "params": params});
    if !doc.trim().is_empty() {
        method["description"] = doc.trim().into();
    }
    method
}

/// The envelope fc_invoke receives.
#[derive(Deserialize)]
struct Envelope {
    method: String,
    #[serde(default)]
    args: Map<String, Value>,
    #[serde(default)]
    call: Call,
}

/// The arguments of a call, which the dispatcher takes one by one.
pub struct Args(Map<String, Value>);

impl Args {
    /// Takes the argument name and reads it as a T; the error names the argument.
    pub fn take<T: DeserializeOwned + Schema>(&mut self, name: &str) -> Result<T> {
        let value = match self.0.remove(name) {
            Some(value) => value,
            None if T::OPTIONAL => Value::Null,
            None => return Err(format!("argument {} is missing", name)),
        };
        serde_json::from_value(value).map_err(|e| format!("argument {}: {}", name, e))
    }
}

/// fc_invoke: reads the envelope in the buffer of fc_alloc and runs the call dispatch
/// finds for its method; dispatch returns None for a method the plugin does not have.
pub fn invoke<F>(ptr: *const u8, len: usize, dispatch: F) -> u64
where
    F: FnOnce(&str, Args, &Call) -> Option<Result>,
{
    let result = INPUT
        .with(|input| {
            let input = input.borrow();
            if ptr != input.as_ptr() || len > input.len() {
                return Err("fc_invoke: the envelope is not in the buffer fc_alloc returned".to_string());
            }
            serde_json::from_slice::<Envelope>(&input[..len]).map_err(|e| format!("envelope: {}", e))
        })
        .and_then(|envelope| {
            let method = envelope.method;
            dispatch(&method, Args(envelope.args), &envelope.call)
                .unwrap_or_else(|| Err(format!("unknown method {}", method)))
        });
    match result {
        Ok(()) => 0,
        Err(message) => output(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_states_the_retry_policy_and_subscriptions() {
        let m = Manifest {
            name: "p",
            version: None,
            description: None,
            retry: Some(Retry::attempts(3).backoff("1s")),
            subscriptions: &[("image.uploaded", "thumb")],
            calls: &[],
        };
        let packed = manifest(&m);
        let text = OUTPUT.with(|out| out.borrow().clone());
        assert_eq!(packed & 0xffff_ffff, text.len() as u64);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["retry"], json!({"maxAttempts": 3, "backoff": "1s"}));
        assert_eq!(v["subscriptions"], json!([{"topic": "image.uploaded", "call": "thumb"}]));
    }
}
