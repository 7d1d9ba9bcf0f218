//! The wasm-hostcall guest module, built for `wasm32-unknown-unknown` by this crate's build script.
//!
//! Hosts and tests depend on this crate to get [`GUEST_WASM`] without a separate build step.
#![forbid(unsafe_code)]

/// The bytes of the guest module (`guest/`), built with the workspace's `guest` profile.
pub const GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.wasm"));
