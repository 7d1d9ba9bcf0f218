//! The wasm-hostcall imports on [wasm3](https://github.com/wasm3/wasm3), the interpreter written
//! in C, through the [`wasm3`](https://docs.rs/wasm3) crate 0.3.1 (which bundles wasm3 0.4.7).
//!
//! Built only with this crate's `wasm3` feature: wasm3's Rust bindings are generated at build time
//! by bindgen, which needs libclang (and a C compiler for wasm3 itself). Without the feature this
//! crate is empty, so that the workspace builds on a machine without them.
//!
//! `Wasm3` implements [`harness::Engine`]. wasm3's environment, runtime and module are
//! single-threaded C objects, so the engine holds only the configuration, a compiled module is the
//! validated bytes and their structure (read with `wasmparser`: wasm3 exposes no import or export
//! types), and each instance parses and loads the module into an environment and runtime of its
//! own, which wasm3 then compiles function by function on first call. The C API is called from
//! `src/runtime.rs` alone; the import bindings are in `src/imports.rs`, written to be copied: every
//! body is one call to the shared [`harness::Recorder`], which decodes and writes guest memory with
//! the `common` ABI; this crate never parses guest bytes itself. `examples/embed.rs`
//! (`--example embed-wasm3`) embeds the guest in a page of plain wasm3 code, without this crate.
//!
//! What wasm3 can and cannot do here:
//!
//! - **No fuel.** wasm3 has no instruction metering and no way to interrupt a running guest, so
//!   nothing stops an endless loop: [`harness::Engine::METERS_FUEL`] is `false`, and
//!   `Wasm3::new` refuses a configuration with a fuel limit ([`harness::Fault::Setup`]), and one
//!   with a timeout ([`harness::Engine::STOPS_ON_DEADLINE`] is `false` too). Do not run untrusted
//!   guests on it.
//! - **Features.** wasm3 0.4.7 implements WebAssembly 1.0 with sign-extension and non-trapping
//!   float-to-int conversions, nothing else (no bulk memory, reference types, multi-value, SIMD).
//!   Rust now compiles `memcpy`/`memset` to `memory.copy`/`memory.fill` and pads `call_indirect`'s
//!   table index, so the host re-encodes such a module and replaces those two instructions with
//!   calls of two host functions (`harness::rewrite::lower`, `Bulk::Imports`), which check the
//!   range and trap as the instructions would, then `memmove` or `memset`. (`lower_for_wasm3`,
//!   for programs embedding wasm3 without this crate, appends 1.0 functions of the same
//!   semantics instead: slower, as an interpreter runs their loops, but they need no host.)
//!   A module needing anything else is refused as [`harness::Fault::InvalidModule`] when compiled, the
//!   detail saying why.
//! - **Memory**: `memory.grow` past [`harness::Limits::max_memory_bytes`] (or past 65,535 pages:
//!   wasm3 computes the size in bytes in 32 bits) returns -1: the host lowers the runtime's
//!   maximum page count before any guest code runs. A module declaring more initial memory is
//!   refused before instantiation ([`harness::ModuleShape::check_limits`]).
//! - **Tables** cannot grow in wasm3 1.0 modules; a table declared larger than
//!   [`harness::Limits::max_table_elements`] is refused at instantiation ([`harness::Fault::Limit`]). wasm3
//!   does not check element segments against the declared table size: the host does, before
//!   loading (a segment that does not fit traps, as on the other runtimes), and sizes wasm3's
//!   table to the declared size.
//! - **Stack**: wasm3 checks each call against its own stack (`STACK_BYTES`), ending deep
//!   recursion with a stack-overflow trap; it also recurses natively once per wasm call and
//!   per nested block, so the host refuses modules nesting blocks deeper than 1,000, and the
//!   stack size is chosen so that the deepest recursion it allows fits a 2 MiB native stack.
#![cfg(feature = "wasm3")]
#![deny(unsafe_code)]

mod imports;
mod inspect;
mod runtime;

use std::sync::Arc;

use harness::rewrite::lower::Bulk;
use harness::{ExternType, Failure, Fault, GuestAllocator, ModuleShape, Recorder, Sink, Trap, WASM_PAGE_SIZE};

use crate::imports::{State, define_bulk_memory, define_imports, find_allocator, signature};

/// The no-op benchmark imports ([`harness::bench`]) the module imports, for the comparison tool only.
fn define_bench_imports(runtime: &mut Runtime, info: &ModuleInfo) -> Result<(), M3Error> {
    for (name, params) in harness::bench::IMPORTS {
        if info.imports_function(harness::bench::MODULE, name) {
            let no_op: crate::runtime::HostFn = Box::new(|_| Ok(None));
            runtime.link(harness::bench::MODULE, name, &signature(params, &[]), None, no_op)?;
        }
    }
    Ok(())
}
use crate::inspect::{ModuleInfo, inspect, without_custom_sections};
use crate::runtime::{M3Error, Runtime};

/// `wasm` as wasm3 can run it: validated, and lowered to the features wasm3 0.4.7 implements if
/// it uses `memory.copy` or `memory.fill` (which Rust and LLVM now emit for `memcpy` and
/// `memset`) or the newer encodings (see `harness::rewrite::lower`); `None` if it needs no change.
///
/// For programs that embed wasm3 directly (`examples/embed.rs`): the two instructions become
/// calls of WebAssembly 1.0 functions appended to the module, so that it needs no host function
/// of ours. [`harness::Engine::compile`] lowers them to host functions instead, which copy at
/// `memmove`'s speed.
///
/// # Errors
///
/// [`Fault::InvalidModule`] if `wasm` is not valid WebAssembly, or needs a feature wasm3 lacks.
pub fn lower_for_wasm3(wasm: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    inspect(wasm, Bulk::Functions).map(|(_, lowered)| lowered)
}

/// The size of each instance's wasm3 stack, in bytes: wasm3 ends a call that would need more with
/// a stack-overflow trap.
///
/// 16 KiB: wasm3 allocates and clears it for every instance (each is a runtime of its own), so it
/// is a large part of an instance's memory (64 KiB made 163 KiB per instance of the built-in
/// guest). wasm3 keeps 4-byte slots (`use-32bit-slots`), so 16 KiB holds about 1,000 frames of a
/// function with one parameter: a `(func $f (param i32) (result i32))` recursing 1,000 deep runs,
/// as on host-wamr's 64 KiB, where wasmi's default limits already trap; every scenario, handler
/// and workload of the built-in guests runs within it (the conformance suite and the
/// comparison's tests). The price is recursion depth for guests with large frames (a recursive
/// parser, a tree walk): they trap with a stack overflow sooner, and need a larger stack here.
pub const STACK_BYTES: u32 = 16 * 1024;

/// The most pages wasm3 can hold: it computes a memory's size in bytes as a 32-bit product.
const MAX_PAGES: u32 = 65_535;

/// The wasm3 engine: the configuration every instance is made with.
pub struct Wasm3 {
    config: harness::Config,
    tier: &'static str,
}

/// A module validated for wasm3: its bytes (each instance parses them into its own runtime) and
/// its structure.
#[derive(Clone)]
pub struct Wasm3Module {
    bytes: Arc<[u8]>,
    info: Arc<ModuleInfo>,
}

/// One guest instance in its own wasm3 environment and runtime.
pub struct Wasm3Instance {
    runtime: Runtime,
    info: Arc<ModuleInfo>,
}

impl harness::Engine for Wasm3 {
    const NAME: &'static str = "wasm3";
    /// wasm3 has one way to run code: its interpreter (it compiles each function to its own
    /// threaded code on first call).
    const TIERS: &'static [&'static str] = &["interpreter"];
    /// wasm3 has no fuel metering and no way to interrupt a guest.
    const METERS_FUEL: bool = false;
    type Module = Wasm3Module;
    type Instance = Wasm3Instance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        Ok(Wasm3 { config: config.clone(), tier })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<Wasm3Module, Failure> {
        let (info, lowered) = inspect(wasm, Bulk::Imports)?;
        let wasm = lowered.as_deref().unwrap_or(wasm);
        let bytes: Arc<[u8]> = match without_custom_sections(wasm) {
            Some(stripped) => Arc::from(stripped),
            None => Arc::from(wasm),
        };
        runtime::parse_check(&bytes).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        Ok(Wasm3Module { bytes, info: Arc::new(info) })
    }

    fn shape(&self, module: &Wasm3Module) -> ModuleShape {
        module.info.shape.clone()
    }

    fn instantiate(&self, module: &Wasm3Module, sink: Sink) -> Result<Wasm3Instance, Failure> {
        let limits = &self.config.limits;
        let info = &module.info;
        let max_pages =
            u32::try_from(limits.max_memory_bytes / WASM_PAGE_SIZE as usize).unwrap_or(u32::MAX).min(MAX_PAGES);
        let too_much_memory = info
            .shape
            .exports()
            .iter()
            .any(|e| matches!(e.ty, ExternType::Memory { minimum_pages } if minimum_pages > u64::from(max_pages)));
        if too_much_memory || info.table_sizes.iter().any(|&size| size > u64::from(limits.max_table_elements)) {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        // wasm3 grows its table to fit every element segment: check them against the declared
        // size, as every other runtime does.
        let table_size = info.table_sizes.first().copied().unwrap_or(0);
        for segment in &info.element_segments {
            if let Some(offset) = segment.offset
                && u64::from(offset) + u64::from(segment.count) > table_size
            {
                return Err(Failure::new(Fault::Trap(Trap::TableOutOfBounds)));
            }
        }

        let state = State {
            memory_ready: false,
            allocator: GuestAllocator::Missing,
            recorder: self.config.recorder(sink),
            host_error: None,
        };
        let (mut runtime, start) =
            Runtime::load(Arc::clone(&module.bytes), STACK_BYTES, state).map_err(instantiate_failure)?;
        if let Ok(size) = u32::try_from(table_size)
            && size > 0
        {
            runtime.size_table(size).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let linked = define_imports(&mut runtime, info).and_then(|()| define_bulk_memory(&mut runtime, info));
        let linked = linked
            .and_then(|()| if self.config.bench_imports { define_bench_imports(&mut runtime, info) } else { Ok(()) });
        linked.map_err(|e| Failure::with_detail(Fault::Setup(format!("wasm3: {e}")), e))?;
        runtime.limit_memory_pages(max_pages);
        if let Some(start) = start {
            let outcome = runtime.call(start, &[]);
            outcome.map_err(|e| failure(&mut runtime, e))?;
        }
        runtime.state_mut().memory_ready = true;
        runtime.state_mut().allocator = find_allocator(info, &runtime);
        Ok(Wasm3Instance { runtime, info: Arc::clone(info) })
    }
}

impl Wasm3Instance {
    fn function(&self, name: &str) -> Result<runtime::Func, Failure> {
        self.info.exported_functions.get(name).and_then(|&index| self.runtime.function(index)).ok_or_else(|| {
            Failure::new(Fault::MissingExport { name: name.into(), available: self.info.shape.functions() })
        })
    }
}

impl harness::Instance for Wasm3Instance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self.function(name)?;
        let outcome = self.runtime.call(func, args);
        outcome.map_err(|e| failure(&mut self.runtime, e))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let memory = self.runtime.memory();
        let start = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let target = start
            .checked_add(bytes.len())
            .and_then(|end| memory.get_mut(start..end))
            .ok_or_else(|| Failure::with_detail(Fault::Runtime, "out of bounds memory access"))?;
        target.copy_from_slice(bytes);
        Ok(())
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        Ok(self.runtime.memory().to_vec())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        let func = self.function(name)?;
        if self.info.shape.function(name) != Some((&[], &[])) {
            return Err(Failure::with_detail(Fault::Runtime, format!("{name:?} is not a function () -> ()")));
        }
        for _ in 0..times {
            let outcome = self.runtime.call(func, &[]);
            outcome.map_err(|e| failure(&mut self.runtime, e))?;
        }
        Ok(())
    }

    fn recorder(&self) -> &Recorder {
        &self.runtime.state().recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.runtime.state_mut().recorder
    }
}

/// A trap by wasm3's message, in the ABI's terms.
fn trap(error: M3Error) -> Option<Trap> {
    Some(match error.message() {
        "[trap] unreachable executed" => Trap::Unreachable,
        "[trap] out of bounds memory access" => Trap::MemoryOutOfBounds,
        "[trap] undefined element" => Trap::TableOutOfBounds,
        "[trap] null table element" => Trap::IndirectCallToNull,
        "[trap] indirect call type mismatch" => Trap::BadSignature,
        "[trap] integer divide by zero" => Trap::IntegerDivisionByZero,
        "[trap] integer overflow" => Trap::IntegerOverflow,
        "[trap] invalid conversion to integer" => Trap::BadConversionToInteger,
        "[trap] stack overflow" => Trap::StackOverflow,
        message if message.starts_with("[trap]") => Trap::Other,
        _ => return None,
    })
}

/// How a guest call ended in wasm3, in the ABI's terms: a host function's error (kept in the
/// state), a trap, or wasm3 failing (e.g. compiling a function on its first call).
fn failure(runtime: &mut Runtime, error: M3Error) -> Failure {
    let host_error = runtime.state_mut().host_error.take();
    if error.is_host_trap() {
        return match host_error {
            Some(host) => Failure::new(Fault::Host(host)),
            None => Failure::with_detail(Fault::Runtime, error),
        };
    }
    let detail = match runtime.take_error_message() {
        Some(message) => format!("{error}: {message}"),
        None => error.to_string(),
    };
    match trap(error) {
        Some(Trap::Other) => Failure::with_detail(Fault::Trap(Trap::Other), detail),
        Some(trap) => Failure::new(Fault::Trap(trap)),
        None => Failure::with_detail(Fault::Runtime, detail),
    }
}

/// An error loading the module into a runtime (memory, globals, data and element segments), in
/// the ABI's terms: a data segment that does not fit traps, as on the other runtimes.
fn instantiate_failure(error: M3Error) -> Failure {
    match error.message() {
        "data segment overflowing linear memory" => Failure::new(Fault::Trap(Trap::MemoryOutOfBounds)),
        "table overflow" => Failure::new(Fault::Trap(Trap::TableOutOfBounds)),
        "runtime ran out of memory" => Failure::with_detail(Fault::instantiation_limit(), error),
        _ => Failure::with_detail(Fault::Runtime, error),
    }
}
