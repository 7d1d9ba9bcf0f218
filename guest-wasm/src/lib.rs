//! The wasm-hostcall guests, built for `wasm32-unknown-unknown` by this crate's build script: the
//! core module ([`GUEST_WASM`], the ABI of `common`) and the component ([`GUEST_COMPONENT`], the
//! world of `wit/wasm-hostcall.wit`); with the `extism` feature, the Extism plugin too
//! (`GUEST_EXTISM`, `guest-extism`); and the comparison's workloads ([`GUEST_WORKLOADS`],
//! `guest-workloads`), a module that imports nothing.
//!
//! Hosts and tests depend on this crate to get them without a separate build step.
#![forbid(unsafe_code)]

/// The bytes of the guest module (`guest/`), built with the workspace's `guest` profile.
pub const GUEST_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.wasm"));

/// The bytes of the guest component (`guest-component/`): its core module built with the same
/// profile, wrapped into a component by `wit_component::ComponentEncoder`.
pub const GUEST_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.component.wasm"));

/// The bytes of the workloads guest (`guest-workloads`): SHA-256, JSON and deflate (the
/// `workloads` crate), built with the workspace's `workloads` profile (optimised for speed).
pub const GUEST_WORKLOADS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.workloads.wasm"));

/// The bytes of the Extism plugin (`guest-extism`), built with the same profile.
#[cfg(feature = "extism")]
pub const GUEST_EXTISM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.extism.wasm"));
