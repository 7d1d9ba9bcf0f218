//! The benchmark imports: no-op functions with the signatures of the ABI's imports, provided only
//! when [`crate::Config::bench_imports`] is set. The comparison tool times a loop calling a real
//! import and the same loop calling the no-op of the same signature; the difference is the
//! import's own work (decoding and recording), the no-op alone is the cost of crossing into the
//! host.

use common::ValType;

/// The module name of the benchmark imports.
pub const MODULE: &str = "bench";

/// `noop_i32(i32)`: the signature of `log_int`.
pub const NOOP_I32: &str = "noop_i32";

/// `noop_i32_i32(i32, i32)`: the signature of `log_str`, `log_ab` and `log_cd`.
pub const NOOP_I32_I32: &str = "noop_i32_i32";

/// The benchmark imports and their parameters (none returns a value).
pub const IMPORTS: [(&str, &[ValType]); 2] =
    [(NOOP_I32, &[ValType::I32]), (NOOP_I32_I32, &[ValType::I32, ValType::I32])];
