//! The wasm-hostcall imports on [tinywasm](https://docs.rs/tinywasm), a small pure-Rust interpreter.
//!
//! [`Tinywasm`] implements [`harness::Engine`]. tinywasm's stores hold no host data, so each
//! instance gets a [`Store`] of its own with the imports defined in it, their closures sharing the
//! instance's memory and allocator handles (looked up once, at instantiation) and its
//! [`Recorder`].
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this
//! crate never parses guest bytes itself. `examples/embed.rs` (`--example embed-tinywasm`) embeds
//! the guest in a page of plain tinywasm code, without this crate.
//!
//! # Limits
//!
//! tinywasm 0.10 has mechanisms for some of the [`harness::Limits`] and not for others:
//!
//! | limit              | how                                                                          |
//! |--------------------|------------------------------------------------------------------------------|
//! | `fuel`             | a fuel counter added to the module (`harness::rewrite::meter`), one budget per instance |
//! | `max_memory_bytes` | a custom memory backend that refuses to grow past it (`src/memory.rs`)       |
//! | tables             | each table's maximum lowered to the limit in the module (the same)     |
//! | stack              | tinywasm's call stack (1,024 frames) and value stacks, on the heap           |
//!
//! - **Fuel.** tinywasm's own fuel (`call_resumable` + `resume_with_fuel`) is not used: it does
//!   not meter a call a host function makes into the guest (`FuncContext::call`, which the
//!   `answer_*_alloc` imports need for the guest's allocator), so an allocator looping forever
//!   would hang the host, and it does not tell how much fuel a completed call used, so it cannot
//!   keep one budget per instance. The added counter charges one unit per instruction, a
//!   straight-line run at a time before the run executes, so a guest that traps mid-run has paid
//!   for the whole run. It costs time: a tight loop ran 2.4 times slower metered than unmetered.
//! - **No timeout.** tinywasm cannot be interrupted from another thread, and its
//!   `resume_with_time_budget` bounds only the outermost call, for the same reason as its fuel:
//!   the guest's allocator, called from a host function, would run unbounded. A timeout is refused
//!   ([`harness::Engine::STOPS_ON_DEADLINE`] is `false`). Doing it through the added fuel counter
//!   (a host call when a slice runs out, which reads the clock) is possible and not done.
//! - **Memory.** `memory.grow` past the limit returns -1. A module declaring more initial memory
//!   is refused before instantiation, by `shape.check_limits` for the exported memory and here
//!   for any other, with [`Fault::instantiation_limit`].
//! - **Tables.** `table.grow` past the limit returns -1; a table that starts above it is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//! - **Stack.** tinywasm's interpreter does not recurse on the native stack for wasm calls: deep
//!   recursion ends in its call-stack or value-stack overflow, both [`Trap::StackOverflow`]. A
//!   host function calling into the guest does recurse natively, once: the [`Recorder`] refuses
//!   every import made from the guest's allocator.
//!
//! - **Memories, tables.** At most one of each, as elsewhere: a module defining more is refused
//!   before instantiation, with [`Fault::instantiation_limit`].
//!
//! Not enforced: the memory the value and call stacks take (they grow on demand
//! up to tinywasm's default sizes, about 0.5 MiB per instance).
//!
//! # Panics
//!
//! A panic unwinding out of a host function would unwind through the interpreter; the shared
//! [`Recorder`] catches them. Parsing, instantiating and calling are wrapped in `catch_unwind`
//! too, reported as [`Fault::Runtime`]: a boundary for a panic in tinywasm or in the re-encoder
//! on some input. None has been seen (25,000 modules from `wasm-smith`).
#![forbid(unsafe_code)]

mod imports;
mod memory;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use harness::{
    ExportDesc, ExternType, Failure, Fault, GuestAllocator, ImportDesc, ModuleShape, Recorder, Sink, Trap, bench,
};
use tinywasm::engine::{Config, StackConfig};
use tinywasm::parser::{Parser, ParserOptions};
use tinywasm::types::{ExportType, ExternalKind, ImportKind, ImportType, WasmType, WasmValue};
use tinywasm::{ModuleInstance, Store};

use crate::imports::{Host, HostTrap, SharedHost, define_imports, find_allocator};

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool only.
fn define_bench_imports(store: &mut Store, imports: &mut tinywasm::Imports) {
    use tinywasm::HostFunction;
    imports.define(bench::MODULE, bench::NOOP_I32, HostFunction::from(store, |_, _: i32| Ok(())));
    imports.define(bench::MODULE, bench::NOOP_I32_I32, HostFunction::from(store, |_, _: (i32, i32)| Ok(())));
}
use crate::memory::GuestMemory;

/// The tinywasm engine: its configuration (stacks, memory backend), and the limits.
pub struct Tinywasm {
    engine: tinywasm::Engine,
    config: harness::Config,
    tier: &'static str,
}

/// A module parsed and validated by tinywasm, rewritten with the limits tinywasm has no mechanism
/// for (see `harness::rewrite::meter`).
#[derive(Clone)]
pub struct TinywasmModule {
    module: tinywasm::Module,
    /// The export that holds the fuel left, hidden from [`harness::Engine::shape`].
    fuel_export: Option<Arc<str>>,
}

/// One guest instance in its own store.
pub struct TinywasmInstance {
    store: Store,
    instance: ModuleInstance,
    /// The state the imports share; its recorder is the one in use only during a call.
    host: SharedHost,
    /// The instance's recorder between calls.
    recorder: Recorder,
    memory: Option<GuestMemory>,
    fuel_export: Option<Arc<str>>,
}

impl harness::Engine for Tinywasm {
    const NAME: &'static str = "tinywasm";
    /// tinywasm has one way to run code: its interpreter, on its own bytecode.
    const TIERS: &'static [&'static str] = &["interpreter"];
    type Module = TinywasmModule;
    type Instance = TinywasmInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let defaults = Config::default();
        // Stacks that start small and grow up to tinywasm's default maximum sizes, instead of
        // taking those sizes (about 0.5 MiB) up front in every store.
        let dynamic = |stack: StackConfig| StackConfig::dynamic(stack.max_size.min(256), stack.max_size);
        let tinywasm_config = Config::new()
            .with_value_stack_32(dynamic(defaults.value_stack_32))
            .with_value_stack_64(dynamic(defaults.value_stack_64))
            .with_value_stack_128(dynamic(defaults.value_stack_128))
            .with_call_stack(dynamic(defaults.call_stack))
            .with_memory_backend(memory::backend(config.limits.max_memory_bytes));
        Ok(Tinywasm { engine: tinywasm::Engine::new(tinywasm_config), config: config.clone(), tier })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<TinywasmModule, Failure> {
        let limits = &self.config.limits;
        let metered = guarded(|| harness::rewrite::meter::meter(wasm, limits.fuel, limits.max_table_elements))?
            .map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        // Memories allocated at instantiation (not on first use), so that the memory backend
        // creates them while the host is looking (`memory::take_created`).
        let parser = Parser::with_options(ParserOptions::default().with_local_memory_allocation_optimization(false));
        let module = guarded(|| parser.parse_module_bytes(&metered.wasm))?
            .map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        Ok(TinywasmModule { module, fuel_export: metered.fuel_export.map(Arc::from) })
    }

    fn shape(&self, module: &TinywasmModule) -> ModuleShape {
        let hidden = module.fuel_export.as_deref();
        ModuleShape::new(
            module
                .module
                .imports()
                .map(|i| ImportDesc { module: i.module.into(), name: i.name.into(), ty: import_type(&i.ty) })
                .collect(),
            module
                .module
                .exports()
                .filter(|e| Some(e.name) != hidden)
                .map(|e| ExportDesc { name: e.name.into(), ty: export_type(&e.ty) })
                .collect(),
        )
    }

    fn instantiate(&self, module: &TinywasmModule, sink: Sink) -> Result<TinywasmInstance, Failure> {
        let limits = &self.config.limits;
        let too_large = module
            .module
            .memory_types
            .iter()
            .any(|m| usize::try_from(m.initial_size()).map_or(true, |bytes| bytes > limits.max_memory_bytes))
            || module.module.table_types.iter().any(|t| t.size_initial > u64::from(limits.max_table_elements));
        // One memory and one table per instance, as `StoreLimits` allows on wasmtime and wasmi.
        let too_many = module.module.memory_types.len() > 1 || module.module.table_types.len() > 1;
        if too_large || too_many {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        let mut store = Store::new(self.engine.clone());
        let host = Rc::new(RefCell::new(Host {
            memory: None,
            allocator: GuestAllocator::Missing,
            recorder: Recorder::new(Sink::Discard, 0),
        }));
        let mut imports = define_imports(&mut store, &host);
        if self.config.bench_imports {
            define_bench_imports(&mut store, &mut imports);
        }
        memory::take_created();
        let instance = guarded(|| ModuleInstance::instantiate_no_start(&mut store, &module.module, Some(imports)));
        let memories = memory::take_created();
        let instance = instance.and_then(|result| result.map_err(|e| failure(e, false)))?;
        let mut instance = TinywasmInstance {
            store,
            instance,
            host,
            recorder: self.config.recorder(sink),
            memory: None,
            fuel_export: module.fuel_export.clone(),
        };
        instance.run(|store, instance| instance.start(store).map(|_| Vec::new()))?;
        let memory =
            exported_memory(&module.module, memories).ok_or_else(|| Fault::Link(self.shape(module).no_memory()))?;
        let allocator = find_allocator(&instance.store, &instance.instance);
        instance.memory = Some(memory.clone());
        let mut host = instance.host.try_borrow_mut().map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        host.memory = Some(memory);
        host.allocator = allocator;
        drop(host);
        Ok(instance)
    }
}

impl TinywasmInstance {
    /// Runs `body` (a call into the guest) with the instance's recorder in the imports' reach,
    /// and maps its error.
    fn run(
        &mut self,
        body: impl FnOnce(&mut Store, &ModuleInstance) -> tinywasm::Result<Vec<WasmValue>>,
    ) -> Result<Vec<WasmValue>, Failure> {
        self.swap_recorder()?;
        let result = guarded(|| body(&mut self.store, &self.instance));
        self.swap_recorder()?;
        match result? {
            Ok(values) => Ok(values),
            Err(error) => Err(failure(error, self.out_of_fuel())),
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
        matches!(self.instance.global_get(&self.store, name), Ok(WasmValue::I64(fuel)) if fuel < 0)
    }

    fn memory(&self) -> Result<std::cell::RefMut<'_, Vec<u8>>, Failure> {
        let memory = self.memory.as_ref().ok_or(Fault::Runtime)?;
        memory.bytes_mut().ok_or_else(|| Failure::with_detail(Fault::Runtime, "the guest memory is borrowed"))
    }
}

impl harness::Instance for TinywasmInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self
            .instance
            .func_untyped(&self.store, name)
            .map_err(|_| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let params: Vec<WasmValue> = args.iter().copied().map(WasmValue::I32).collect();
        let results = self.run(|store, _| func.call(store, &params))?;
        Ok(results.first().and_then(|v| match v {
            WasmValue::I32(v) => Some(*v),
            _ => None,
        }))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let mut memory = self.memory()?;
        let start = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let end = start.checked_add(bytes.len()).filter(|end| *end <= memory.len()).ok_or_else(|| {
            Failure::with_detail(Fault::Runtime, format!("{} bytes at {offset} are out of bounds", bytes.len()))
        })?;
        memory[start..end].copy_from_slice(bytes);
        Ok(())
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        Ok(self.memory()?.clone())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        let func =
            self.instance.func::<(), ()>(&self.store, name).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        self.run(|store, _| {
            for _ in 0..times {
                func.call(store, ())?;
            }
            Ok(Vec::new())
        })?;
        Ok(())
    }

    fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.recorder
    }
}

/// The memory the module exports as `memory`, among those the backend created for it (one per
/// memory the module defines, in order). `None` if it exports no such memory, or an imported one.
fn exported_memory(module: &tinywasm::Module, created: Vec<GuestMemory>) -> Option<GuestMemory> {
    let export = module.exports.iter().find(|e| &*e.name == common::MEMORY_EXPORT && e.kind == ExternalKind::Memory)?;
    let imported = module.imports.iter().filter(|i| matches!(i.kind, ImportKind::Memory(_))).count();
    let index = usize::try_from(export.index).ok()?.checked_sub(imported)?;
    created.into_iter().nth(index)
}

/// Runs `body`, turning a panic in it (in tinywasm or wasm-encoder, on some input) into a failure
/// ([`harness::guarded`]). None is known; this is the boundary where one would be caught. A store
/// a panic interrupted may refuse further calls (tinywasm then says an invocation is still
/// active): a runtime fault.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, Failure> {
    harness::guarded("tinywasm", body)
}

/// An imported entity's type in the ABI's terms.
fn import_type(ty: &ImportType<'_>) -> ExternType {
    match ty {
        ImportType::Func(f) => func_type(f),
        ImportType::Memory(m) => ExternType::Memory { minimum_pages: m.page_count_initial() },
        ImportType::Table(_) => ExternType::Table,
        ImportType::Global(_) => ExternType::Global,
    }
}

/// An exported entity's type in the ABI's terms.
fn export_type(ty: &ExportType<'_>) -> ExternType {
    match ty {
        ExportType::Func(f) => func_type(f),
        ExportType::Memory(m) => ExternType::Memory { minimum_pages: m.page_count_initial() },
        ExportType::Table(_) => ExternType::Table,
        ExportType::Global(_) => ExternType::Global,
    }
}

fn func_type(ty: &tinywasm::types::FuncType) -> ExternType {
    ExternType::Func {
        params: ty.params().iter().map(val_type).collect(),
        results: ty.results().iter().map(val_type).collect(),
    }
}

fn val_type(ty: &WasmType) -> common::ValType {
    match ty {
        WasmType::I32 => common::ValType::I32,
        WasmType::I64 => common::ValType::I64,
        WasmType::F32 => common::ValType::F32,
        WasmType::F64 => common::ValType::F64,
        WasmType::V128 => common::ValType::V128,
        WasmType::RefFunc | WasmType::RefExtern => common::ValType::Ref,
    }
}

/// A tinywasm error in the ABI's terms. `out_of_fuel`: the guest's fuel counter is below zero,
/// so the trap (an `unreachable` the fuel check executed) means it ran out of fuel.
fn failure(error: tinywasm::Error, out_of_fuel: bool) -> Failure {
    use tinywasm::Trap as T;
    if out_of_fuel {
        return Failure::new(Fault::Trap(Trap::OutOfFuel));
    }
    let tinywasm::Error::Trap(trap) = error else {
        return Failure::with_detail(Fault::Runtime, error);
    };
    let neutral = match trap {
        // A host function's error: ours, or the error of the guest's allocator it called.
        T::HostFunction(inner) => {
            if let Some(HostTrap(host)) = inner.downcast_ref::<HostTrap>() {
                return Failure::new(Fault::Host(host.clone()));
            }
            return match inner.downcast::<tinywasm::Error>() {
                Ok(inner) => failure(*inner, false),
                Err(inner) => Failure::with_detail(Fault::Runtime, inner),
            };
        }
        T::Unreachable => Trap::Unreachable,
        T::MemoryOutOfBounds { .. } => Trap::MemoryOutOfBounds,
        // `UndefinedElement`: a `call_indirect` index past the end of the table.
        T::TableOutOfBounds { .. } | T::UndefinedElement { .. } => Trap::TableOutOfBounds,
        T::UninitializedElement { .. } => Trap::IndirectCallToNull,
        T::IndirectCallTypeMismatch { .. } => Trap::BadSignature,
        T::DivisionByZero => Trap::IntegerDivisionByZero,
        T::IntegerOverflow => Trap::IntegerOverflow,
        T::InvalidConversionToInt => Trap::BadConversionToInteger,
        T::CallStackOverflow | T::ValueStackOverflow => Trap::StackOverflow,
        _ => return Failure::with_detail(Fault::Trap(Trap::Other), trap),
    };
    Failure::new(Fault::Trap(neutral))
}
