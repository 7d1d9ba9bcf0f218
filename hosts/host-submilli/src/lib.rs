//! The wasm-hostcall imports on [submilli-wasm](https://docs.rs/submilli-wasm), a pure-Rust
//! interpreter with a wasmtime-like API.
//!
//! [`Submilli`] implements [`harness::Engine`]: it binds the imports of the ABI once in a shared
//! [`Linker`] and gives each instance a [`Store`] of its own holding the instance's memory and
//! allocator handles (looked up once, at instantiation) and its [`Recorder`].
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this
//! crate never parses guest bytes itself. `examples/embed.rs` (`--example embed-submilli`) embeds
//! the guest in a page of plain submilli code, without this crate.
//!
//! submilli has one tier, its interpreter: a module is validated and lowered to the
//! interpreter's own code in one pass.
//!
//! # Limits
//!
//! | limit              | how                                                                           |
//! |--------------------|-------------------------------------------------------------------------------|
//! | `fuel`             | fuel (`Config::consume_fuel`, `Store::set_fuel`), one budget per instance     |
//! | `max_memory_bytes` | [`StoreLimits`](submilli_wasm::StoreLimits) (`memory_size`)                   |
//! | tables, instances  | [`StoreLimits`](submilli_wasm::StoreLimits): elements, one instance, one memory, one table |
//! | stack              | `Config::max_wasm_stack` (512 KiB), a budget on submilli's heap-allocated stacks |
//!
//! - **Fuel.** submilli charges fuel per executed instruction, checked before each; a call a host
//!   function makes into the guest (the allocator of `answer_*_alloc`) runs in the same store and
//!   draws on the same budget, so an allocator that never returns ends out of fuel.
//! - **Memory.** `memory.grow` past the limit returns -1. A module declaring more initial memory
//!   fails to instantiate with [`Fault::instantiation_limit`], as on the other hosts.
//! - **Stack.** submilli keeps wasm frames and operands on the heap, not on the native stack: deep
//!   recursion ends when their estimated size reaches `max_wasm_stack`, in
//!   [`Trap::StackOverflow`], whatever the native stack of the calling thread. A host function
//!   calling into the guest does recurse natively, once: submilli charges 4 KiB of the budget for
//!   each such crossing, and the [`Recorder`] refuses every import made from the guest's
//!   allocator.
//!
//! # Panics
//!
//! submilli contains a panic unwinding out of a host function (its SECURITY.md: it restores the
//! store, then resumes the unwind); the shared [`Recorder`] catches them first, so none reaches it.
#![forbid(unsafe_code)]

mod imports;

use harness::{
    ExportDesc, ExternType, Failure, Fault, GuestAllocator, HostError, ImportDesc, ModuleShape, Recorder, Sink, Trap,
};
use submilli_wasm::{Config, Linker, Module, Store, StoreLimitsBuilder, Val};

use crate::imports::{State, define_imports, find_allocator};

/// The wasm stack budget, in bytes (submilli's default, and wasmtime's).
const MAX_WASM_STACK: usize = 512 * 1024;

/// The submilli engine, with the imports bound once for all instances.
pub struct Submilli {
    engine: submilli_wasm::Engine,
    linker: Linker<State>,
    config: harness::Config,
    tier: &'static str,
}

/// One guest instance in its own store.
pub struct SubmilliInstance {
    store: Store<State>,
    instance: submilli_wasm::Instance,
}

impl harness::Engine for Submilli {
    const NAME: &'static str = "submilli";
    const CRATE: &'static str = "submilli-wasm";
    /// submilli's one tier: its interpreter.
    const TIERS: &'static [&'static str] = &["interpreter"];
    type Module = Module;
    type Instance = SubmilliInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::choose_tier(Self::NAME, Self::TIERS, config)?;
        let setup = |e: submilli_wasm::Error| Failure::new(Fault::Setup(format!("submilli: {e:#}")));
        let mut submilli_config = Config::new();
        submilli_config.consume_fuel(config.limits.fuel.is_some()).max_wasm_stack(MAX_WASM_STACK);
        let engine = submilli_wasm::Engine::new(&submilli_config).map_err(setup)?;
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker, config.bench_imports).map_err(setup)?;
        Ok(Submilli { engine, linker, config: config.clone(), tier })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module, Failure> {
        Module::new(&self.engine, wasm).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))
    }

    fn shape(&self, module: &Module) -> ModuleShape {
        ModuleShape::new(
            module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(&i.ty()) })
                .collect(),
            module.exports().map(|e| ExportDesc { name: e.name().into(), ty: extern_type(&e.ty()) }).collect(),
        )
    }

    fn instantiate(&self, module: &Module, sink: Sink) -> Result<SubmilliInstance, Failure> {
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(self.config.limits.max_memory_bytes)
            .table_elements(usize::try_from(self.config.limits.max_table_elements).unwrap_or(usize::MAX))
            .instances(1)
            .tables(1)
            .memories(1)
            .build();
        let state = State {
            memory: None,
            allocator: GuestAllocator::Missing,
            recorder: Recorder::new(sink, self.config.limits.max_log_bytes),
            store_limits,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.store_limits);
        if let Some(fuel) = self.config.limits.fuel {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let instance = self.linker.instantiate(&mut store, module).map_err(|e| instantiate_failure(&e))?;
        let memory = instance
            .get_memory(&mut store, common::MEMORY_EXPORT)
            .ok_or_else(|| Fault::Link(self.shape(module).no_memory()))?;
        store.data_mut().memory = Some(memory);
        store.data_mut().allocator = find_allocator(&mut store, &instance);
        Ok(SubmilliInstance { store, instance })
    }
}

impl harness::Instance for SubmilliInstance {
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

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        let memory = self.store.data().memory.ok_or(Fault::Runtime)?;
        Ok(memory.data(&self.store).to_vec())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        let func = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, name)
            .map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        for _ in 0..times {
            func.call(&mut self.store, ()).map_err(|e| failure(&e))?;
        }
        Ok(())
    }

    fn recorder(&self) -> &Recorder {
        &self.store.data().recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        &mut self.store.data_mut().recorder
    }
}

/// A submilli type in the ABI's terms.
fn extern_type(ty: &submilli_wasm::ExternType) -> ExternType {
    match ty {
        submilli_wasm::ExternType::Func(f) => ExternType::Func {
            params: f.params().map(|t| val_type(&t)).collect(),
            results: f.results().map(|t| val_type(&t)).collect(),
        },
        submilli_wasm::ExternType::Memory(m) => ExternType::Memory { minimum_pages: m.minimum() },
        submilli_wasm::ExternType::Table(_) => ExternType::Table,
        submilli_wasm::ExternType::Global(_) => ExternType::Global,
        submilli_wasm::ExternType::Tag(_) => ExternType::Other,
    }
}

fn val_type(ty: &submilli_wasm::ValType) -> common::ValType {
    match ty {
        submilli_wasm::ValType::I32 => common::ValType::I32,
        submilli_wasm::ValType::I64 => common::ValType::I64,
        submilli_wasm::ValType::F32 => common::ValType::F32,
        submilli_wasm::ValType::F64 => common::ValType::F64,
        submilli_wasm::ValType::V128 => common::ValType::V128,
        submilli_wasm::ValType::Ref(_) => common::ValType::Ref,
    }
}

/// The messages of the errors submilli 0.1.12 instantiation fails with when the store's
/// [`ResourceLimiter`](submilli_wasm::ResourceLimiter) refuses a memory or a table (or a second
/// one, or a second instance). They are untyped (`Error::msg`), so they are recognised by text.
const STORE_LIMIT_MESSAGE: &str = "exceeds the store limit";

/// An error from instantiation: a trap in a start function or in a segment, or a resource limit.
fn instantiate_failure(error: &submilli_wasm::Error) -> Failure {
    if error.downcast_ref::<submilli_wasm::Trap>().is_some() || error.downcast_ref::<HostError>().is_some() {
        return failure(error);
    }
    if error.to_string().contains(STORE_LIMIT_MESSAGE) {
        return Failure::with_detail(Fault::instantiation_limit(), error);
    }
    Failure::with_detail(Fault::Runtime, error)
}

/// A submilli error from a call in the ABI's terms.
fn failure(error: &submilli_wasm::Error) -> Failure {
    if let Some(host) = error.downcast_ref::<HostError>() {
        return Failure::new(Fault::Host(host.clone()));
    }
    let Some(trap) = error.downcast_ref::<submilli_wasm::Trap>() else {
        return Failure::with_detail(Fault::Runtime, error);
    };
    let neutral = match trap {
        submilli_wasm::Trap::StackOverflow => Trap::StackOverflow,
        submilli_wasm::Trap::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        submilli_wasm::Trap::HeapMisaligned => Trap::MisalignedAtomic,
        submilli_wasm::Trap::TableOutOfBounds => Trap::TableOutOfBounds,
        submilli_wasm::Trap::IndirectCallToNull => Trap::IndirectCallToNull,
        submilli_wasm::Trap::BadSignature => Trap::BadSignature,
        submilli_wasm::Trap::IntegerOverflow => Trap::IntegerOverflow,
        submilli_wasm::Trap::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        submilli_wasm::Trap::BadConversionToInteger => Trap::BadConversionToInteger,
        submilli_wasm::Trap::UnreachableCodeReached => Trap::Unreachable,
        submilli_wasm::Trap::OutOfFuel => Trap::OutOfFuel,
        other => return Failure::with_detail(Fault::Trap(Trap::Other), other),
    };
    Failure::new(Fault::Trap(neutral))
}
