//! The wasm-hostcall imports on [dlr-wasm-interpreter](https://docs.rs/dlr-wasm-interpreter)
//! (DLR's in-place interpreter of WebAssembly 2.0 bytecode, written for safety-critical
//! embedded use), through its safe wrapper `dlr-wasm-interpreter-checked`.
//!
//! [`Dlr`] implements [`harness::Engine`]. dlr interprets the module's own bytes in place (no
//! translation), so a module borrows its bytes and a store borrows the module's: a compiled module
//! is the bytes and dlr's `Module` in one [`self_cell`], and each instance owns a reference to it
//! and its store in another. Each instance has a store of its own, holding that instance alone,
//! and its host state ([`Recorder`], memory and allocator handles) beside the store: dlr's host
//! functions hand control back to the embedder instead of calling into it, so the import bodies
//! (`src/imports.rs`, written to be copied: every body is one call to the shared [`Recorder`])
//! run in the loop that drives each call. `examples/embed.rs` (`--example embed-dlr`) embeds the
//! guest in a page of plain dlr code, without this crate.
//!
//! # What dlr lacks, and what this host adds
//!
//! dlr 0.2.0 has fuel (per instruction, resumable) and a bounded call stack, and nothing else that
//! bounds a guest: no memory or table limiter, no interruption from another thread. Before dlr
//! sees a module, it is validated with `wasmparser` and rewritten (the shape is read from the
//! module as written):
//!
//! 1. **The start function is moved to an export** ([`harness::rewrite::move_start`]) and called
//!    by the host right after instantiation: dlr runs a start function inside instantiation,
//!    where it cannot call an import (`UnsupportedHostCallDuringInstantiation`; a start function
//!    that *is* an import panics, `todo!`), cannot be resumed (so no timeout), and could not draw
//!    on the instance's fuel.
//! 2. **Fuel, table and memory limits are added to the module** ([`harness::rewrite::meter`]):
//!    - *Fuel*: a counter in the module, one budget per instance, charged one unit per
//!      instruction, a straight-line run at a time. dlr's own fuel belongs to one call (a
//!      resumable): while the guest waits in an import, its fuel is sealed in dlr's
//!      `HostResumable`, so the guest's allocator, called from inside `answer_*_alloc`, could not
//!      draw on it; the counter in the module is shared by both. A trap with the counter below
//!      zero is [`Trap::OutOfFuel`].
//!    - *Tables*: each table's maximum is lowered to [`harness::Limits::max_table_elements`]
//!      (dlr's `table.grow` then returns -1 past it).
//!    - *Memory*: each memory's maximum is lowered to the limit, and every `memory.grow` is
//!      routed through a function added to the module that returns -1 past it. dlr's own
//!      `memory.grow` adds the request to the size in 32 bits: `memory.grow(-1)` overflows and
//!      then panics converting the request to its 16-bit page count; the guard never lets such a
//!      request through. The limit is at most 65,535 pages (dlr counts pages in a `u16`: a
//!      memory of 65,536 pages panics).
//!
//! The fuel counter and the start function's export are hidden (the shape is the written
//! module's).
//!
//! # Limits
//!
//! | limit              | how                                                                          |
//! |--------------------|------------------------------------------------------------------------------|
//! | `fuel`             | a counter added to the module (`harness::rewrite::meter`), one budget per instance |
//! | `max_memory_bytes` | memory maximums lowered and `memory.grow` guarded in the module (the same)   |
//! | tables             | table maximums lowered in the module (the same)                              |
//! | memories, tables   | one each: the module is checked before instantiation                         |
//! | stack              | dlr's call stack (4,096 frames) and value stack (65,536 values), on the heap  |
//! | `timeout`          | slices of [`SLICE`] units of dlr's own fuel, the clock read between them |
//!
//! - **Timeout.** dlr cannot be interrupted from another thread, but a call that runs out of
//!   its fuel can be resumed: with a timeout, every call into the guest (the start function and
//!   the allocator called from `answer_*_alloc` too) runs [`SLICE`] units of dlr's fuel at a time,
//!   and the clock is read between two slices (as host-wasmi does). That fuel follows time: one
//!   unit per instruction, one per byte or element of a bulk memory or table instruction, 1,024
//!   per page `memory.grow` adds. Instantiation itself (segments) is not sliced; it runs no guest
//!   code.
//! - **Memory.** `memory.grow` past the limit returns -1; a module declaring more initial memory,
//!   or more than one memory or table, is refused before instantiation
//!   ([`Fault::instantiation_limit`]; dlr itself refuses a second memory as invalid).
//! - **Stack.** dlr does not recurse on the native stack for wasm calls: its frames and values are
//!   on the heap, and deep recursion ends in `StackExhaustion`, [`Trap::StackOverflow`]. A host
//!   function calling into the guest recurses natively once: the [`Recorder`] refuses every import
//!   made from the guest's allocator. Each call into the guest allocates its stacks up front:
//!   about 1.7 MiB of address space (65,536 values of 24 bytes, 4,096 frames of 48 bytes),
//!   touched only as far as it is used.
//!
//! # Panics
//!
//! dlr answers some states it considers impossible with a panic (`unwrap_validated`), and the
//! host cannot rule out a bug there; compiling, instantiating and every call are wrapped in
//! `catch_unwind` and a panic is reported as [`Fault::Runtime`]. None has been seen on the
//! conformance suites. Import bodies never panic into dlr: the [`Recorder`] catches their panics.
#![forbid(unsafe_code)]

mod imports;

use std::sync::Arc;

use common::{IMPORT_MODULE, Import, MEMORY_EXPORT};
use dlr_wasm_interpreter::{ExternType as DlrExternType, ModuleAddr, RuntimeError, TrapError, decode_and_validate};
use dlr_wasm_interpreter_checked::{Stored, StoredExternVal, StoredValue};
use harness::rewrite::meter::{MeterConfig, meter_with};
use harness::{
    Deadline, Failure, Fault, GuestAllocator, LinkError, ModuleShape, Recorder, Sink, Trap, WASM_PAGE_SIZE, bench,
};
use wasmparser::{Parser, Payload, Validator};

pub use crate::imports::SLICE;
use crate::imports::{Binding, DlrStore, Host, Interpreter, Stop, call, find_allocator, func_type};

/// The name a start function is moved to (made unique in each module).
const START_EXPORT: &str = "host-dlr start";

/// The most pages a memory may have on dlr, which counts pages in a `u16`.
const MAX_PAGES: u64 = 65_535;

/// dlr's `Module`, which borrows the bytes it was decoded from.
type DlrModuleOf<'wasm> = dlr_wasm_interpreter::Module<'wasm>;

self_cell::self_cell!(
    /// A module's bytes (as rewritten) and dlr's `Module` decoded from them.
    struct Loaded {
        owner: Box<[u8]>,
        #[covariant]
        dependent: DlrModuleOf,
    }
);

self_cell::self_cell!(
    /// An instance's store, which borrows its module's bytes, and the module it borrows them from.
    struct StoreCell {
        owner: Arc<Prepared>,
        #[covariant]
        dependent: DlrStore,
    }
);

/// The dlr engine: the configuration every instance is made with. (dlr has no engine object: a
/// module is decoded on its own, and each store interprets it.)
pub struct Dlr {
    config: harness::Config,
    tier: &'static str,
}

/// A module validated and rewritten for dlr.
#[derive(Clone)]
pub struct DlrModule(Arc<Prepared>);

/// What [`Dlr::compile`](harness::Engine::compile) makes of a module.
struct Prepared {
    /// The module's imports and exports, as written (read with `wasmparser`).
    shape: ModuleShape,
    /// The rewritten module, decoded by dlr; `None` for a module with more than one memory, which
    /// dlr refuses as invalid and every host refuses at instantiation, as over its limits.
    loaded: Option<Loaded>,
    /// The export the start function was moved to, if it has one.
    start_export: Option<String>,
    /// The export of the fuel counter, with fuel.
    fuel_export: Option<String>,
    /// The initial size of each table the module defines.
    table_minimums: Vec<u64>,
    /// The initial size in pages of each memory the module defines or imports.
    memory_minimums: Vec<u64>,
}

/// One guest instance in its own store.
pub struct DlrInstance {
    store: StoreCell,
    host: Host,
    module: Stored<ModuleAddr>,
}

impl harness::Engine for Dlr {
    const NAME: &'static str = "dlr";
    const CRATE: &'static str = "dlr-wasm-interpreter";
    /// dlr's one tier: its in-place interpreter.
    const TIERS: &'static [&'static str] = &["interpreter"];
    const STOPS_ON_DEADLINE: bool = true;
    type Module = DlrModule;
    type Instance = DlrInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        Ok(Dlr { config: config.clone(), tier })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<DlrModule, Failure> {
        let invalid = |e: String| Failure::with_detail(Fault::InvalidModule, e);
        let types = Validator::new().validate_all(wasm).map_err(|e| invalid(e.to_string()))?;
        let shape = ModuleShape::from_wasm(wasm, &types).map_err(invalid)?;
        let (table_minimums, memory_minimums) = minimums(wasm).map_err(invalid)?;
        let mut prepared =
            Prepared { shape, loaded: None, start_export: None, fuel_export: None, table_minimums, memory_minimums };
        if prepared.memory_minimums.len() > 1 {
            return Ok(DlrModule(Arc::new(prepared)));
        }
        let limits = &self.config.limits;
        let moved = harness::rewrite::move_start(wasm, START_EXPORT).map_err(invalid)?;
        let wasm = moved.as_ref().map_or(wasm, |moved| &moved.wasm[..]);
        prepared.start_export = moved.as_ref().map(|moved| moved.export.clone());
        let config = MeterConfig {
            fuel: limits.fuel,
            max_table_elements: limits.max_table_elements,
            max_memory_pages: Some(max_pages(limits)),
        };
        let metered = guarded(|| meter_with(wasm, config))?.map_err(invalid)?;
        prepared.fuel_export = metered.fuel_export;
        let loaded = guarded(|| Loaded::try_new(metered.wasm.into_boxed_slice(), |b| decode_and_validate(b, &mut ())))?
            .map_err(|e| invalid(format!("dlr: {e}")))?;
        prepared.loaded = Some(loaded);
        Ok(DlrModule(Arc::new(prepared)))
    }

    fn shape(&self, module: &DlrModule) -> ModuleShape {
        module.0.shape.clone()
    }

    fn instantiate(&self, module: &DlrModule, sink: Sink) -> Result<DlrInstance, Failure> {
        let prepared = &module.0;
        let limits = &self.config.limits;
        let tables_fit = prepared.table_minimums.iter().all(|&min| min <= u64::from(limits.max_table_elements));
        let memories_fit = prepared.memory_minimums.iter().all(|&min| min <= max_pages(limits));
        // One memory and one table per instance, as `StoreLimits` allows on wasmtime and wasmi.
        let one_each = prepared.memory_minimums.len() <= 1 && prepared.table_minimums.len() <= 1;
        if !tables_fit || !memories_fit || !one_each || prepared.loaded.is_none() {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        let host = Host {
            memory: None,
            allocator: GuestAllocator::Missing,
            recorder: self.config.recorder(sink),
            deadline: Deadline::after(limits.timeout).map(Deadline::instant),
        };
        let bench_imports = self.config.bench_imports;
        let mut module_addr = None;
        let store = guarded(|| {
            StoreCell::try_new(Arc::clone(prepared), |prepared| {
                let loaded = prepared.loaded.as_ref().ok_or_else(|| Failure::new(Fault::instantiation_limit()))?;
                let dlr_module = loaded.borrow_dependent();
                let mut store = DlrStore::new(Interpreter);
                let mut externs = Vec::new();
                for (module, name, ty) in dlr_module.imports() {
                    let binding = binding(module, name, &ty, bench_imports)?;
                    let DlrExternType::Func(ty) = ty else { return Err(unknown_import(module, name)) };
                    externs.push(StoredExternVal::Func(store.func_alloc(ty, binding.code())));
                }
                let outcome = store.module_instantiate(dlr_module, externs, None).map_err(instantiate_failure)?;
                module_addr = Some(outcome.module_addr);
                Ok(store)
            })
        })??;
        let module = module_addr.ok_or(Fault::Runtime)?;
        let mut instance = DlrInstance { store, host, module };
        if let Some(start) = &prepared.start_export {
            instance.call_export(start, Vec::new())?;
        }
        let store = instance.store.borrow_dependent();
        let memory = store.instance_export(module, MEMORY_EXPORT).ok().and_then(StoredExternVal::as_mem);
        let memory = memory.ok_or_else(|| Fault::Link(prepared.shape.no_memory()))?;
        let allocator = find_allocator(store, module);
        instance.host.memory = Some(memory);
        instance.host.allocator = allocator;
        Ok(instance)
    }
}

impl DlrInstance {
    /// Calls the exported function `name` with `params`, runs it to its end, and maps its error.
    fn call_export(&mut self, name: &str, params: Vec<StoredValue>) -> Result<Vec<StoredValue>, Failure> {
        let module = self.module;
        let host = &mut self.host;
        self.store.with_dependent_mut(|prepared, store| {
            let func = store
                .instance_export(module, name)
                .ok()
                .and_then(StoredExternVal::as_func)
                .ok_or_else(|| Fault::MissingExport { name: name.into(), available: prepared.shape.functions() })?;
            let outcome = guarded(|| call(store, host, func, params))?;
            outcome.map_err(|stop| failure(stop, out_of_fuel(store, module, prepared.fuel_export.as_deref())))
        })
    }

    /// The guest's memory.
    fn memory(&mut self) -> Result<&mut [u8], Failure> {
        let memory = self.host.memory.ok_or(Fault::Runtime)?;
        Ok(self.store.with_dependent_mut(|_, store| store.mem_data_mut(memory)))
    }
}

impl harness::Instance for DlrInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let params = args.iter().map(|&a| StoredValue::I32(a.cast_unsigned())).collect();
        let results = self.call_export(name, params)?;
        Ok(results.first().and_then(|v| match v {
            StoredValue::I32(v) => Some(v.cast_signed()),
            _ => None,
        }))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let memory = self.memory()?;
        let start = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let target = start.checked_add(bytes.len()).and_then(|end| memory.get_mut(start..end)).ok_or_else(|| {
            Failure::with_detail(Fault::Runtime, format!("{} bytes at {offset} are out of bounds", bytes.len()))
        })?;
        target.copy_from_slice(bytes);
        Ok(())
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        Ok(self.memory()?.to_vec())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        if self.store.borrow_owner().shape.function(name) != Some((&[], &[])) {
            return Err(Failure::with_detail(Fault::Runtime, format!("{name:?} is not a function () -> ()")));
        }
        for _ in 0..times {
            self.call_export(name, Vec::new())?;
        }
        Ok(())
    }

    fn recorder(&self) -> &Recorder {
        &self.host.recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.host.recorder
    }
}

/// The most pages a memory may have under `limits`.
fn max_pages(limits: &harness::Limits) -> u64 {
    u64::try_from(limits.max_memory_bytes / WASM_PAGE_SIZE as usize).unwrap_or(u64::MAX).min(MAX_PAGES)
}

/// The initial sizes of the tables a (validated) module defines, and of the memories it defines
/// or imports.
fn minimums(wasm: &[u8]) -> Result<(Vec<u64>, Vec<u64>), String> {
    let (mut tables, mut memories) = (Vec::new(), Vec::new());
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let wasmparser::TypeRef::Memory(memory) = import.map_err(|e| e.to_string())?.ty {
                        memories.push(memory.initial);
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    tables.push(table.map_err(|e| e.to_string())?.ty.initial);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    memories.push(memory.map_err(|e| e.to_string())?.initial);
                }
            }
            _ => {}
        }
    }
    Ok((tables, memories))
}

/// What the import `module`.`name` of type `ty` is bound to (the module's shape passed the ABI
/// check, so it is an import of the ABI, or a benchmark import with `bench_imports`).
fn binding(module: &str, name: &str, ty: &DlrExternType, bench_imports: bool) -> Result<Binding, Failure> {
    let abi = (module == IMPORT_MODULE).then(|| Import::from_name(name)).flatten();
    let binding = match abi {
        Some(import) => Binding::Abi(import),
        None if bench_imports && module == bench::MODULE => Binding::NoOp,
        None => return Err(unknown_import(module, name)),
    };
    let wanted = match binding {
        Binding::Abi(import) => func_type(import.params(), import.results()),
        Binding::NoOp => {
            let params = bench::IMPORTS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
            func_type(params.ok_or_else(|| unknown_import(module, name))?, &[])
        }
    };
    match ty {
        DlrExternType::Func(ty) if *ty == wanted => Ok(binding),
        _ => Err(unknown_import(module, name)),
    }
}

/// An import the host does not provide (the ABI check refuses such a module before it gets here).
fn unknown_import(module: &str, name: &str) -> Failure {
    Failure::new(Fault::Link(LinkError::UnknownImport { module: module.into(), name: name.into() }))
}

/// Whether the guest has used up its fuel: the counter went below zero.
fn out_of_fuel(store: &DlrStore<'_>, module: Stored<ModuleAddr>, fuel_export: Option<&str>) -> bool {
    let Some(name) = fuel_export else { return false };
    let Some(global) = store.instance_export(module, name).ok().and_then(StoredExternVal::as_global) else {
        return false;
    };
    matches!(store.global_read(global), StoredValue::I64(fuel) if fuel.cast_signed() < 0)
}

/// Runs `body`, turning a panic in dlr (or in the rewriting of a module) into a failure
/// ([`harness::guarded`]). None is known; this is the boundary where one would be caught. The
/// instance a panic interrupted is left as dlr left it.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, Failure> {
    harness::guarded("dlr", body)
}

/// An error from instantiation: a data or element segment out of bounds (a trap, as on the other
/// runtimes), or another error of dlr's.
fn instantiate_failure(error: RuntimeError) -> Failure {
    failure(Stop::Runtime(error), false)
}

/// Why a call stopped, in the ABI's terms. `out_of_fuel`: the guest's fuel counter is below zero,
/// so the trap (an `unreachable` the fuel check executed) means it ran out of fuel.
fn failure(stop: Stop, out_of_fuel: bool) -> Failure {
    let error = match stop {
        Stop::Host(host) => return Failure::new(Fault::Host(host)),
        Stop::Deadline => return Failure::new(Fault::Trap(Trap::Timeout)),
        Stop::Runtime(_) if out_of_fuel => return Failure::new(Fault::Trap(Trap::OutOfFuel)),
        Stop::Runtime(error) => error,
    };
    let trap = match &error {
        RuntimeError::Trap(trap) => match trap {
            TrapError::ReachedUnreachable => Trap::Unreachable,
            TrapError::MemoryOrDataAccessOutOfBounds => Trap::MemoryOutOfBounds,
            TrapError::TableOrElementAccessOutOfBounds | TrapError::TableAccessOutOfBounds => Trap::TableOutOfBounds,
            TrapError::UninitializedElement | TrapError::IndirectCallNullFuncRef => Trap::IndirectCallToNull,
            TrapError::SignatureMismatch => Trap::BadSignature,
            TrapError::DivideBy0 => Trap::IntegerDivisionByZero,
            // Signed division of the smallest integer by -1, or a float out of the integer's range.
            TrapError::UnrepresentableResult => Trap::IntegerOverflow,
            TrapError::BadConversionToInteger => Trap::BadConversionToInteger,
        },
        RuntimeError::StackExhaustion => Trap::StackOverflow,
        RuntimeError::TableAccessOutOfBounds => Trap::TableOutOfBounds,
        _ => return Failure::with_detail(Fault::Runtime, format!("dlr: {error}")),
    };
    Failure::new(Fault::Trap(trap))
}
