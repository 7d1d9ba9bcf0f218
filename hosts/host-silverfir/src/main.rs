//! `host-silverfir`: runs the wasm-hostcall guest on Silverfir-nano and prints what it logged.
//!
//! ```text
//! cargo run -p host-silverfir                                  # the built-in guest's `hello`
//! cargo run -p host-silverfir -- --guest my.wat --invoke run   # another module built against the ABI
//! cargo run -p host-silverfir -- --tier interp                 # its interpreter instead of its JIT
//! cargo run -p host-silverfir -- --help                        # every flag (limits included)
//! ```
//!
//! The output format and the exit status are the same on every host: see `harness::cli`.

fn main() -> std::process::ExitCode {
    harness::cli::main::<host_silverfir::Silverfir>()
}
