//! `host-dlr`: runs the wasm-hostcall guest on dlr-wasm-interpreter and prints what it logged.
//!
//! ```text
//! cargo run -p host-dlr                                  # the built-in guest's `hello`
//! cargo run -p host-dlr -- --guest my.wat --invoke run   # another module built against the ABI
//! cargo run -p host-dlr -- --help                        # every flag (limits included)
//! ```
//!
//! The output format and the exit status are the same on every host: see `harness::cli`.

fn main() -> std::process::ExitCode {
    harness::cli::main::<host_dlr::Dlr>()
}
