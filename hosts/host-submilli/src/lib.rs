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
//! | `timeout`          | epoch interruption (`Config::epoch_interruption`), the epoch moved by a [`Watchdog`] |
//!
//! - **Fuel.** submilli charges fuel per executed instruction, checked before each; a call a host
//!   function makes into the guest (the allocator of `answer_*_alloc`) runs in the same store and
//!   draws on the same budget, so an allocator that never returns ends out of fuel.
//! - **Timeout.** As on wasmtime, whose API submilli copies: a [`Watchdog`] alarm increments the
//!   engine's epoch at each instance's deadline, and the store's epoch callback ends the guest
//!   with [`Trap::Timeout`] if its own deadline has passed. submilli checks the epoch before every
//!   instruction, in the start function and in the allocator called from a host call too.
//! - **Memory.** `memory.grow` past the limit returns -1. A module declaring more initial memory
//!   fails to instantiate with [`Fault::instantiation_limit`], as on the other hosts.
//! - **Stack.** submilli keeps wasm frames and operands on the heap, not on the native stack: deep
//!   recursion ends when their estimated size reaches `max_wasm_stack`, in
//!   [`Trap::StackOverflow`], whatever the native stack of the calling thread. A host function
//!   calling into the guest does recurse natively, once: submilli charges 4 KiB of the budget for
//!   each such crossing, and the [`Recorder`] refuses every import made from the guest's
//!   allocator.
//!
//! # Engine generations
//!
//! submilli-wasm 0.1.12 keeps a few dozen bytes in the engine for every store ever created (a
//! GC-request mailbox, `Engine::register_gc_request`, pruned only under a GC-memory threshold
//! this host does not use), released only when the engine drops: a host that lives long would
//! grow without bound. [`Submilli`] therefore starts a new engine generation after
//! [`STORES_PER_ENGINE`] stores, and a module is compiled anew for the current generation the
//! first time it is instantiated in it; what one generation keeps is released with its last store
//! and module.
//!
//! # Panics
//!
//! submilli contains a panic unwinding out of a host function (its SECURITY.md: it restores the
//! store, then resumes the unwind); the shared [`Recorder`] catches them first, so none reaches it.
#![forbid(unsafe_code)]

mod imports;

use harness::{
    Alarm, Deadline, ExportDesc, ExternType, Failure, Fault, GuestAllocator, HostError, ImportDesc, ModuleShape,
    Recorder, Sink, Trap, Watchdog, bench,
};
use std::sync::{Arc, Mutex, PoisonError};

use submilli_wasm::{Config, Linker, Module, Store, StoreLimitsBuilder, UpdateDeadline, Val};

use crate::imports::{State, define_imports, find_allocator};

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool only.
fn define_bench_imports(linker: &mut Linker<State>) -> submilli_wasm::Result<()> {
    linker.func_wrap(bench::MODULE, bench::NOOP_I32, |_: i32| {})?;
    linker.func_wrap(bench::MODULE, bench::NOOP_I32_I32, |_: i32, _: i32| {})?;
    Ok(())
}

/// The wasm stack budget, in bytes (submilli's default, and wasmtime's).
const MAX_WASM_STACK: usize = 512 * 1024;

/// How many stores an engine generation makes before the next one starts (see the crate
/// docs, "Engine generations"): it bounds what submilli keeps per store to about 32 bytes × this,
/// at the cost of compiling each module once more per generation.
pub const STORES_PER_ENGINE: u64 = 512;

/// The submilli engine, with the imports bound once per engine generation.
pub struct Submilli {
    current: Mutex<Generation>,
    config: harness::Config,
    tier: &'static str,
    /// With a timeout: the thread that increments the epoch at each instance's deadline.
    watchdog: Option<Watchdog>,
}

/// One submilli engine, the imports bound in it, and how many stores it has made.
struct Generation {
    id: u64,
    engine: submilli_wasm::Engine,
    linker: Linker<State>,
    stores: u64,
}

impl Generation {
    fn new(id: u64, config: &harness::Config) -> submilli_wasm::Result<Self> {
        let mut submilli_config = Config::new();
        submilli_config
            .consume_fuel(config.limits.fuel.is_some())
            .epoch_interruption(config.limits.timeout.is_some())
            .max_wasm_stack(MAX_WASM_STACK);
        let engine = submilli_wasm::Engine::new(&submilli_config)?;
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker)?;
        if config.bench_imports {
            define_bench_imports(&mut linker)?;
        }
        Ok(Generation { id, engine, linker, stores: 0 })
    }
}

/// A module: its bytes, and its code compiled for the engine generation that last instantiated it.
#[derive(Clone)]
pub struct SubmilliModule {
    bytes: Arc<[u8]>,
    compiled: Arc<Mutex<(u64, Module)>>,
}

/// One guest instance in its own store.
pub struct SubmilliInstance {
    store: Store<State>,
    instance: submilli_wasm::Instance,
    /// The epoch increment at this instance's deadline, cancelled when the instance is dropped.
    _alarm: Option<Alarm>,
}

impl harness::Engine for Submilli {
    const NAME: &'static str = "submilli";
    const CRATE: &'static str = "submilli-wasm";
    /// submilli's one tier: its interpreter.
    const TIERS: &'static [&'static str] = &["interpreter"];
    const STOPS_ON_DEADLINE: bool = true;
    type Module = SubmilliModule;
    type Instance = SubmilliInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let generation = Generation::new(0, config).map_err(setup)?;
        let watchdog = harness::Watchdog::for_limits(&config.limits)?;
        Ok(Submilli { current: Mutex::new(generation), config: config.clone(), tier, watchdog })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<SubmilliModule, Failure> {
        let (id, engine) = {
            let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            (current.id, current.engine.clone())
        };
        let module = compile(&engine, wasm)?;
        Ok(SubmilliModule { bytes: wasm.into(), compiled: Arc::new(Mutex::new((id, module))) })
    }

    fn shape(&self, module: &SubmilliModule) -> ModuleShape {
        let module = module.compiled.lock().unwrap_or_else(PoisonError::into_inner).1.clone();
        ModuleShape::new(
            module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(&i.ty()) })
                .collect(),
            module.exports().map(|e| ExportDesc { name: e.name().into(), ty: extern_type(&e.ty()) }).collect(),
        )
    }

    fn instantiate(&self, module: &SubmilliModule, sink: Sink) -> Result<SubmilliInstance, Failure> {
        let (id, engine, linker) = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            if current.stores >= STORES_PER_ENGINE {
                *current = Generation::new(current.id.wrapping_add(1), &self.config).map_err(setup)?;
            }
            current.stores += 1;
            (current.id, current.engine.clone(), current.linker.clone())
        };
        let compiled = {
            let mut compiled = module.compiled.lock().unwrap_or_else(PoisonError::into_inner);
            if compiled.0 != id {
                *compiled = (id, compile(&engine, &module.bytes)?);
            }
            compiled.1.clone()
        };
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
            recorder: self.config.recorder(sink),
            store_limits,
        };
        let mut store = Store::new(&engine, state);
        store.limiter(|state| &mut state.store_limits);
        if let Some(fuel) = self.config.limits.fuel {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let alarm = self.set_deadline(&engine, &mut store);
        let instance = linker.instantiate(&mut store, &compiled).map_err(|e| instantiate_failure(&e))?;
        let memory = instance
            .get_memory(&mut store, common::MEMORY_EXPORT)
            .ok_or_else(|| Fault::Link(self.shape(module).no_memory()))?;
        store.data_mut().memory = Some(memory);
        store.data_mut().allocator = find_allocator(&mut store, &instance);
        Ok(SubmilliInstance { store, instance, _alarm: alarm })
    }
}

impl Submilli {
    /// With a timeout: from now, the store's guest ends in a trap at the first epoch check past
    /// its deadline (as `host-wasmtime` does it).
    fn set_deadline(&self, engine: &submilli_wasm::Engine, store: &mut Store<State>) -> Option<Alarm> {
        let (watchdog, deadline) = (self.watchdog.as_ref()?, Deadline::after(self.config.limits.timeout)?);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if deadline.passed() { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
        });
        let engine = engine.weak();
        Some(watchdog.set(deadline, None, move || {
            if let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
            }
        }))
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

/// An engine that cannot be set up.
fn setup(e: submilli_wasm::Error) -> Failure {
    Failure::new(Fault::Setup(format!("submilli: {e:#}")))
}

/// Compiles `wasm` for `engine`.
fn compile(engine: &submilli_wasm::Engine, wasm: &[u8]) -> Result<Module, Failure> {
    Module::new(engine, wasm).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))
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
        // Only a deadline interrupts (`Submilli::set_deadline`).
        submilli_wasm::Trap::Interrupt => Trap::Timeout,
        other => return Failure::with_detail(Fault::Trap(Trap::Other), other),
    };
    Failure::new(Fault::Trap(neutral))
}
