//! The capabilities an operator grants a plugin (abi/README.md, *Host functions*):
//! outbound HTTP ([`http`]), configuration and secrets ([`config`]), and the plugin's
//! state ([`state`](crate::state)). Each refusal is an [`Error`] that says why.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub(crate) mod host {
    #[link(wasm_import_module = "fc")]
    extern "C" {
        #[link_name = "result"]
        pub fn fc_result(ptr: *mut u8, cap: usize) -> usize;
        #[link_name = "http"]
        pub fn fc_http(ptr: *const u8, len: usize) -> i64;
        #[link_name = "config"]
        pub fn fc_config(ptr: *const u8, len: usize) -> i64;
        #[link_name = "state_get"]
        pub fn fc_state_get(ptr: *const u8, len: usize) -> i64;
        #[link_name = "state_put"]
        pub fn fc_state_put(kptr: *const u8, klen: usize, vptr: *const u8, vlen: usize) -> i64;
        #[link_name = "state_delete"]
        pub fn fc_state_delete(ptr: *const u8, len: usize) -> i64;
    }
}

/// Why the host refused a request, by the ABI's return code, with its reason (the host's
/// `last_error`); or why the plugin could not read what the host returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// -1: the request is malformed (bad JSON, bad URL, a key out of bounds).
    Invalid(String),
    /// -2: a per-call limit was reached.
    Limit(String),
    /// -3: the host could not do it: a network error, a timeout, the database.
    Host(String),
    /// -4: the key has no value. [`config`] and the state's readers return `None`
    /// instead.
    NotFound(String),
    /// -5: the operator's grant does not allow this request.
    Denied(String),
    /// What the host returned, or a value to send, is not the JSON expected.
    Json(String),
}

impl Error {
    /// The error of a negative return code, with the host's reason.
    pub(crate) fn from_code(code: i64) -> Error {
        let reason = crate::last_error();
        match code {
            -1 => Error::Invalid(reason),
            -2 => Error::Limit(reason),
            -4 => Error::NotFound(reason),
            -5 => Error::Denied(reason),
            _ => Error::Host(reason),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m)
            | Error::Limit(m)
            | Error::Host(m)
            | Error::NotFound(m)
            | Error::Denied(m)
            | Error::Json(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// An [`Error`] fails a call with its message, so `?` works in a call's body.
impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

/// check passes what a host function returned through, or maps a negative code to its
/// error.
pub(crate) fn check(n: i64) -> std::result::Result<i64, Error> {
    if n < 0 {
        return Err(Error::from_code(n));
    }
    Ok(n)
}

/// produced reads the document of length n that a host function returned, or maps a
/// negative n to its error; -4 is `Ok(None)` when missing is allowed.
pub(crate) fn produced(n: i64, missing: bool) -> std::result::Result<Option<Vec<u8>>, Error> {
    if n == -4 && missing {
        return Ok(None);
    }
    let n = check(n)?;
    let mut doc = vec![0u8; n as usize];
    // SAFETY: the host writes at most doc.len() bytes into doc.
    unsafe { host::fc_result(doc.as_mut_ptr(), doc.len()) };
    Ok(Some(doc))
}

/// The operator's configuration value for key (`sandbox.plugins.<name>.config.<key>`),
/// secrets resolved, or `None` when the operator set none. Never log a secret.
pub fn config(key: &str) -> std::result::Result<Option<String>, Error> {
    // SAFETY: the host reads key during the call only.
    let n = unsafe { host::fc_config(key.as_ptr(), key.len()) };
    Ok(produced(n, true)?.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// An outbound HTTP request: `Request::post(url).header("Authorization", "Bearer …")
/// .json(&body)?`, sent with [`http`].
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    method: String,
    url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

impl Request {
    /// A request with method ("GET", "POST", ...) to url, an absolute http or https URL.
    pub fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// A GET request.
    pub fn get(url: &str) -> Self {
        Request::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: &str) -> Self {
        Request::new("POST", url)
    }

    /// Sets a header. The host adds `Idempotency-Key` unless the request sets one.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets a text body.
    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets value, written as JSON, as the body, and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> std::result::Result<Self, Error> {
        let body = serde_json::to_string(value).map_err(|e| Error::Json(e.to_string()))?;
        Ok(self.header("Content-Type", "application/json").body(&body))
    }
}

/// The response to a [`Request`]: any status is a response, 404 and 500 included.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Response {
    pub status: u16,
    /// Several values of one header are joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body, when it is UTF-8 text.
    pub body: String,
    /// The body as standard base64, when it is not UTF-8.
    #[serde(rename = "bodyBase64")]
    pub body_base64: Option<String>,
}

impl Response {
    /// Tells whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Makes an outbound HTTP request and waits for the whole response. A URL outside the
/// operator's grant is [`Error::Denied`]; a network failure or timeout [`Error::Host`].
pub fn http(request: &Request) -> std::result::Result<Response, Error> {
    let req = serde_json::to_string(request).map_err(|e| Error::Json(e.to_string()))?;
    // SAFETY: the host reads req during the call only.
    let n = unsafe { host::fc_http(req.as_ptr(), req.len()) };
    let doc = produced(n, false)?.unwrap_or_default();
    serde_json::from_slice(&doc).map_err(|e| Error::Json(format!("the response: {}", e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_is_the_abi_document() {
        let req = Request::post("https://api.mail.example/v1/send")
            .header("Authorization", "Bearer t")
            .json(&json!({"to": "ada@example.com"}))
            .unwrap();
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"method": "POST", "url": "https://api.mail.example/v1/send",
                "headers": {"Authorization": "Bearer t", "Content-Type": "application/json"},
                "body": "{\"to\":\"ada@example.com\"}"})
        );
        assert_eq!(
            serde_json::to_value(Request::get("http://127.0.0.1:1/")).unwrap(),
            json!({"method": "GET", "url": "http://127.0.0.1:1/"})
        );
    }

    #[test]
    fn response_reads_the_abi_document() {
        let r: Response = serde_json::from_str(
            r#"{"status": 503, "headers": {"Retry-After": "1"}, "body": "try again"}"#,
        )
        .unwrap();
        assert_eq!(
            (
                r.status,
                r.body.as_str(),
                r.headers["Retry-After"].as_str(),
                r.is_success()
            ),
            (503, "try again", "1", false)
        );
        let r: Response =
            serde_json::from_str(r#"{"status": 204, "headers": {}, "bodyBase64": "/w=="}"#)
                .unwrap();
        assert!(r.is_success());
        assert_eq!(r.body_base64.as_deref(), Some("/w=="));
    }

    #[test]
    fn an_error_fails_a_call_with_its_message() {
        let message: String = Error::Denied("GET http://10.0.0.5/: not allowed".into()).into();
        assert_eq!(message, "GET http://10.0.0.5/: not allowed");
    }
}
