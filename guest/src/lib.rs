//! The wasm-hostcall guest: a Rust module for `wasm32-unknown-unknown` that calls the four host
//! imports of the ABI defined in `common`.
//!
//! Built by `guest-wasm`'s build script; on any other target this crate is empty.
//!
//! Exports:
//! - `hello() -> i32`: the demo. Logs `1234`, `"Hello World!"`, `AB { a: 1234, b: "abcd" }` and
//!   `CD { c: 1234, d: "hello world" }`, then returns 4567.
//! - `scenario_*`: the scenario matrix of the conformance suite (module `scenarios`).
//! - `noop()` and `kernel(limit) -> i32`: for the comparison report.
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
    host::log_ab(&AB { a: 1234, b: "abcd".into() });
    host::log_cd(&cd(1234, "hello world"));
    4567
}

/// Does nothing: the comparison report times calls of it from the host.
#[unsafe(no_mangle)]
pub extern "C" fn noop() {}

/// The comparison report's compute kernel: how many primes are below `limit`
/// ([`common::kernel::count_primes`], the same source the host runs natively to check it).
#[unsafe(no_mangle)]
pub extern "C" fn kernel(limit: i32) -> i32 {
    common::kernel::count_primes(limit.cast_unsigned()).cast_signed()
}

/// A `CD` from a text known to fit.
fn cd(c: i32, d: &str) -> CD {
    match CD::new(c, d) {
        Ok(cd) => cd,
        // A guest bug, not a host fault: trap.
        Err(e) => panic!("{e}"),
    }
}

/// The scenario matrix of the conformance suite: each `scenario_*` export exercises edge values
/// of one import. `tests/tests/scenarios.rs` runs every export whose name starts with `scenario_`
/// on every runtime and compares it with `tests/golden/scenarios/NAME.txt`.
pub mod scenarios {
    use super::{cd, host};
    use common::{AB, AB_DECODE_LIMIT, CD_TEXT_MAX};

    /// `len` bytes of text cycling through one-, two-, three- and four-byte characters, cut at a
    /// character boundary.
    fn mixed_text(len: usize) -> String {
        let mut text = String::with_capacity(len);
        for c in "aé€😀 ".chars().cycle() {
            if text.len() + c.len_utf8() > len {
                break;
            }
            text.push(c);
        }
        text
    }

    /// `log_int` with 0, -1, 1, `i32::MIN`, `i32::MAX`.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_int_edges() {
        for value in [0, -1, 1, i32::MIN, i32::MAX] {
            host::log_int(value);
        }
    }

    /// `log_str` with the empty string, one byte, accents, CJK, emoji and a zero byte.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_str_small() {
        host::log_str("");
        host::log_str("x");
        host::log_str("accents: àéîõü ñ ç");
        host::log_str("CJK: 漢字かなカナ 한글");
        host::log_str("emoji: 😀👍🏽🇫🇷");
        host::log_str("a zero byte: [\0]");
    }

    /// `log_str` with terminal control sequences: the hosts must print them escaped.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_str_control_characters() {
        host::log_str("escape: \u{1b}[31mred\u{1b}[0m, bell: \u{7}, newline: \n, tab: \t, quote: \", backslash: \\");
    }

    /// `log_str` with 64 KiB of mixed-width UTF-8.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_str_64_kib() {
        host::log_str(&mixed_text(64 * 1024));
    }

    /// `log_str` with 1 MiB of mixed-width UTF-8.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_str_1_mib() {
        host::log_str(&mixed_text(1024 * 1024));
    }

    /// `log_ab` with an empty `b`, `a = u32::MAX`, the varint boundaries 250/251 and unicode `b`.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_ab_edges() {
        host::log_ab(&AB { a: 0, b: String::new() });
        host::log_ab(&AB { a: u32::MAX, b: "max".into() });
        host::log_ab(&AB { a: 250, b: "varint boundary 250".into() });
        host::log_ab(&AB { a: 251, b: "varint boundary 251".into() });
        host::log_ab(&AB { a: 7, b: "unicode: 漢字 😀 é".into() });
    }

    /// An AB whose encoding is exactly the decode limit (1 byte for `a`, 3 for the length).
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_ab_at_the_limit() {
        host::log_ab(&AB { a: 0, b: "x".repeat(AB_DECODE_LIMIT - 4) });
    }

    /// One byte over the decode limit: refused.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_ab_over_the_limit() {
        host::log_int(1);
        host::log_ab(&AB { a: 0, b: "x".repeat(AB_DECODE_LIMIT - 3) });
    }

    /// `log_cd` with empty text, negative and extreme `c`, 32 bytes of text, and multi-byte characters ending at byte 32.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_cd_edges() {
        host::log_cd(&cd(0, ""));
        host::log_cd(&cd(-1, "negative"));
        host::log_cd(&cd(i32::MIN, "min"));
        host::log_cd(&cd(i32::MAX, &"z".repeat(CD_TEXT_MAX)));
        // 30 ASCII bytes, then a two-byte character ending exactly at byte 32.
        host::log_cd(&cd(2, &format!("{}é", "a".repeat(30))));
        // Eight four-byte characters: 32 bytes.
        host::log_cd(&cd(3, "😀😀😀😀😀😀😀😀"));
    }

    /// The guest panics after logging: a Rust panic on wasm32 is an `unreachable` trap.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_guest_panics() -> i32 {
        host::log_str("about to panic");
        let values: Vec<i32> = Vec::new();
        std::hint::black_box(&values).first().copied().unwrap_or_else(|| panic!("no values"))
    }

    /// All four imports, many times: the order of events must be kept.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_interleaved() -> i32 {
        for i in 0..5 {
            host::log_int(i);
            host::log_str(&format!("string {i}"));
            host::log_ab(&AB { a: i.cast_unsigned(), b: format!("ab {i}") });
            host::log_cd(&cd(-i, &format!("cd {i}")));
        }
        20
    }
}
