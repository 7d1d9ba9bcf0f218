//! The wasm-hostcall guest: a Rust module for `wasm32-unknown-unknown` that calls the four host
//! imports of the ABI defined in `common`.
//!
//! Built by `guest-wasm`'s build script; on any other target this crate is empty.
//!
//! Exports:
//! - `hello() -> i32`: the demo. Logs `1234`, `"Hello World!"`, `AB { a: 1234, b: "abcd" }` and
//!   `CD { c: 1234, d: "hello world" }`, then returns 4567.
#![cfg(target_arch = "wasm32")]
// A guest is FFI by nature: `unsafe extern` imports and `no_mangle` exports. Every `unsafe` block
// is in `host.rs`, behind a safe wrapper, with its SAFETY comment.
#![allow(unsafe_code)]

mod host;

use common::{AB, CD};

/// The demo: one call of each import, in ABI order.
#[unsafe(no_mangle)]
pub extern "C" fn hello() -> i32 {
    host::log_int(1234);
    host::log_str("Hello World!");
    host::log_ab(&AB {
        a: 1234,
        b: "abcd".into(),
    });
    host::log_cd(&cd(1234, "hello world"));
    4567
}

/// A `CD` from a text known to fit.
fn cd(c: i32, d: &str) -> CD {
    match CD::new(c, d) {
        Ok(cd) => cd,
        // A guest bug, not a host fault: trap.
        Err(e) => panic!("{e}"),
    }
}
