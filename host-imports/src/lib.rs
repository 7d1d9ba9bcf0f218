//! The runtime-neutral bodies of the wasm-hostcall imports: what a host you copy depends on.
//!
//! Each host's `src/imports.rs` binds the ABI's imports on one runtime; every body is one call
//! into this crate, which decodes, checks and writes guest memory with the `common` ABI:
//!
//! - [`Recorder`]: the import bodies (`log_*`, `answer_*`, `request_read`, `respond_*`, the two
//!   halves of `answer_*_alloc`), the events they keep, the state of a call with input, and the
//!   guard that refuses re-entry while the host waits on the guest's allocator;
//! - [`GuestAllocator`]: the guest's allocator export as an instance found it;
//! - [`KvStore`]: the key-value store `kv_get` reads ([`DemoStore`] unless the host sets one);
//! - [`HostError`] and [`HostErrorKind`]: why a host function made the guest's call trap, with
//!   a short stable name for each kind.
//!
//! A panic in a body (a bug) is caught and returned as [`HostErrorKind::Panic`]: under some
//! runtimes (wasmi) a panic unwinding out of a host function aborts the process.
//!
//! This crate depends on `common` (and tokio's timer, for the demo store's async delay) and
//! nothing else: no runtime, no CLI, no test helpers. The
//! rest of wasm-hostcall's host side (the `Engine` trait, faults, limits, the CLI) is `harness`,
//! which builds on it.
#![forbid(unsafe_code)]

mod error;
mod kv;
mod recorder;

pub use error::{HostError, HostErrorKind};
pub use kv::{BoxFuture, DemoStore, KvStore};
pub use recorder::{GuestAllocator, KvLookup, Recorder, Sink};
