//! The runtime-neutral host side of wasm-hostcall.
//!
//! - [`Engine`] and [`Instance`]: the one trait pair each host crate implements (wasmtime,
//!   wasmer, wasmi, tinywasm, submilli, dlr, WAMR, wasm3), so that tests and tools drive every runtime the same way.
//! - [`Fault`] and [`Failure`]: every way a run can fail, the same on every runtime.
//! - [`ModuleShape`]: a module's imports and exports, checked against the ABI before it runs.
//! - [`Recorder`], [`HostError`]: the import bodies, shared by all hosts (decode with `common`,
//!   then record or answer), and the state of a call with input; re-exported from `host_imports`,
//!   the crate a copied host depends on.
//! - [`Limits`] and [`Config`]: the resource limits every host enforces, the compiler tier;
//!   [`Deadline`] and [`Watchdog`], for the hosts whose runtime is stopped by the clock from another
//!   thread; [`Waiter`], on which an async tier's synchronous methods wait.
//! - [`bench`](mod@bench): the no-op imports the comparison tool subtracts from the real ones.
//! - [`cli::main`]: the command line of every host binary.
//! - [`rewrite`]: a module's start function moved to an export, for the hosts that must run it
//!   themselves to bound it.
//!
//! This crate depends on no WebAssembly runtime (tokio runs the futures of async tiers).
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
mod deadline;
mod engine;
mod fault;
mod limits;
pub mod rewrite;
mod shape;
mod waiter;

pub use deadline::{Alarm, Deadline, Watchdog};
pub use engine::{
    DynEngine, Engine, HandlerCache, Instance, LoadedModule, Report, begin_request, check_config, check_export,
    check_handler, end_request, module_bytes, outcome_line, run, run_module, run_module_with_input, run_with_input,
};
pub use fault::{Failure, Fault, Trap, guarded};
pub use host_imports::{BoxFuture, GuestAllocator, HostError, HostErrorKind, KvLookup, Recorder, Sink};
pub use limits::{Config, Limits, MIB};
pub use shape::{ExportDesc, ExternType, ImportDesc, LinkError, ModuleShape, WASM_PAGE_SIZE};
pub use waiter::Waiter;
