//! Links the guest with a 32 KiB stack instead of Rust's default for wasm32 (1 MiB).
//!
//! `wasm32-unknown-unknown` puts the stack first in linear memory and makes the initial memory
//! the stack plus the data: with the default stack, 17 pages (1.06 MiB) that every instance
//! starts with, and that runtimes which allocate linear memory up front (the interpreters) pay
//! for in full. This guest's deepest call uses 320 bytes of it (`tests/tests/conformance/guest_stack.rs`,
//! which fails past half the stack; README, Details a guest author needs), so 32 KiB leaves
//! headroom and the initial memory is one page. A guest that overflows its stack traps (the
//! stack grows down from its top towards address 0, below which is out of bounds); it does not
//! overwrite its data.
//!
//! The knob for your own guest: `cargo::rustc-link-arg=-zstack-size=N` in its build script (or
//! `-C link-arg=-zstack-size=N` in `RUSTFLAGS`). The trade-off: a smaller stack is less memory
//! per instance on every runtime that allocates memory eagerly and fewer pages to touch, against
//! the deepest recursion the guest can run.

/// The guest's stack, in bytes: a multiple of 16 (the stack pointer's alignment).
const STACK_SIZE: u32 = 32 * 1024;

fn main() {
    // Only when linking for Wasm; a build for the host (clippy, `cargo test --workspace`) links
    // with the host's linker, which knows no such flag.
    if std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32") {
        println!("cargo::rustc-link-arg=-zstack-size={STACK_SIZE}");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
