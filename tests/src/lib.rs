//! Cross-runtime tests of wasm-hostcall: the three hosts run the same guests and must agree with
//! each other and with the golden files in `tests/golden/`.
//!
//! This library holds the one list of runtimes ([`engines`]); the tests are in `tests/tests/`.

use harness::{DynEngine, Failure, Limits};

/// The runtimes, in report order.
pub const RUNTIMES: [&str; 3] = ["wasmtime", "wasmer", "wasmi"];

/// One engine per runtime, each enforcing `limits`, in [`RUNTIMES`] order.
pub fn engines(limits: &Limits) -> Result<Vec<Box<dyn DynEngine>>, Failure> {
    let engines: Vec<Box<dyn DynEngine>> = vec![
        Box::new(<host_wasmtime::Wasmtime as harness::Engine>::new(limits)?),
        Box::new(<host_wasmer::Wasmer as harness::Engine>::new(limits)?),
        Box::new(<host_wasmi::Wasmi as harness::Engine>::new(limits)?),
    ];
    debug_assert!(engines.iter().map(|e| e.name()).eq(RUNTIMES));
    Ok(engines)
}
