//! The wasm-hostcall guest: a Rust module for `wasm32-unknown-unknown` that calls the four host
//! imports of the ABI defined in `common`.
//!
//! Built by `guest-wasm`'s build script; on any other target this crate is empty.
//!
//! Exports:
//! - `hello() -> i32`: the demo. Logs `1234`, `"Hello World!"`, `AB { a: 1234, b: "abcd" }` and
//!   `CD { c: 1234, d: "hello world" }`, then returns 4567.
//! - `handle(request_len) -> status` and `handle_ab`, `handle_cd`, `handle_echo`: handlers the
//!   host calls with a request (module `handlers`): they read it with `request_read`, ask the host
//!   for an answer (into a buffer, or through `guest_alloc`) and respond with it; and
//!   `handle_panics`, `handle_spins`, `handle_grows`, `handle_bad_response`, handlers that fail
//!   their request each in its own way (module `handlers::hostile`).
//! - `handle_kv`: a handler that looks its request up in the host's key-value store (`kv_get`).
//! - `guest_alloc(size, align) -> ptr`: the allocator the host calls for `answer_*_alloc`.
//! - `scenario_*`: the scenario matrix of the conformance suite (modules `scenarios` and
//!   `return_path`).
//! - `noop()` and `kernel(limit) -> i32`: for the comparison report.
#![cfg(target_arch = "wasm32")]
// A guest is FFI by nature: `unsafe extern` imports and `no_mangle` exports. Every `unsafe` block
// is in `host.rs`, behind a safe wrapper, or in `heap.rs` (the allocator), with its SAFETY comment.
#![allow(unsafe_code)]

mod heap;
mod host;

use common::{AB, CD};
pub use host::guest_alloc;

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
/// of one import. `tests/tests/conformance/scenarios.rs` runs every export whose name starts with `scenario_`
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

/// Handlers: exports the host calls with a request (`harness::Instance::call_with_input`, or
/// `--input` on the command line). Each returns 0 after responding, or a status of its own when
/// the request is not what it expects (1: not UTF-8, 2: not an `AB`, 3: not a `CD`; a request
/// `handle_echo` cannot respond with ends in the host's `host.invalid-utf8`). The good ones read
/// the request with `host::with_request` (one host call, into a buffer of the length the host
/// passes, on the stack when small); the hostile ones with `host::request` (a size query, then a
/// `Vec`), as a guest that keeps its request would.
pub mod handlers {
    use crate::host::{self, Kind};

    /// Greets the request: reads it as a name, asks the host for the greeting into a buffer of
    /// the exact size (`answer_str`), responds with it. `--input Wasm` responds `Hello, Wasm!`.
    #[unsafe(no_mangle)]
    pub extern "C" fn handle(request_len: i32) -> i32 {
        host::with_request(request_len, |request| {
            if core::str::from_utf8(request).is_err() {
                return 1;
            }
            host::respond(Kind::Str, &host::answer(Kind::Str, request));
            0
        })
    }

    /// Reads an `AB` (bincode), asks the host for its answer through `guest_alloc`
    /// (`answer_ab_alloc`), responds with it.
    #[unsafe(no_mangle)]
    pub extern "C" fn handle_ab(request_len: i32) -> i32 {
        host::with_request(request_len, |request| {
            let Ok(len) = u32::try_from(request.len()) else { return 2 };
            if common::decode_ab(request, 0, len).is_err() {
                return 2;
            }
            host::respond(Kind::Ab, &host::answer_alloc(Kind::Ab, request));
            0
        })
    }

    /// Reads a `CD` (40 bytes), asks the host for its answer through `guest_alloc`
    /// (`answer_cd_alloc`), responds with it.
    #[unsafe(no_mangle)]
    pub extern "C" fn handle_cd(request_len: i32) -> i32 {
        host::with_request(request_len, |request| {
            let Ok(len) = u32::try_from(request.len()) else { return 3 };
            if common::decode_cd(request, 0, len).is_err() {
                return 3;
            }
            host::respond(Kind::Cd, &host::answer_alloc(Kind::Cd, request));
            0
        })
    }

    /// Responds with the request itself, as text: the cost of moving data in and out. The guest
    /// does not validate the text itself (the host validates every response), so that the
    /// comparison report times the transfer, not an interpreter's UTF-8 loop.
    #[unsafe(no_mangle)]
    pub extern "C" fn handle_echo(request_len: i32) -> i32 {
        host::with_request(request_len, |request| host::respond(Kind::Str, request));
        0
    }

    /// Greets the request, with what the host's key-value store holds for it (`kv_get`): the
    /// handler that waits for the host's I/O. `--input Wasm --invoke handle_kv` responds
    /// `Hello, Wasm! (value of Wasm)`, or `(not found)` for a key the store does not have.
    #[unsafe(no_mangle)]
    pub extern "C" fn handle_kv(request_len: i32) -> i32 {
        host::with_request(request_len, |request| {
            let Ok(name) = core::str::from_utf8(request) else { return 1 };
            let value = host::kv_get(name);
            let value = value.as_deref().map_or(Ok("not found"), core::str::from_utf8);
            let Ok(value) = value else { return 1 };
            let greeting = format!("{} ({value})", common::greeting(name));
            host::respond(Kind::Str, greeting.as_bytes());
            0
        })
    }

    /// Misbehaving handlers, one per way a guest can fail a request: what a server must survive
    /// (`serve`'s load test mixes them with good requests). Each reads its request first, as a
    /// real handler would.
    pub mod hostile {
        use crate::host::{self, Kind};

        /// Panics in the middle of the call (`trap.unreachable`: the guest is built with
        /// `panic = "abort"`).
        #[unsafe(no_mangle)]
        pub extern "C" fn handle_panics(_request_len: i32) -> i32 {
            let request = host::request();
            panic!("cannot handle a request of {} bytes", request.len());
        }

        /// Never returns: only fuel or a timeout stops it.
        #[unsafe(no_mangle)]
        pub extern "C" fn handle_spins(_request_len: i32) -> i32 {
            let request = host::request();
            let mut n = request.len();
            loop {
                n = core::hint::black_box(n.wrapping_add(1));
            }
        }

        /// Allocates 1 MiB after 1 MiB and keeps it all, until the allocator fails at the host's
        /// memory limit (`memory.grow` returns -1) and the guest aborts (`trap.unreachable`).
        #[unsafe(no_mangle)]
        pub extern "C" fn handle_grows(_request_len: i32) -> i32 {
            let mut kept = vec![host::request()];
            loop {
                kept.push(Vec::with_capacity(1 << 20));
                core::hint::black_box(&kept);
            }
        }

        /// Responds with text that is not UTF-8 (`host.invalid-utf8`).
        #[unsafe(no_mangle)]
        pub extern "C" fn handle_bad_response(_request_len: i32) -> i32 {
            let mut response = host::request();
            response.extend_from_slice(&[0xff, 0xfe]);
            host::respond(Kind::Str, &response);
            0
        }
    }
}

/// `kv_get`: keys the store has and has not, a value larger than the first buffer (a size query
/// then the call), the empty key, a key of the longest length, non-ASCII text.
pub mod lookups {
    use super::host;

    /// Logs the value of each key, or the key's length when the store does not have it; then the
    /// length a buffer too small is told it needs.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_kv_get() {
        let longest = "k".repeat(common::KV_KEY_MAX as usize);
        let long_value = "a-key-whose-value-needs-more-than-sixty-four-bytes-to-be-held";
        for key in ["user:1", "missing:1", "", "漢字 😀 é", long_value, &longest] {
            match host::kv_get(key) {
                Some(value) => host::log_str(core::str::from_utf8(&value).expect("the host answers UTF-8")),
                None => host::log_int(i32::try_from(key.len()).expect("a short key")),
            }
        }
        // A buffer too small: nothing written but the length it needs.
        let mut buf = [0xAAu8; 4];
        match host::kv_get_into("user:1", &mut buf) {
            Err(needed) => host::log_int(i32::try_from(needed).expect("a short value")),
            Ok(_) => panic!("a 4-byte buffer held the value"),
        }
        assert_eq!(buf, [0xAA; 4], "the host wrote into a buffer too small");
    }
}

/// The return path's scenarios: each pattern (a buffer the guest provides, the guest's
/// allocator) and each kind, at the edges. Each logs what the host answered, so that the golden
/// files show the answers.
pub mod return_path {
    use super::{cd, host};
    use crate::host::Kind;
    use common::AB;

    /// Logs an answer of `kind`, decoded.
    fn log_answer(kind: Kind, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).expect("answers are small");
        match kind {
            Kind::Str => host::log_str(core::str::from_utf8(bytes).expect("the host answers UTF-8")),
            Kind::Ab => host::log_ab(&common::decode_ab(bytes, 0, len).expect("the host answers an AB").into()),
            Kind::Cd => host::log_cd(&common::decode_cd(bytes, 0, len).expect("the host answers a CD")),
        }
    }

    /// Both patterns on `arg`: logs the answer into a buffer, then checks that the allocator's
    /// answer is the same.
    fn both(kind: Kind, arg: &[u8]) {
        let answer = host::answer(kind, arg);
        log_answer(kind, &answer);
        if host::answer_alloc(kind, arg) != answer {
            panic!("the two patterns answer differently");
        }
    }

    fn ab(a: u32, b: &str) -> Vec<u8> {
        host::ab_bytes(&AB { a, b: b.into() })
    }

    /// `answer_str`: empty, ASCII, multi-byte, control characters.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_str() {
        for name in ["", "Wasm", "漢字 😀 é", "\u{1b}[31m\n"] {
            both(Kind::Str, name.as_bytes());
        }
    }

    /// `answer_ab`: `a` wrapping at `u32::MAX`, the varint boundary 250 → 251, an empty `b`,
    /// Unicode upper-casing that changes the length (ß → SS).
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_ab() {
        for (a, b) in [(0, ""), (250, "varint"), (u32::MAX, "max"), (7, "straße, ǆ, ﬀ")] {
            both(Kind::Ab, &ab(a, b));
        }
    }

    /// `answer_cd`: `c` negated at the edges (`i32::MIN` stays), text kept, 32 bytes of text.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_cd() {
        for (c, d) in [(0, ""), (1234, "hello world"), (i32::MIN, "min"), (-1, "😀😀😀😀😀😀😀😀")] {
            both(Kind::Cd, &host::cd_bytes(&cd(c, d)));
        }
    }

    /// The buffer protocol step by step: a size query (`cap = 0`), one byte too small (nothing
    /// written: the canary stays), exactly fitting, one byte more than needed. Logs each status
    /// as `Ok(len)` / `Err(needed)` through `log_int` (len, or -needed) and the canary.
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_buffer_sizes() {
        let arg = "Wasm".as_bytes();
        let log = |result: Result<usize, usize>| match result {
            Ok(len) => host::log_int(i32::try_from(len).expect("small")),
            Err(needed) => host::log_int(-i32::try_from(needed).expect("small")),
        };
        log(host::answer_into(Kind::Str, arg, &mut []));
        let needed = "Hello, Wasm!".len();
        let mut buf = vec![0xC5u8; needed + 1];
        let (small, _) = buf.split_at_mut(needed - 1);
        log(host::answer_into(Kind::Str, arg, small));
        host::log_int(i32::from(buf.iter().all(|&b| b == 0xC5)));
        let (exact, canary) = buf.split_at_mut(needed);
        log(host::answer_into(Kind::Str, arg, exact));
        host::log_str(core::str::from_utf8(exact).expect("UTF-8"));
        host::log_int(i32::from(canary[0]));
        let mut roomy = vec![0u8; needed + 1];
        log(host::answer_into(Kind::Str, arg, &mut roomy));
        let mut cd_buf = [0u8; 39];
        log(host::answer_into(Kind::Cd, &host::cd_bytes(&cd(5, "five")), &mut cd_buf));
    }

    /// A 1 MiB text answered both ways (a 1 MiB + 8 byte greeting).
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_1_mib() {
        let name = "é".repeat(512 * 1024);
        both(Kind::Str, name.as_bytes());
    }

    /// 10,000 answers of each pattern in a row: the guest's memory must not grow (every answer
    /// freed). Logs the number of answers, then the growth in pages (0).
    #[unsafe(no_mangle)]
    pub extern "C" fn scenario_answer_10000_calls() {
        // Warm the allocator up first, so that its first growth is not counted.
        let _ = host::answer(Kind::Str, b"warm");
        let _ = host::answer_alloc(Kind::Str, b"warm");
        let before = core::arch::wasm32::memory_size(0);
        let mut answers = 0;
        let cd_arg = host::cd_bytes(&cd(42, "forty-two"));
        for i in 0..10_000 {
            let (kind, arg) = match i % 3 {
                0 => (Kind::Str, b"Wasm".to_vec()),
                1 => (Kind::Ab, ab(i, "loop")),
                _ => (Kind::Cd, cd_arg.to_vec()),
            };
            if host::answer(kind, &arg) == host::answer_alloc(kind, &arg) {
                answers += 2;
            }
        }
        host::log_int(answers);
        let grown = core::arch::wasm32::memory_size(0) - before;
        host::log_int(i32::try_from(grown).expect("pages"));
    }
}
