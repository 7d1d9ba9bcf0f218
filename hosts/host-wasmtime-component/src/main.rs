//! `host-wasmtime-component`: runs a component of the world `wit/wasm-hostcall.wit` (by
//! default the built-in guest component) on wasmtime's component model, and prints what it
//! logged. Flags and output as every host's (`--help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    harness::cli::main::<host_wasmtime_component::WasmtimeComponent>()
}
