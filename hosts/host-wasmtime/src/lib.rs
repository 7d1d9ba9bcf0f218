//! The wasm-hostcall imports on [wasmtime](https://docs.wasmtime.dev): a reference host.
//!
//! [`Wasmtime`] implements [`harness::Engine`]: it compiles guests with Cranelift, binds the four
//! imports of the ABI once in a shared [`Linker`], and gives each instance a [`Store`] of its own
//! holding the instance's memory handle (looked up once, at instantiation) and its event log.
//! Every import body is one call to the shared [`Recorder`], which decodes guest memory with the
//! `common` decoders; this crate never parses guest bytes itself.
//!
//! Limits: fuel for CPU, [`StoreLimits`] for memory, tables and instances, `max_wasm_stack` for
//! recursion.
#![forbid(unsafe_code)]

use common::{Event, IMPORT_MODULE, Import};
use harness::{
    ExportDesc, ExternType, Failure, Fault, HostError, HostErrorKind, ImportDesc, Limits, ModuleShape, Recorder, Sink,
    Trap,
};
use wasmtime::{Caller, Config, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, Val};

/// The wasmtime engine, with the imports bound once for all instances.
pub struct Wasmtime {
    engine: wasmtime::Engine,
    linker: Linker<State>,
    limits: Limits,
}

/// What each store holds.
struct State {
    /// The guest's exported memory, looked up once after instantiation.
    memory: Option<Memory>,
    recorder: Recorder,
    store_limits: StoreLimits,
}

/// One guest instance in its own store.
pub struct WasmtimeInstance {
    store: Store<State>,
    instance: wasmtime::Instance,
}

impl harness::Engine for Wasmtime {
    const NAME: &'static str = "wasmtime";
    type Module = Module;
    type Instance = WasmtimeInstance;

    fn new(limits: &Limits) -> Result<Self, Failure> {
        let mut config = Config::new();
        config.consume_fuel(limits.fuel.is_some());
        let engine = wasmtime::Engine::new(&config).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        Ok(Wasmtime { engine, linker, limits: limits.clone() })
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module, Failure> {
        Module::new(&self.engine, wasm).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))
    }

    fn shape(&self, module: &Module) -> ModuleShape {
        ModuleShape {
            imports: module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(&i.ty()) })
                .collect(),
            exports: module.exports().map(|e| ExportDesc { name: e.name().into(), ty: extern_type(&e.ty()) }).collect(),
        }
    }

    fn instantiate(&self, module: &Module, sink: Sink) -> Result<WasmtimeInstance, Failure> {
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_bytes)
            .table_elements(usize::try_from(self.limits.max_table_elements).unwrap_or(usize::MAX))
            .instances(1)
            .tables(1)
            .memories(1)
            .build();
        let state = State { memory: None, recorder: Recorder::new(sink, self.limits.max_log_bytes), store_limits };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.store_limits);
        if let Some(fuel) = self.limits.fuel {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let instance = self.linker.instantiate(&mut store, module).map_err(|e| instantiate_failure(&e))?;
        let memory = instance
            .get_memory(&mut store, common::MEMORY_EXPORT)
            .ok_or(Fault::Link(harness::LinkError::NoMemory { exports: Vec::new() }))?;
        store.data_mut().memory = Some(memory);
        Ok(WasmtimeInstance { store, instance })
    }
}

impl harness::Instance for WasmtimeInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let params: Vec<Val> = args.iter().copied().map(Val::I32).collect();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, &params, &mut results).map_err(|e| failure(&e))?;
        Ok(results.first().and_then(Val::i32))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let memory = self.store.data().memory.ok_or(Fault::Runtime)?;
        let offset = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        memory.write(&mut self.store, offset, bytes).map_err(|e| Failure::with_detail(Fault::Runtime, e))
    }

    fn take_events(&mut self) -> Vec<Event<'static>> {
        self.store.data_mut().recorder.take_events()
    }

    fn event_count(&self) -> u64 {
        self.store.data().recorder.count()
    }
}

/// Binds the four imports of the ABI.
fn define_imports(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.func_wrap(IMPORT_MODULE, Import::LogInt.name(), |mut caller: Caller<'_, State>, value: i32| {
        caller.data_mut().recorder.log_int(value).map_err(wasmtime::Error::new)
    })?;
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            log_from_memory(&mut caller, import, ptr, len).map_err(wasmtime::Error::new)
        })?;
    }
    Ok(())
}

/// The body of a memory-reading import: borrow the guest's memory and the recorder together
/// (zero-copy), decode, record.
fn log_from_memory(caller: &mut Caller<'_, State>, import: Import, ptr: i32, len: i32) -> Result<(), HostError> {
    let memory = caller.data().memory.ok_or(HostError { import, kind: HostErrorKind::MemoryUnavailable })?;
    let (bytes, state) = memory.data_and_store_mut(caller);
    state.recorder.log_from_memory(import, bytes, ptr, len)
}

/// A wasmtime type in the ABI's terms.
fn extern_type(ty: &wasmtime::ExternType) -> ExternType {
    match ty {
        wasmtime::ExternType::Func(f) => ExternType::Func {
            params: f.params().map(|t| val_type(&t)).collect(),
            results: f.results().map(|t| val_type(&t)).collect(),
        },
        wasmtime::ExternType::Memory(m) => ExternType::Memory { minimum_pages: m.minimum() },
        wasmtime::ExternType::Table(_) => ExternType::Table,
        wasmtime::ExternType::Global(_) => ExternType::Global,
        wasmtime::ExternType::Tag(_) => ExternType::Other,
    }
}

fn val_type(ty: &wasmtime::ValType) -> common::ValType {
    match ty {
        wasmtime::ValType::I32 => common::ValType::I32,
        wasmtime::ValType::I64 => common::ValType::I64,
        wasmtime::ValType::F32 => common::ValType::F32,
        wasmtime::ValType::F64 => common::ValType::F64,
        wasmtime::ValType::V128 => common::ValType::V128,
        wasmtime::ValType::Ref(_) => common::ValType::Ref,
    }
}

/// An error from instantiation: a trap in a start function, or a resource limit.
fn instantiate_failure(error: &wasmtime::Error) -> Failure {
    if error.downcast_ref::<wasmtime::Trap>().is_some() || error.downcast_ref::<HostError>().is_some() {
        return failure(error);
    }
    // Imports were checked against the ABI and exported memories against the limits before, so
    // what wasmtime still refuses without a trap is a table or memory that `StoreLimits` denied.
    Failure::with_detail(Fault::instantiation_limit(), error)
}

/// A wasmtime error from a call in the ABI's terms.
fn failure(error: &wasmtime::Error) -> Failure {
    if let Some(host) = error.downcast_ref::<HostError>() {
        return Failure::new(Fault::Host(host.clone()));
    }
    let Some(trap) = error.downcast_ref::<wasmtime::Trap>() else {
        return Failure::with_detail(Fault::Runtime, error);
    };
    let neutral = match trap {
        wasmtime::Trap::StackOverflow => Trap::StackOverflow,
        wasmtime::Trap::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        wasmtime::Trap::HeapMisaligned => Trap::MisalignedAtomic,
        wasmtime::Trap::TableOutOfBounds => Trap::TableOutOfBounds,
        wasmtime::Trap::IndirectCallToNull => Trap::IndirectCallToNull,
        wasmtime::Trap::BadSignature => Trap::BadSignature,
        wasmtime::Trap::IntegerOverflow => Trap::IntegerOverflow,
        wasmtime::Trap::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        wasmtime::Trap::BadConversionToInteger => Trap::BadConversionToInteger,
        wasmtime::Trap::UnreachableCodeReached => Trap::Unreachable,
        wasmtime::Trap::OutOfFuel => Trap::OutOfFuel,
        other => return Failure::with_detail(Fault::Trap(Trap::Other), other),
    };
    Failure::new(Fault::Trap(neutral))
}
