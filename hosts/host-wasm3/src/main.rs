//! `host-wasm3`: runs the wasm-hostcall guest on wasm3 and prints what it logged.
//!
//! ```text
//! cargo run -p host-wasm3 --features wasm3                                  # the built-in guest's `hello`
//! cargo run -p host-wasm3 --features wasm3 -- --guest my.wat --invoke run   # another module built against the ABI
//! cargo run -p host-wasm3 --features wasm3 -- --help                        # every flag (limits included)
//! ```
//!
//! The output format and the exit status are the same on every host: see `harness::cli`. wasm3
//! cannot meter fuel, so this binary runs without a fuel limit unless `--fuel` asks for one, which
//! it then refuses.

fn main() -> std::process::ExitCode {
    harness::cli::main::<host_wasm3::Wasm3>()
}
