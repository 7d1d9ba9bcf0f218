//! The key-value store the `kv_get` import reads: what a host function that waits for I/O looks
//! up.

use std::fmt;
use std::time::Duration;

/// A key-value store for `kv_get`. A synchronous host calls [`KvStore::get`] inside the import
/// and waits there, holding its thread, for as long as the lookup takes.
pub trait KvStore: fmt::Debug + Send + Sync {
    /// The value of `key`, if the store has one.
    fn get(&self, key: &str) -> Option<Vec<u8>>;
}

/// The store a [`crate::Recorder`] reads unless given another: a stand-in for a real store, the
/// same on every runtime, so that outputs can be compared. Every key has the value `value of KEY`,
/// except the empty key and the keys that start with `missing`, which it does not have. A lookup
/// takes [`DemoStore::delay`] (none by default), slept on the calling thread, as blocking I/O
/// would.
#[derive(Debug, Clone, Default)]
pub struct DemoStore {
    /// How long each lookup takes.
    pub delay: Duration,
}

impl DemoStore {
    /// The value of `key` in this store, without the delay.
    pub fn value(key: &str) -> Option<Vec<u8>> {
        (!key.is_empty() && !key.starts_with("missing")).then(|| format!("value of {key}").into_bytes())
    }
}

impl KvStore for DemoStore {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        DemoStore::value(key)
    }
}
