//! The wasm-hostcall imports on [WAMR](https://github.com/bytecodealliance/wasm-micro-runtime), the
//! WebAssembly Micro Runtime, in its fast interpreter, through the
//! [`wamrx-sys`](https://docs.rs/wamrx-sys) bindings.
//!
//! Everything is behind the `wamr` feature: WAMR is C, built with CMake, and its bindings are
//! generated with bindgen, so building it needs `cmake` and `libclang` on the machine. Without the
//! feature this crate is empty, and the workspace builds without them.
//!
//! `Wamr` implements [`harness::Engine`]. WAMR's runtime is one per process: it is initialised
//! once, and the imports of the ABI are registered once in its global registry of host functions
//! (WAMR resolves a module's imports when it loads the module, not per instance). A module is
//! loaded once, when it is compiled, from a copy of the validated bytes (WAMR changes and keeps
//! the buffer it loads), and every instance is made from it, on any thread, each with its own
//! module instance and execution environment, keeping its [`harness::Recorder`] in the module
//! instance's custom data. (Until 2026-12-03 each instance loaded the module again: 2 ms per
//! instance of our guest, 110x wasmtime's instantiation.)
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`harness::Recorder`], which decodes and writes guest memory with the `common` ABI;
//! they are registered with plain `i32` signatures, so that WAMR never translates a guest pointer
//! and the `common` decoders see the guest's raw offsets. `examples/embed.rs`
//! (`--example embed-wamr`) embeds the guest in a page of plain WAMR code, without this crate.
//!
//! # Limits
//!
//! | limit              | how                                                                     |
//! |--------------------|-------------------------------------------------------------------------|
//! | `fuel`             | WAMR instruction metering (`wasm_runtime_set_instruction_count_limit`)  |
//! | `max_memory_bytes` | `max_memory_pages` of `wasm_runtime_instantiate_ex`                     |
//! | tables             | each table's maximum rewritten to at most the limit before loading     |
//! | stack              | the execution environment's stack, `STACK_SIZE` bytes (64 KiB)            |
//! | `timeout`          | `wasm_runtime_terminate` from a [`harness::Watchdog`] (WAMR's thread manager) |
//!
//! - Fuel: WAMR counts every instruction the fast interpreter dispatches and raises "instruction
//!   limit exceeded" when the count reaches the limit ([`harness::Trap::OutOfFuel`]). The count is
//!   compiled into WAMR only with `WAMR_BUILD_INSTRUCTION_METERING`, which wamrx-sys has no feature
//!   for: the workspace's `.cargo/config.toml` sets it through `CMAKE_TOOLCHAIN_FILE`
//!   (`wamr-metering.cmake`). A WAMR built without it has no
//!   `wasm_runtime_set_instruction_count_limit`, and this crate does not link. The budget applies
//!   to **each call from the host**, not to the instance as a whole (WAMR does not keep what is
//!   left at the end of a call): a call of the guest's allocator from `answer_*_alloc` gets a budget
//!   of its own, so one call can run at most twice the budget. At most `i32::MAX` instructions can
//!   be metered; a larger fuel limit is refused ([`harness::Fault::Setup`]).
//! - Timeout: at the deadline, the watchdog's thread calls `wasm_runtime_terminate`, which sets the
//!   instance's exception ("terminated by user", [`harness::Trap::Timeout`]) and its execution
//!   environment's terminate flag. The interpreter checks the flag at every branch and call only
//!   when WAMR is built with its thread manager (`WAMR_BUILD_THREAD_MGR`, wamrx-sys's `thread-mgr`
//!   feature, on in this workspace): an atomic load per branch, paid with or without a timeout.
//!   The start function (run by this crate, below) and the allocator called from a host call run
//!   on the same execution environment, so the flag stops them too.
//! - The start function is run by this crate, metered, after instantiation (WAMR would run it
//!   unmetered inside `wasm_runtime_instantiate`): see `src/module.rs`.
//! - Memory: WAMR caps `memory.grow` at the lower of the module's maximum and the host's
//!   (`memory.grow` past it returns -1). A module whose memory starts above the limit is refused
//!   before instantiation (WAMR would silently raise the cap to the initial size). A limit below
//!   one page is refused (WAMR reads a maximum of 0 pages as "none").
//! - Tables: WAMR caps table growth at the declared maximum, or at twice the initial size and at
//!   least 1024 elements for a table without one; host-wamr rewrites each table's maximum to the
//!   lower of the module's and the host's. A table that starts above the limit is refused. WAMR's
//!   own cap (1024 for a table declared without maximum, or a maximum above it) can be stricter
//!   than the host's limit.
//! - Stack: WAMR's interpreter keeps its frames on the execution environment's stack, not on the
//!   native stack, so deep recursion ends in "wasm operand stack overflow"
//!   ([`harness::Trap::StackOverflow`]). WAMR also checks the native stack when the host re-enters
//!   the guest (the allocator), and traps with "native stack overflow".
#![cfg_attr(not(feature = "wamr"), forbid(unsafe_code))]

#[cfg(feature = "wamr")]
mod engine;
#[cfg(feature = "wamr")]
mod imports;
#[cfg(feature = "wamr")]
mod module;

#[cfg(feature = "wamr")]
pub use crate::engine::{STACK_SIZE, Wamr, WamrInstance, WamrModule};
