//! The key-value store the `kv_get` import reads: what a host function that waits for I/O looks
//! up.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future that may move between threads: what an async lookup returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A key-value store for `kv_get`.
///
/// A synchronous host calls [`KvStore::get`] inside the import and waits there, holding its
/// thread, for as long as the lookup takes. An asynchronous host (wasmtime's and wasmi's `async`
/// tiers) suspends the guest and awaits [`KvStore::get_async`]: the thread runs other requests
/// meanwhile. Both must give the same value for the same key.
pub trait KvStore: fmt::Debug + Send + Sync {
    /// The value of `key`, if the store has one.
    fn get(&self, key: &str) -> Option<Vec<u8>>;

    /// [`KvStore::get`] as a future. The default runs `get` when polled (it blocks if `get`
    /// does): a store that waits for I/O overrides it.
    fn get_async<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(std::future::ready(self.get(key)))
    }
}

/// The store a [`crate::Recorder`] reads unless given another: a stand-in for a real store, the
/// same on every runtime, so that outputs can be compared. Every key has the value `value of KEY`,
/// except the empty key and the keys that start with `missing`, which it does not have. A lookup
/// takes [`DemoStore::delay`] (none by default): [`KvStore::get`] sleeps on the calling thread, as
/// blocking I/O would; [`KvStore::get_async`] awaits a tokio timer (it must be polled within a
/// tokio runtime with time enabled when the delay is not zero).
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

    fn get_async<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            DemoStore::value(key)
        })
    }
}
