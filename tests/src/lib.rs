//! Cross-runtime tests of wasm-hostcall: every runtime of the registry (`runtimes::RUNTIMES`) runs
//! the same guests and must agree with the others and with the golden files in `tests/golden/`.
//!
//! The tests are in `tests/tests/conformance/` (one test binary); this library holds what the
//! tests and the load example share (the [`soak`]).
#![forbid(unsafe_code)]

pub mod soak;
