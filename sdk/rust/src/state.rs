//! The plugin's state: a key-value store of its own, in the host's database. A call reads
//! the committed state plus its own writes; its writes ([`put`], [`delete`]) apply only
//! if it succeeds, in the transaction that records its outcome. When calls of a plugin
//! run at once, a call whose read keys changed meanwhile fails with a state conflict and
//! is retried by its policy (abi/README.md, *Concurrent calls*).

use crate::capabilities::{check, host, produced, Error};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The value under key, or `None` when it has none.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    // SAFETY: the host reads key during the call only.
    produced(unsafe { host::fc_state_get(key.as_ptr(), key.len()) }, true)
}

/// The value under key read as JSON into a T, or `None` when it has none.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    match get(key)? {
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| Error::Json(format!("state {}: {}", key, e))),
        None => Ok(None),
    }
}

/// Sets the value under key, if the call succeeds.
pub fn put(key: &str, value: &[u8]) -> Result<(), Error> {
    // SAFETY: the host reads key and value during the call only.
    let n = unsafe { host::fc_state_put(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
    check(n).map(|_| ())
}

/// Sets value, written as JSON, under key, if the call succeeds.
pub fn put_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    let v = serde_json::to_vec(value).map_err(|e| Error::Json(format!("state {}: {}", key, e)))?;
    put(key, &v)
}

/// Deletes the value under key, if the call succeeds.
pub fn delete(key: &str) -> Result<(), Error> {
    // SAFETY: the host reads key during the call only.
    let n = unsafe { host::fc_state_delete(key.as_ptr(), key.len()) };
    check(n).map(|_| ())
}
