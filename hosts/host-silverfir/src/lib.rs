//! The wasm-hostcall imports on [Silverfir-nano](https://docs.rs/sf-nano-core) (`sf-nano-core`), a
//! compact WebAssembly JIT and interpreter in one crate.
//!
//! [`Silverfir`] implements [`harness::Engine`]. Silverfir-nano's host functions are closures bound
//! at instantiation, so each instance gets its imports anew, their closures sharing the
//! instance's [`Recorder`] (see `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this crate
//! never parses guest bytes itself). `examples/embed.rs` (`--example embed-silverfir`) embeds the
//! guest in a page of plain Silverfir-nano code, without this crate.
//!
//! # Tiers
//!
//! - `jit` (Silverfir-nano's default): each function compiled to native code when the module is
//!   instantiated.
//! - `interp`: its interpreter, a threaded dispatch chain generated for the target when the crate
//!   is built.
//!
//! Both are built without the crate's default `guard-pages` feature: with it, the JIT installs a
//! process-wide SIGSEGV/SIGBUS handler that aborts the process on a fault outside its own code
//! (it does not chain to the handler installed before it), which would abort a process that also
//! runs wasmtime or wasmer, whose traps are such faults. Without it, compiled code checks bounds
//! and stack depth itself.
//!
//! # Limits
//!
//! | limit              | how                                                                          |
//! |--------------------|------------------------------------------------------------------------------|
//! | `fuel`             | a fuel counter added to the module (`harness::rewrite::meter`), one budget per instance |
//! | `max_memory_bytes` | Silverfir-nano's `Config::wasm_memory_max_pages`                             |
//! | tables             | each table's maximum lowered to the limit in the module (`harness::rewrite::meter`) |
//! | stack              | its own stack, `Config::wasm_stack_bytes` (2 MiB), on the heap                |
//!
//! - **Fuel.** Silverfir-nano has no fuel and no way to interrupt a guest: the module gets a fuel
//!   counter, charged one unit per instruction a straight-line run at a time, as on tinywasm. A
//!   negative counter after a trap means the guest ran out. The start function is moved to an
//!   export (`harness::rewrite::move_start`) and called right after instantiation, so that its
//!   fuel can be read too.
//! - **No timeout.** Nothing stops a guest by the clock: a timeout is refused
//!   ([`harness::Engine::STOPS_ON_DEADLINE`] is `false`).
//! - **Memory.** `memory.grow` past the limit returns -1 (Silverfir-nano caps growth at whole
//!   pages: a limit that is not a multiple of 64 KiB is rounded down, and below one page it is one
//!   page). A module declaring more initial memory is refused before instantiation, with
//!   [`Fault::instantiation_limit`].
//! - **Tables.** `table.grow` past the limit returns -1; a table that starts above it is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//! - **Memories, tables.** At most one of each, as elsewhere: a module defining more is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//! - **Stack.** Neither tier recurses on the native stack for wasm calls: the interpreter keeps
//!   frames in its own stack (at most 4,096 deep) and ends in "call stack exhausted", the JIT checks
//!   the depth of its own stack and ends in "stack overflow": both [`Trap::StackOverflow`]. No host
//!   function calls into the guest (see the allocator, below), so there is no native recursion at
//!   all.
//!
//! # The allocator
//!
//! A Silverfir-nano host function that has looked at the guest's memory cannot call into the
//! guest until it returns, so `answer_*_alloc` cannot call `guest_alloc` as it does elsewhere. The
//! module is rewritten so that the guest calls its allocator itself between two host functions
//! (`harness::rewrite::alloc`; `src/imports.rs` says how).
//!
//! # Panics
//!
//! A panic unwinding out of a host function called from JIT code would abort the process
//! (Silverfir-nano enters host code through `extern "C"` functions); the shared [`Recorder`]
//! catches them. Compiling, instantiating and calling are wrapped in `catch_unwind` too, reported
//! as [`Fault::Runtime`]: a boundary for a panic in Silverfir-nano or in the re-encoders.
#![forbid(unsafe_code)]

mod imports;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use common::{ALLOCATOR_EXPORT, ALLOCATOR_PARAMS, ALLOCATOR_RESULTS, Import};
use harness::{ExternType, Failure, Fault, GuestAllocator, ModuleShape, Recorder, Sink, Trap, bench};
use sf_nano_core::{Tier, Value, WasmError};

use crate::imports::{HOST_ERROR, Host, SharedHost, function_type};

/// The name the start function is exported under when it is moved out of instantiation (made
/// unique in the module).
const START_EXPORT: &str = "wasm-hostcall:start";

/// The Silverfir-nano engine, at one tier, with the limits.
pub struct Silverfir {
    engine: sf_nano_core::Engine,
    config: harness::Config,
    tier: &'static str,
}

/// A module validated by Silverfir-nano, rewritten with what it lacks (fuel, table limits, the
/// start function moved, the allocator calls split). Silverfir-nano's own modules cannot leave
/// the thread that made them, so an instance parses the rewritten bytes again.
#[derive(Clone)]
pub struct SilverfirModule {
    wasm: Arc<[u8]>,
    shape: ModuleShape,
    /// The export holding the fuel left, if fuel is metered.
    fuel_export: Option<Arc<str>>,
    /// The start function, moved to this export.
    start_export: Option<Arc<str>>,
    /// The `answer_*_alloc` imports split in two (`harness::rewrite::alloc`).
    split: Arc<[Import]>,
    /// Whether the module exports an allocator of the right type.
    allocator: GuestAllocator<()>,
    /// The initial size of each memory the module defines or imports, in bytes (saturated).
    memories: Arc<[u64]>,
    /// The initial size of each table the module defines or imports, in elements.
    tables: Arc<[u64]>,
}

/// One guest instance.
pub struct SilverfirInstance {
    instance: sf_nano_core::Instance,
    /// The state the imports share; its recorder is the one in use only during a call.
    host: SharedHost,
    /// The instance's recorder between calls.
    recorder: Recorder,
    fuel_export: Option<Arc<str>>,
}

impl harness::Engine for Silverfir {
    const NAME: &'static str = "silverfir";
    const CRATE: &'static str = "sf-nano-core";
    /// Silverfir-nano's JIT (its default) and its interpreter.
    const TIERS: &'static [&'static str] = &["jit", "interp"];
    type Module = SilverfirModule;
    type Instance = SilverfirInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let sf_tier = match tier {
            "jit" => Tier::Jit,
            _ => Tier::Interp,
        };
        let pages = config.limits.max_memory_bytes / usize::try_from(harness::WASM_PAGE_SIZE).unwrap_or(usize::MAX);
        let sf_config = sf_nano_core::Config::new()
            .tier(sf_tier)
            .wasm_memory_max_pages(u32::try_from(pages).unwrap_or(u32::MAX).max(1))
            .parallel_compilation(false);
        let engine = sf_nano_core::Engine::new(sf_config)
            .map_err(|e| Failure::new(Fault::Setup(format!("silverfir: {e}"))))?;
        Ok(Silverfir { engine, config: config.clone(), tier })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<SilverfirModule, Failure> {
        let limits = &self.config.limits;
        let invalid = |e: String| Failure::with_detail(Fault::InvalidModule, e);
        let types = wasmparser::Validator::new().validate_all(wasm).map_err(|e| invalid(e.to_string()))?;
        let shape = ModuleShape::from_wasm(wasm, &types).map_err(invalid)?;
        let (memories, tables) = sizes(&types);
        let rewritten = guarded(|| -> Result<_, String> {
            let metered = harness::rewrite::meter::meter(wasm, limits.fuel, limits.max_table_elements)?;
            let checked = harness::rewrite::trunc::check_truncations(&metered.wasm)?;
            let wasm = checked.unwrap_or(metered.wasm);
            let wasm = harness::rewrite::dead_code::remove_dead_code(&wasm)?.unwrap_or(wasm);
            let (wasm, start_export) = match harness::rewrite::move_start(&wasm, START_EXPORT)? {
                Some(moved) => (moved.wasm, Some(moved.export)),
                None => (wasm, None),
            };
            let (wasm, split) = match harness::rewrite::alloc::split(&wasm)? {
                Some(split) => (split.wasm, split.imports),
                None => (wasm, Vec::new()),
            };
            Ok((wasm, metered.fuel_export, start_export, split))
        })?;
        let (rewritten, fuel_export, start_export, split) = rewritten.map_err(invalid)?;
        // Silverfir-nano validates the module itself, and may refuse one that `wasmparser` accepts.
        guarded(|| sf_nano_core::Module::new("guest", &rewritten))?
            .map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        let allocator = allocator(&shape);
        Ok(SilverfirModule {
            wasm: rewritten.into(),
            shape,
            fuel_export: fuel_export.map(Arc::from),
            start_export: start_export.map(Arc::from),
            split: split.into(),
            allocator,
            memories: memories.into(),
            tables: tables.into(),
        })
    }

    fn shape(&self, module: &SilverfirModule) -> ModuleShape {
        module.shape.clone()
    }

    fn instantiate(&self, module: &SilverfirModule, sink: Sink) -> Result<SilverfirInstance, Failure> {
        let limits = &self.config.limits;
        let max_memory = u64::try_from(limits.max_memory_bytes).unwrap_or(u64::MAX);
        let too_large = module.memories.iter().any(|bytes| *bytes > max_memory)
            || module.tables.iter().any(|size| *size > u64::from(limits.max_table_elements));
        // One memory and one table per instance, as `StoreLimits` allows on wasmtime and wasmi.
        let too_many = module.memories.len() > 1 || module.tables.len() > 1;
        if too_large || too_many {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        let host = Rc::new(RefCell::new(Host::new(module.allocator.clone())));
        let mut imports = imports::imports(&host, &module.split);
        if self.config.bench_imports {
            for (name, params) in bench::IMPORTS {
                let noop = |_: &mut sf_nano_core::Caller<'_>, _: &[Value], _: &mut [Value]| Ok(());
                imports.push(sf_nano_core::Import::func_typed(bench::MODULE, name, noop, function_type(params.len(), 0)));
            }
        }
        let instance = guarded(|| {
            let parsed = sf_nano_core::Module::new("guest", &module.wasm)?;
            sf_nano_core::Instance::from_module(&self.engine, parsed, &imports)
        })?
        .map_err(|e| instantiate_failure(&e))?;
        let mut instance =
            SilverfirInstance { instance, host, recorder: self.config.recorder(sink), fuel_export: module.fuel_export.clone() };
        if let Some(start) = &module.start_export {
            harness::Instance::call(&mut instance, start, &[])?;
        }
        instance.host.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?.memory_bound = true;
        Ok(instance)
    }
}

impl SilverfirInstance {
    /// Runs `body` (a call into the guest) with the instance's recorder in the imports' reach, and
    /// maps its error.
    fn run<T>(
        &mut self,
        body: impl FnOnce(&mut sf_nano_core::Instance) -> Result<T, WasmError>,
    ) -> Result<T, Failure> {
        self.swap_recorder()?;
        let result = guarded(|| body(&mut self.instance));
        let error = {
            let mut host = self.host.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
            // A call that ended between the halves of an `answer_*_alloc` (its allocator trapped):
            // imports are allowed again, as after an allocator that returned.
            host.recorder.allocator_returned();
            host.pending = None;
            host.error.take()
        };
        self.swap_recorder()?;
        match result? {
            Ok(value) => Ok(value),
            Err(e) if e.is_trap() && e.message() == HOST_ERROR && error.is_some() => {
                Err(error.map_or_else(|| Failure::new(Fault::Runtime), |error| Failure::new(Fault::Host(error))))
            }
            Err(_) if self.out_of_fuel() => Err(Failure::new(Fault::Trap(Trap::OutOfFuel))),
            Err(e) => Err(failure(&e)),
        }
    }

    /// Exchanges the instance's recorder with the one in the imports' state.
    fn swap_recorder(&mut self) -> Result<(), Failure> {
        let mut host = self.host.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        std::mem::swap(&mut self.recorder, &mut host.recorder);
        Ok(())
    }

    /// Whether the guest has used up its fuel: the counter went below zero.
    fn out_of_fuel(&self) -> bool {
        let Some(name) = &self.fuel_export else { return false };
        matches!(self.instance.get_global(name), Ok(Some(Value::I64(fuel))) if fuel < 0)
    }
}

impl harness::Instance for SilverfirInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self
            .instance
            .get_func(name)
            .ok_or_else(|| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let params: Vec<Value> = args.iter().copied().map(Value::I32).collect();
        let mut results = vec![Value::I32(0); func.arity().1];
        self.run(|instance| instance.call(&func, &params, &mut results))?;
        Ok(results.first().and_then(|v| match v {
            Value::I32(v) => Some(*v),
            _ => None,
        }))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let mut memory = self.instance.memory_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let start = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let target = start.checked_add(bytes.len()).and_then(|end| memory.get_mut(start..end)).ok_or_else(|| {
            Failure::with_detail(Fault::Runtime, format!("{} bytes at {offset} are out of bounds", bytes.len()))
        })?;
        target.copy_from_slice(bytes);
        Ok(())
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        let memory = self.instance.memory().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        Ok(memory.to_vec())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        let func = self.instance.get_func(name).ok_or_else(|| Failure::with_detail(Fault::Runtime, name))?;
        if func.arity() != (0, 0) {
            return Err(Failure::with_detail(Fault::Runtime, format!("{name} is not a function () -> ()")));
        }
        self.run(|instance| {
            for _ in 0..times {
                instance.call(&func, &[], &mut [])?;
            }
            Ok(())
        })
    }

    fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.recorder
    }
}

/// Whether the module's shape has an allocator export of the right type.
fn allocator(shape: &ModuleShape) -> GuestAllocator<()> {
    match shape.exports().iter().find(|e| e.name == ALLOCATOR_EXPORT) {
        None => GuestAllocator::Missing,
        Some(export) => match &export.ty {
            ExternType::Func { params, results } if *params == ALLOCATOR_PARAMS && *results == ALLOCATOR_RESULTS => {
                GuestAllocator::Found(())
            }
            _ => GuestAllocator::Mistyped,
        },
    }
}

/// The initial size of each memory (in bytes, saturated) and each table (in elements) of a
/// validated module, imported ones included.
fn sizes(types: &wasmparser::types::Types) -> (Vec<u64>, Vec<u64>) {
    let types = types.as_ref();
    let page = u64::from(harness::WASM_PAGE_SIZE);
    let memories = (0..types.memory_count()).map(|i| types.memory_at(i).initial.saturating_mul(page)).collect();
    let tables = (0..types.table_count()).map(|i| types.table_at(i).initial).collect();
    (memories, tables)
}

/// Runs `body`, turning a panic in it (in Silverfir-nano or a re-encoder, on some input) into a
/// failure. None is known; this is the boundary where one would be caught.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Failure::with_detail(Fault::Runtime, format!("silverfir panicked: {message}"))
    })
}

/// The message of the error Silverfir-nano 0.6 instantiation fails with when a memory starts above
/// `Config::wasm_memory_max_pages`.
const MEMORY_LIMIT_MESSAGE: &str = "memory exceeds runtime configured limit";

/// An error from instantiation: a trap in a data or element segment, or a resource limit.
fn instantiate_failure(error: &WasmError) -> Failure {
    if error.is_unlinkable() && error.message().starts_with(MEMORY_LIMIT_MESSAGE) {
        return Failure::with_detail(Fault::instantiation_limit(), error);
    }
    failure(error)
}

/// A Silverfir-nano error in the ABI's terms. Its traps are told apart by their messages (the
/// interpreter's and the JIT's differ for some).
fn failure(error: &WasmError) -> Failure {
    let neutral = match (error.class(), error.message()) {
        ("trap", "unreachable" | "unreachable executed") => Trap::Unreachable,
        ("trap", "out of bounds memory access" | "memory access out of bounds") => Trap::MemoryOutOfBounds,
        // The interpreter's "undefined element": a `call_indirect` past the end of the table.
        ("trap", "out of bounds table access" | "undefined element") => Trap::TableOutOfBounds,
        ("trap", "invalid function reference" | "uninitialized element" | "null function reference") => {
            Trap::IndirectCallToNull
        }
        ("trap", "indirect call type mismatch") => Trap::BadSignature,
        ("trap", "integer divide by zero") => Trap::IntegerDivisionByZero,
        ("trap", "integer overflow") => Trap::IntegerOverflow,
        ("trap", "invalid conversion to integer") => Trap::BadConversionToInteger,
        // The interpreter's, then the JIT's.
        ("trap", "call stack exhausted") | ("exhaustion", "stack overflow") => Trap::StackOverflow,
        ("trap", _) => return Failure::with_detail(Fault::Trap(Trap::Other), error),
        _ => return Failure::with_detail(Fault::Runtime, error),
    };
    Failure::new(Fault::Trap(neutral))
}
