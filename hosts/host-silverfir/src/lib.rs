//! The wasm-hostcall imports on [Silverfir-nano](https://docs.rs/sf-nano-core) (`sf-nano-core`), a
//! compact WebAssembly JIT (and interpreter) in one crate.
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
//! One: `jit`, Silverfir-nano's default, which compiles the whole module to native code when it
//! is instantiated. Silverfir-nano is built without its default `guard-pages` feature: with it,
//! the JIT installs a process-wide SIGSEGV/SIGBUS handler that aborts the process on a fault
//! outside its own code (it does not chain to the handler installed before it), which would abort
//! a process that also runs wasmtime or wasmer, whose traps are such faults. Without it, compiled
//! code checks bounds and stack depth itself.
//!
//! Its interpreter (the crate's `interp` feature) is not built in: it computes wrong results
//! instead of trapping. An integer division or remainder by zero does not trap when the divisor
//! was computed from the result of a call, `memory.size`, `table.size` or `ref.is_null` (`(i32.div_u
//! (i32.const 5) (i32.sub (call $one) (i32.const 1)))` returns 5); a trapping float-to-integer
//! conversion of an out-of-range or NaN operand computed by the previous instruction does not
//! either (`(i32.trunc_f32_s (f32.add (f32.const 3e30) (f32.const 1)))` returns 0); and it refuses
//! some valid modules with unreachable code at instantiation ("interp: predecoder stack desync").
//! The generated-module test finds them within a few hundred modules.
//!
//! # Limits
//!
//! | limit              | how                                                                          |
//! |--------------------|------------------------------------------------------------------------------|
//! | `fuel`             | a fuel counter added to the module, in slices (`harness::rewrite::meter::meter_sliced`), one budget per instance |
//! | `timeout`          | the clock read between two slices of fuel, by the host function that hands out the next |
//! | `max_memory_bytes` | Silverfir-nano's `Config::wasm_memory_max_pages`                             |
//! | tables             | each table's maximum lowered to the limit in the module (`harness::rewrite::meter`) |
//! | stack              | its wasm stack, `Config::wasm_stack_bytes` = [`WASM_STACK_BYTES`] (512 KiB), on the heap |
//!
//! - **Fuel.** Silverfir-nano has no fuel and no way to interrupt a guest: the module gets a fuel
//!   counter, charged one unit per instruction a straight-line run at a time, as on tinywasm. It
//!   holds a slice of at most [`FUEL_SLICE`] units; a run that overdraws it calls a host function
//!   the meter adds, which takes the overdraft and the next slice from the instance's budget, or
//!   traps with [`Trap::OutOfFuel`] when the budget cannot cover it. The start function is moved
//!   to an export (`harness::rewrite::move_start`) and called right after instantiation, so that it
//!   runs metered and bounded like any call.
//! - **Timeout.** The same host function reads the clock before it hands out a slice, and traps
//!   with [`Trap::Timeout`] once the instance's deadline has passed (as host-wasmi reads it between
//!   fuel slices); a call that starts after the deadline fails at once. With a timeout and no fuel
//!   limit, the slices are unlimited. So a guest is stopped within a slice of its deadline, in its
//!   code; a guest waiting in a host function (a slow `kv_get`) is not, as on wasmi. The clock
//!   starts once Silverfir-nano has compiled the module, which its JIT does in every instantiation
//!   (about 60 ms for our 24 KB guest here, metered; 28 ms without fuel), where the other runtimes
//!   compile when the module is loaded: compiling is the host's work, bounded by the module's size,
//!   not the guest's.
//! - **Memory.** `memory.grow` past the limit returns -1 (Silverfir-nano caps growth at whole
//!   pages: a limit that is not a multiple of 64 KiB is rounded down, and below one page it is one
//!   page). A module declaring more initial memory is refused before instantiation, with
//!   [`Fault::instantiation_limit`].
//! - **Tables.** `table.grow` past the limit returns -1; a table that starts above it is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//! - **Memories, tables.** At most one of each, as elsewhere: a module defining more is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//! - **Stack.** The JIT keeps wasm frames in its own stack and ends in "stack overflow"
//!   ([`Trap::StackOverflow`]) when a call would not fit there. It also uses the native stack, 8
//!   bytes per nested wasm call on x86-64, with no limit of its own (its `abi.md`, "Host-stack-depth
//!   caveat"): the wasm stack is 512 KiB rather than its default 2 MiB so that the deepest
//!   recursion it allows fits a small native stack (see [`WASM_STACK_BYTES`]). No host function
//!   calls into the guest (see the allocator, below), so nothing else recurses natively.
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
use harness::{Deadline, ExternType, Failure, Fault, GuestAllocator, ModuleShape, Recorder, Sink, Trap, bench};
use sf_nano_core::{Tier, Value, WasmError};

use crate::imports::{HOST_ERROR, Host, SharedHost, function_type};

/// The name the start function is exported under when it is moved out of instantiation (made
/// unique in the module).
const START_EXPORT: &str = "wasm-hostcall:start";

/// The wasm stack of each call from the host, in bytes (Silverfir-nano's default is 2 MiB). Its JIT
/// keeps wasm frames there, and uses the native stack too, a little per nested wasm call, without
/// a limit of its own: the depth the wasm stack allows must fit the native stack of the thread
/// that runs the guest. Endless recursion of the smallest frames takes about half as much native
/// stack as wasm stack: with 2 MiB it overflowed a 1 MiB native stack (the process aborts), with
/// this it ends in a stack-overflow trap on a 512 KiB one (and aborts on 256 KiB).
pub const WASM_STACK_BYTES: usize = 512 * 1024;

/// The most fuel a guest spends between two looks at the budget and the clock (as host-wasmi's
/// slices).
pub const FUEL_SLICE: u64 = 100_000;

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
    /// With fuel or a timeout, the module's counter starts with this slice, and its refuelling
    /// import is bound (`harness::rewrite::meter::meter_sliced`).
    first_slice: Option<u64>,
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
    /// The trap of the first segment with a negative offset (see [`instantiate_failure`]).
    negative_offset: Option<Trap>,
}

/// One guest instance.
pub struct SilverfirInstance {
    instance: sf_nano_core::Instance,
    /// The state the imports share; its recorder is the one in use only during a call.
    host: SharedHost,
    /// The instance's recorder between calls.
    recorder: Recorder,
    /// The fuel budget and the deadline, which the refuelling import reads.
    budget: Rc<RefCell<Budget>>,
}

/// What the refuelling import hands slices of fuel out of.
struct Budget {
    /// The fuel not yet handed to the guest; `None` for no limit.
    left: Option<u64>,
    /// When the instance must be done by.
    deadline: Option<Deadline>,
    /// Why the refuelling import stopped the guest.
    stopped: Option<Trap>,
}

impl harness::Engine for Silverfir {
    const NAME: &'static str = "silverfir";
    const CRATE: &'static str = "sf-nano-core";
    /// Silverfir-nano's JIT (its default); its interpreter is left out (see the crate docs).
    const TIERS: &'static [&'static str] = &["jit"];
    const STOPS_ON_DEADLINE: bool = true;
    type Module = SilverfirModule;
    type Instance = SilverfirInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let pages = config.limits.max_memory_bytes / usize::try_from(harness::WASM_PAGE_SIZE).unwrap_or(usize::MAX);
        let sf_config = sf_nano_core::Config::new()
            .tier(Tier::Jit)
            .wasm_memory_max_pages(u32::try_from(pages).unwrap_or(u32::MAX).max(1))
            .wasm_stack_bytes(WASM_STACK_BYTES)
            .parallel_compilation(false);
        let engine =
            sf_nano_core::Engine::new(sf_config).map_err(|e| Failure::new(Fault::Setup(format!("silverfir: {e}"))))?;
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
        let negative_offset = first_negative_offset(wasm).map_err(invalid)?;
        let first_slice = match (limits.fuel, limits.timeout) {
            (Some(fuel), _) => Some(fuel.min(FUEL_SLICE)),
            (None, Some(_)) => Some(FUEL_SLICE),
            (None, None) => None,
        };
        let rewritten = guarded(|| -> Result<_, String> {
            let metered = match first_slice {
                Some(slice) => harness::rewrite::meter::meter_sliced(wasm, slice, limits.max_table_elements)?,
                None => harness::rewrite::meter::meter(wasm, None, limits.max_table_elements)?,
            };
            let checked = harness::rewrite::trunc::check_truncations(&metered.wasm)?;
            let wasm = checked.unwrap_or(metered.wasm);
            let (wasm, start_export) = match harness::rewrite::move_start(&wasm, START_EXPORT)? {
                Some(moved) => (moved.wasm, Some(moved.export)),
                None => (wasm, None),
            };
            let (wasm, split) = match harness::rewrite::alloc::split(&wasm)? {
                Some(split) => (split.wasm, split.imports),
                None => (wasm, Vec::new()),
            };
            Ok((wasm, start_export, split))
        })?;
        let (rewritten, start_export, split) = rewritten.map_err(invalid)?;
        // Silverfir-nano validates the module itself, and may refuse one that `wasmparser` accepts.
        guarded(|| sf_nano_core::Module::new("guest", &rewritten))?
            .map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        let allocator = allocator(&shape);
        Ok(SilverfirModule {
            wasm: rewritten.into(),
            shape,
            first_slice,
            start_export: start_export.map(Arc::from),
            split: split.into(),
            allocator,
            memories: memories.into(),
            tables: tables.into(),
            negative_offset,
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
        let left = limits.fuel.map(|fuel| fuel.saturating_sub(module.first_slice.unwrap_or(0)));
        let budget = Rc::new(RefCell::new(Budget { left, deadline: None, stopped: None }));
        let host = Rc::new(RefCell::new(Host::new(module.allocator.clone())));
        let mut imports = imports::imports(&host, &module.split);
        if self.config.bench_imports {
            for (name, params) in bench::IMPORTS {
                let noop = |_: &mut sf_nano_core::Caller<'_>, _: &[Value], _: &mut [Value]| Ok(());
                imports.push(sf_nano_core::Import::func_typed(
                    bench::MODULE,
                    name,
                    noop,
                    function_type(params.len(), 0),
                ));
            }
        }
        if module.first_slice.is_some() {
            imports.push(refuel_import(&budget));
        }
        let instance = guarded(|| {
            let parsed = sf_nano_core::Module::new("guest", &module.wasm)?;
            sf_nano_core::Instance::from_module(&self.engine, parsed, &imports)
        })?
        .map_err(|e| instantiate_failure(&e, module.negative_offset))?;
        // The instance's time starts now, when Silverfir-nano has compiled the module (which its JIT
        // does when it instantiates it, where the other runtimes compile when they load it):
        // the start function included, as everywhere.
        budget.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?.deadline =
            Deadline::after(limits.timeout);
        let mut instance = SilverfirInstance { instance, host, recorder: self.config.recorder(sink), budget };
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
    fn run<T>(&mut self, body: impl FnOnce(&mut sf_nano_core::Instance) -> Result<T, WasmError>) -> Result<T, Failure> {
        let deadline = self.budget.try_borrow().map_err(|e| Failure::with_detail(Fault::Runtime, e))?.deadline;
        if deadline.is_some_and(Deadline::passed) {
            return Err(Failure::new(Fault::Trap(Trap::Timeout)));
        }
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
            Err(e) if e.is_trap() && e.message() == STOPPED => {
                let stopped = self.budget.try_borrow_mut().ok().and_then(|mut budget| budget.stopped.take());
                Err(Failure::new(stopped.map_or(Fault::Runtime, Fault::Trap)))
            }
            Err(e) => Err(failure(&e)),
        }
    }

    /// Exchanges the instance's recorder with the one in the imports' state.
    fn swap_recorder(&mut self) -> Result<(), Failure> {
        let mut host = self.host.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        std::mem::swap(&mut self.recorder, &mut host.recorder);
        Ok(())
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

/// The message of the trap the refuelling import ends the guest with; why is in
/// [`Budget::stopped`].
const STOPPED: &str = "wasm-hostcall: the guest's fuel or time is up";

/// The refuelling import of the sliced meter (`harness::rewrite::meter::meter_sliced`): called
/// with the counter below zero, it takes the overdraft and a new slice out of `budget`, or stops
/// the guest when the deadline has passed or the budget cannot cover the overdraft.
fn refuel_import(budget: &Rc<RefCell<Budget>>) -> sf_nano_core::Import {
    use harness::rewrite::meter::{REFUEL_MODULE, REFUEL_NAME};
    use sf_nano_core::value_type::ValueType;
    let budget = Rc::clone(budget);
    let refuel = move |_: &mut sf_nano_core::Caller<'_>, args: &[Value], results: &mut [Value]| {
        let (Ok(mut budget), [Value::I64(counter)], [result]) = (budget.try_borrow_mut(), args, results) else {
            return Err(WasmError::trap("wasm-hostcall: the refuelling import was called wrongly"));
        };
        let overdraft = if *counter < 0 { counter.unsigned_abs() } else { 0 };
        let stop = |budget: &mut Budget, trap| {
            budget.stopped = Some(trap);
            Err(WasmError::trap(STOPPED))
        };
        if budget.deadline.is_some_and(Deadline::passed) {
            return stop(&mut budget, Trap::Timeout);
        }
        let slice = match budget.left {
            None => FUEL_SLICE,
            Some(left) if left < overdraft => {
                budget.left = Some(0);
                return stop(&mut budget, Trap::OutOfFuel);
            }
            Some(left) => {
                let slice = FUEL_SLICE.min(left - overdraft);
                budget.left = Some(left - overdraft - slice);
                slice
            }
        };
        *result = Value::I64(i64::try_from(slice).unwrap_or(i64::MAX));
        Ok(())
    };
    let ty = sf_nano_core::FunctionType::new(vec![ValueType::I64], vec![ValueType::I64]);
    sf_nano_core::Import::func_typed(REFUEL_MODULE, REFUEL_NAME, refuel, ty)
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
/// failure ([`harness::guarded`]). None is known; this is the boundary where one would be caught.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, Failure> {
    harness::guarded("silverfir", body)
}

/// The message of the error Silverfir-nano 0.6 instantiation fails with when a memory starts above
/// `Config::wasm_memory_max_pages`.
const MEMORY_LIMIT_MESSAGE: &str = "memory exceeds runtime configured limit";

/// An error from instantiation: a trap in a data or element segment, or a resource limit. The JIT
/// reports a segment out of bounds as an unlinkable module, not a trap ("out of bounds memory
/// access", "out of bounds table access", and "offset is negative" for an offset of 2^31 or more,
/// of either kind: `negative_offset` says which segment that is).
fn instantiate_failure(error: &WasmError, negative_offset: Option<Trap>) -> Failure {
    let trap = match (error.is_unlinkable(), error.message()) {
        (true, message) if message.starts_with(MEMORY_LIMIT_MESSAGE) => {
            return Failure::with_detail(Fault::instantiation_limit(), error);
        }
        (true, "out of bounds memory access") => Trap::MemoryOutOfBounds,
        (true, "out of bounds table access") => Trap::TableOutOfBounds,
        (true, "offset is negative") => match negative_offset {
            Some(trap) => trap,
            None => return Failure::with_detail(Fault::Runtime, error),
        },
        _ => return failure(error),
    };
    Failure::new(Fault::Trap(trap))
}

/// The trap of the first active segment (element segments first, then data segments, the order
/// instantiation writes them in) whose offset is negative as a signed number, if there is one.
fn first_negative_offset(wasm: &[u8]) -> Result<Option<Trap>, String> {
    use wasmparser::{DataKind, ElementKind, Payload};
    let (mut globals, mut elements, mut data) = (Vec::new(), Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let wasmparser::TypeRef::Global(_) = import.map_err(|e| e.to_string())?.ty {
                        globals.push(None);
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let value = evaluate(&global.map_err(|e| e.to_string())?.init_expr, &globals);
                    globals.push(value);
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    if let ElementKind::Active { offset_expr, .. } = element.map_err(|e| e.to_string())?.kind {
                        elements.push(evaluate(&offset_expr, &globals));
                    }
                }
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    if let DataKind::Active { offset_expr, .. } = segment.map_err(|e| e.to_string())?.kind {
                        data.push(evaluate(&offset_expr, &globals));
                    }
                }
            }
            _ => {}
        }
    }
    let negative = |offsets: &[Option<i64>]| offsets.iter().any(|o| o.is_some_and(|o| o < 0));
    Ok(if negative(&elements) {
        Some(Trap::TableOutOfBounds)
    } else if negative(&data) {
        Some(Trap::MemoryOutOfBounds)
    } else {
        None
    })
}

/// The value of an integer constant expression (an `i32`'s sign-extended), `None` if it is not
/// one this host evaluates (an imported global, a reference).
fn evaluate(expr: &wasmparser::ConstExpr<'_>, globals: &[Option<i64>]) -> Option<i64> {
    use wasmparser::Operator;
    let mut stack: Vec<i64> = Vec::new();
    for op in expr.get_operators_reader() {
        let value = match op.ok()? {
            Operator::I32Const { value } => i64::from(value),
            Operator::I64Const { value } => value,
            Operator::GlobalGet { global_index } => (*globals.get(usize::try_from(global_index).ok()?)?)?,
            Operator::End => break,
            op @ (Operator::I32Add | Operator::I32Sub | Operator::I32Mul) => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                #[allow(clippy::cast_possible_truncation, reason = "i32 arithmetic, wrapping as the instruction does")]
                let (a, b) = (a as i32, b as i32);
                i64::from(match op {
                    Operator::I32Add => a.wrapping_add(b),
                    Operator::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            op @ (Operator::I64Add | Operator::I64Sub | Operator::I64Mul) => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                match op {
                    Operator::I64Add => a.wrapping_add(b),
                    Operator::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    stack.pop()
}

/// A Silverfir-nano error in the ABI's terms. Its traps are told apart by their messages.
fn failure(error: &WasmError) -> Failure {
    let neutral = match (error.class(), error.message()) {
        ("trap", "unreachable executed") => Trap::Unreachable,
        ("trap", "out of bounds memory access") => Trap::MemoryOutOfBounds,
        ("trap", "out of bounds table access") => Trap::TableOutOfBounds,
        // A null table entry (`call_indirect`), a null function reference (`call_ref`).
        ("trap", "invalid function reference" | "null function reference") => Trap::IndirectCallToNull,
        ("trap", "indirect call type mismatch") => Trap::BadSignature,
        ("trap", "integer divide by zero") => Trap::IntegerDivisionByZero,
        ("trap", "integer overflow") => Trap::IntegerOverflow,
        ("trap", "invalid conversion to integer") => Trap::BadConversionToInteger,
        ("exhaustion", "stack overflow") => Trap::StackOverflow,
        ("trap", _) => return Failure::with_detail(Fault::Trap(Trap::Other), error),
        _ => return Failure::with_detail(Fault::Runtime, error),
    };
    Failure::new(Fault::Trap(neutral))
}
