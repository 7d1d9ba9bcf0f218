//! The host imports, declared once, behind safe wrappers.

use common::{AB, CD, ab_config};

/// The raw imports. Names and signatures must match `common::Import` (the hosts check every
/// module's imports against that table before they instantiate it).
mod ffi {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub(super) fn log_int(value: i32);
        pub(super) fn log_str(ptr: *const u8, len: usize);
        pub(super) fn log_ab(ptr: *const u8, len: usize);
        pub(super) fn log_cd(ptr: *const u8, len: usize);
    }
}

/// Logs a plain value.
pub(crate) fn log_int(value: i32) {
    // SAFETY: the import takes a plain value and reads no memory.
    unsafe { ffi::log_int(value) }
}

/// Logs a string; the host reads it in place.
pub(crate) fn log_str(s: &str) {
    // SAFETY: `s` is valid for `s.len()` bytes for the whole call, and the host only reads them.
    unsafe { ffi::log_str(s.as_ptr(), s.len()) }
}

/// Logs an [`AB`], bincode-encoded.
pub(crate) fn log_ab(ab: &AB) {
    let bytes = match bincode::serde::encode_to_vec(ab, ab_config()) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encoding an AB failed: {e}"),
    };
    log_ab_bytes(&bytes);
}

/// Passes raw bytes to `log_ab` (for testing what the host does with them).
pub(crate) fn log_ab_bytes(bytes: &[u8]) {
    // SAFETY: `bytes` is valid for `bytes.len()` bytes for the whole call; the host only reads.
    unsafe { ffi::log_ab(bytes.as_ptr(), bytes.len()) }
}

/// Logs a [`CD`] as its 40-byte wire image.
pub(crate) fn log_cd(cd: &CD) {
    let wire = cd.to_wire();
    let bytes = bytemuck::bytes_of(&wire);
    // SAFETY: `bytes` is valid for 40 bytes for the whole call; the host only reads them.
    unsafe { ffi::log_cd(bytes.as_ptr(), bytes.len()) }
}
