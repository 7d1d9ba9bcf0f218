//! The wasm-hostcall imports on [wasmi](https://docs.rs/wasmi), the interpreter: a reference host.
//!
//! [`Wasmi`] implements [`harness::Engine`]: it binds the imports of the ABI once in a shared
//! [`Linker`] and gives each instance a [`Store`] of its own holding the instance's memory and
//! allocator handles (looked up once, at instantiation) and its [`Recorder`].
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this
//! crate never parses guest bytes itself. `examples/embed.rs` (`--example embed-wasmi`) embeds the guest in a page of
//! plain wasmi code, without this crate.
//!
//! wasmi's linear memory is a plain heap allocation with no particular alignment on the host, which
//! is why `common` reads a `CD` through an alignment-1 wire struct rather than an `&CD` cast.
//! A panic unwinding out of a wasmi host function aborts the process; the shared [`Recorder`]
//! catches them.
//!
//! Limits: fuel for CPU, `StoreLimits` for memory, tables and instances, wasmi's call-depth limit
//! for recursion. wasmi cannot be interrupted from another thread; the timeout is kept by running
//! every call into the guest in fuel slices and reading the clock between them (`Slices` in
//! `src/imports.rs`: the allocator called from `answer_*_alloc` too). A start function runs
//! inside instantiation, where wasmi cannot resume, so with a timeout it is moved to an export
//! ([`harness::rewrite::move_start`]) and called in slices right after instantiation.
//!
//! `async` is the default compilation mode with async host calls
//! ([`harness::Engine::call_with_input_async`]): every call is resumable and runs in fuel
//! slices; `kv_get` suspends the guest while the store's lookup is awaited, and the guest yields
//! to the executor at the end of each slice ([`SLICE`] fuel). The synchronous
//! [`harness::Instance`] methods work on this tier too: they wait for the future on the calling
//! thread ([`harness::Waiter`]).
#![forbid(unsafe_code)]

mod imports;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Event;
use harness::{
    BoxFuture, Deadline, ExportDesc, ExternType, Failure, Fault, GuestAllocator, ImportDesc, ModuleShape, Recorder,
    Sink, Trap, Waiter, bench,
};
use wasmi::{CompilationMode, Config, CustomFuelCosts, Linker, Module, Store, StoreLimitsBuilder, TrapCode, Val};

pub use crate::imports::SLICE;
use crate::imports::{
    DeadlinePassed, HostCalls, HostTrap, Slices, State, call_async, call_in_slices, define_imports, find_allocator,
};

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool only.
fn define_bench_imports(linker: &mut Linker<State>) -> Result<(), wasmi::errors::LinkerError> {
    linker.func_wrap(bench::MODULE, bench::NOOP_I32, |_: i32| {})?;
    linker.func_wrap(bench::MODULE, bench::NOOP_I32_I32, |_: i32, _: i32| {})?;
    Ok(())
}

/// The wasmi engine, with the imports bound once for all instances.
pub struct Wasmi {
    engine: wasmi::Engine,
    linker: Linker<State>,
    config: harness::Config,
    tier: &'static str,
    /// On the `async` tier: the runtime the synchronous methods wait on.
    waiter: Option<Waiter>,
}

/// A compiled module, and, with a timeout, the export its start function was moved to.
#[derive(Clone)]
pub struct WasmiModule {
    module: Module,
    start_export: Option<Arc<str>>,
    /// Set once wasmi panicked on this module: see [`Poison`].
    poison: Poison,
}

/// Whether wasmi panicked while translating or running a module (its translator panics on some
/// valid code: README, Known differences). A panic in the middle of a lazy translation leaves
/// the function marked as being translated, and the next call of it, from any instance of the
/// module, spins forever in wasmi (`FuncEntry::compile`): the module and its instances share
/// this flag, and once it is set the module refuses to instantiate and its instances to call,
/// with `runtime`, instead of hanging. Compiling the module again gives a fresh one.
#[derive(Debug, Clone, Default)]
struct Poison(Arc<AtomicBool>);

impl Poison {
    /// [`harness::guarded`], refused once wasmi panicked on the module, and setting the flag when
    /// it panics in `body`.
    fn guarded<T>(&self, body: impl FnOnce() -> T) -> Result<T, Failure> {
        if self.0.load(Ordering::Acquire) {
            return Err(Failure::with_detail(
                Fault::Runtime,
                "wasmi panicked on this module before, and a call into it would never return: compile it again",
            ));
        }
        harness::guarded("wasmi", body).inspect_err(|_| self.0.store(true, Ordering::Release))
    }
}

/// The name a start function is moved to with a timeout (made unique in each module).
const START_EXPORT: &str = "host-wasmi start";

/// One guest instance in its own store.
pub struct WasmiInstance {
    store: Store<State>,
    instance: wasmi::Instance,
    /// On the `async` tier: the engine's runtime, on which the synchronous methods wait.
    waiter: Option<Waiter>,
    /// The handler called last.
    handler: harness::HandlerCache<wasmi::Func>,
    /// Its module's: see [`Poison`].
    poison: Poison,
}

impl harness::Engine for Wasmi {
    const NAME: &'static str = "wasmi";
    /// wasmi's compilation modes: translate each function to wasmi bytecode on first use after
    /// validating the module (the default), translate everything up front, or also validate lazily.
    /// `async`: the default mode, with async host calls.
    const TIERS: &'static [&'static str] = &["lazy-translation", "eager", "lazy", "async"];
    const STOPS_ON_DEADLINE: bool = true;
    type Module = WasmiModule;
    type Instance = WasmiInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let asynchronous = tier == "async";
        let mut wasmi_config = Config::default();
        // With a timeout, fuel measures out the slices between two looks at the clock (and, on
        // the async tier, between two yields).
        let slices = config.limits.timeout.is_some() || asynchronous;
        wasmi_config.consume_fuel(config.limits.fuel.is_some() || slices);
        if slices {
            // wasmi charges fuel for translating a function when it is first called (lazy
            // translation), and running out there cannot be resumed: it fails the call (wasmi
            // 2.0.0; `ErrorKind::ResumableOutOfFuel` comes back as an error, not as a call to
            // resume). Where fuel only measures out slices, a call would fail whenever a function
            // first called cost more than what was left of the slice (83,000 fuel for the
            // workloads' SHA-256). So translating is free there; running code and copying cost as
            // by default (`tests/slices.rs`).
            wasmi_config.fuel_cost(CustomFuelCosts {
                bytes_copied_per_fuel: 64,
                fuel_per_bytes_translated: 0,
                fuel_per_bytes_validated: 0,
            });
        }
        wasmi_config.compilation_mode(match tier {
            "eager" => CompilationMode::Eager,
            "lazy" => CompilationMode::Lazy,
            _ => CompilationMode::LazyTranslation,
        });
        let engine = wasmi::Engine::new(&wasmi_config);
        let mut linker = Linker::new(&engine);
        let setup = |e: wasmi::errors::LinkerError| Failure::new(Fault::Setup(format!("wasmi: {e}")));
        let calls = if asynchronous { HostCalls::Async } else { HostCalls::Blocking };
        define_imports(&mut linker, calls).map_err(setup)?;
        if config.bench_imports {
            define_bench_imports(&mut linker).map_err(setup)?;
        }
        let waiter = asynchronous.then_some(Waiter);
        Ok(Wasmi { engine, linker, config: config.clone(), tier, waiter })
    }

    fn is_async(&self) -> bool {
        self.waiter.is_some()
    }

    fn call_with_input_async<'a>(
        &'a self,
        module: &'a WasmiModule,
        export: &'a str,
        input: &'a [u8],
        sink: Sink,
    ) -> Option<BoxFuture<'a, Result<Event<'static>, Failure>>> {
        self.waiter.as_ref()?;
        Some(Box::pin(async move {
            let (mut store, instance) = self.new_instance(module, sink)?;
            if let Some(start) = &module.start_export {
                let start = instance.get_func(&store, start).ok_or(Fault::Runtime)?;
                call_async(&mut store, &start, &[], &mut []).await.map_err(failure)?;
            }
            let mut instance = self.finish_instance(module, store, instance)?;
            let len = harness::begin_request(&mut instance.store.data_mut().recorder, input)?;
            let outcome = instance.call_async(export, &[len]).await;
            harness::end_request(&mut instance.store.data_mut().recorder, export, outcome)
        }))
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<WasmiModule, Failure> {
        let invalid = |e: &dyn std::fmt::Display| Failure::with_detail(Fault::InvalidModule, e);
        // Run in slices, a start function must be called after instantiation.
        let moved = match self.config.limits.timeout.is_some() || self.waiter.is_some() {
            true => harness::rewrite::move_start(wasm, START_EXPORT).map_err(|e| invalid(&e))?,
            false => None,
        };
        let (wasm, start_export) = match &moved {
            Some(moved) => (&moved.wasm[..], Some(Arc::from(moved.export.as_str()))),
            None => (wasm, None),
        };
        // wasmi panics on some valid modules (README, Known differences): a failure, not a crash.
        let module = harness::guarded("wasmi", || Module::new(&self.engine, wasm))?.map_err(|e| invalid(&e))?;
        Ok(WasmiModule { module, start_export, poison: Poison::default() })
    }

    fn shape(&self, module: &WasmiModule) -> ModuleShape {
        let hidden = module.start_export.as_deref();
        let module = &module.module;
        ModuleShape::new(
            module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(i.ty()) })
                .collect(),
            module
                .exports()
                .filter(|e| Some(e.name()) != hidden)
                .map(|e| ExportDesc { name: e.name().into(), ty: extern_type(e.ty()) })
                .collect(),
        )
    }

    fn instantiate(&self, module: &WasmiModule, sink: Sink) -> Result<WasmiInstance, Failure> {
        // The start function runs here, and may be translated here (see `compile`).
        module.poison.guarded(|| {
            let (mut store, instance) = self.new_instance(module, sink)?;
            if let Some(start) = &module.start_export {
                let start = instance.get_func(&store, start).ok_or(Fault::Runtime)?;
                match &self.waiter {
                    Some(waiter) => waiter.block_on(call_async(&mut store, &start, &[], &mut []))?,
                    None => call_in_slices(&mut store, &start, &[], &mut []),
                }
                .map_err(failure)?;
            }
            self.finish_instance(module, store, instance)
        })?
    }
}

impl Wasmi {
    /// A store with its limits, fuel and slices, and `module` instantiated in it, its start
    /// function not run yet if it was moved to an export.
    fn new_instance(&self, wasmi_module: &WasmiModule, sink: Sink) -> Result<(Store<State>, wasmi::Instance), Failure> {
        let module = &wasmi_module.module;
        let limits = &self.config.limits;
        let deadline = Deadline::after(limits.timeout).map(|deadline| deadline.instant());
        let slices = (deadline.is_some() || self.waiter.is_some())
            .then(|| Slices { deadline, reserve: limits.fuel.unwrap_or(u64::MAX) });
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
            slices,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.store_limits);
        // With slices, the store holds one slice, taken from the instance's fuel.
        let first_slice = match &mut store.data_mut().slices {
            Some(slices) => {
                let slice = slices.reserve.min(SLICE);
                slices.reserve -= slice;
                Some(slice)
            }
            None => limits.fuel,
        };
        if let Some(fuel) = first_slice {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let instance = self.linker.instantiate_and_start(&mut store, module).map_err(instantiate_failure)?;
        Ok((store, instance))
    }

    /// The instance made in `store`, with its memory and allocator looked up.
    fn finish_instance(
        &self,
        wasmi_module: &WasmiModule,
        mut store: Store<State>,
        instance: wasmi::Instance,
    ) -> Result<WasmiInstance, Failure> {
        let memory = instance
            .get_memory(&store, common::MEMORY_EXPORT)
            .ok_or_else(|| Fault::Link(harness::Engine::shape(self, wasmi_module).no_memory()))?;
        store.data_mut().memory = Some(memory);
        store.data_mut().allocator = find_allocator(&store, &instance);
        Ok(WasmiInstance {
            store,
            instance,
            waiter: self.waiter,
            handler: harness::HandlerCache::default(),
            poison: wasmi_module.poison.clone(),
        })
    }
}

impl WasmiInstance {
    /// [`harness::Instance::call`] as a future, on the `async` tier.
    async fn call_async(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let (func, params, mut results) = self.prepare_call(name, args)?;
        call_async(&mut self.store, &func, &params, &mut results).await.map_err(failure)?;
        Ok(results.first().and_then(Val::i32))
    }

    /// The export `name`, its arguments, and room for its results.
    fn prepare_call(&mut self, name: &str, args: &[i32]) -> Result<(wasmi::Func, Vec<Val>, Vec<Val>), Failure> {
        let func = self
            .instance
            .get_func(&self.store, name)
            .ok_or_else(|| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let params: Vec<Val> = args.iter().copied().map(Val::I32).collect();
        let results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        Ok((func, params, results))
    }
}

impl harness::Instance for WasmiInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        // With lazy translation, wasmi translates a function when it is first called, and can
        // panic there (see `compile`).
        if let Some(waiter) = self.waiter {
            let poison = self.poison.clone();
            return poison.guarded(|| waiter.block_on(self.call_async(name, args)))??;
        }
        let (func, params, mut results) = self.prepare_call(name, args)?;
        self.poison.guarded(|| call_in_slices(&mut self.store, &func, &params, &mut results))?.map_err(failure)?;
        Ok(results.first().and_then(Val::i32))
    }

    fn call_handler(&mut self, name: &str, request_len: i32) -> Result<Option<i32>, Failure> {
        if self.waiter.is_some() {
            return self.call(name, &[request_len]);
        }
        let lookup = || {
            self.instance.get_func(&self.store, name).filter(|func| {
                let ty = func.ty(&self.store);
                matches!(ty.params(), [wasmi::ValType::I32]) && matches!(ty.results(), [wasmi::ValType::I32])
            })
        };
        let Some(func) = self.handler.get(name, lookup) else {
            // Missing, or not a handler: the untyped call says which, in the ABI's words.
            return self.call(name, &[request_len]);
        };
        let mut results = [Val::I32(0)];
        self.poison
            .guarded(|| call_in_slices(&mut self.store, &func, &[Val::I32(request_len)], &mut results))?
            .map_err(failure)?;
        Ok(results[0].i32())
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
            .get_typed_func::<(), ()>(&self.store, name)
            .map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        if let Some(waiter) = self.waiter {
            return waiter.block_on(async {
                for _ in 0..times {
                    call_async(&mut self.store, func.func(), &[], &mut []).await.map_err(failure)?;
                }
                Ok(())
            })?;
        }
        if self.store.data().slices.is_some() {
            for _ in 0..times {
                call_in_slices(&mut self.store, func.func(), &[], &mut []).map_err(failure)?;
            }
            return Ok(());
        }
        for _ in 0..times {
            func.call(&mut self.store, ()).map_err(failure)?;
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

/// A wasmi type in the ABI's terms.
fn extern_type(ty: &wasmi::ExternType) -> ExternType {
    match ty {
        wasmi::ExternType::Func(f) => ExternType::Func {
            params: f.params().iter().map(val_type).collect(),
            results: f.results().iter().map(val_type).collect(),
        },
        wasmi::ExternType::Memory(m) => ExternType::Memory { minimum_pages: m.minimum() },
        wasmi::ExternType::Table(_) => ExternType::Table,
        wasmi::ExternType::Global(_) => ExternType::Global,
    }
}

fn val_type(ty: &wasmi::ValType) -> common::ValType {
    match ty {
        wasmi::ValType::I32 => common::ValType::I32,
        wasmi::ValType::I64 => common::ValType::I64,
        wasmi::ValType::F32 => common::ValType::F32,
        wasmi::ValType::F64 => common::ValType::F64,
        wasmi::ValType::V128 => common::ValType::V128,
        wasmi::ValType::FuncRef | wasmi::ValType::ExternRef => common::ValType::Ref,
    }
}

/// An error from instantiation in the ABI's terms: `StoreLimits` refusing a memory or a table (or a
/// second one), a segment that does not fit (a trap, as on the other runtimes), a trap in the start
/// function.
fn instantiate_failure(error: wasmi::Error) -> Failure {
    use wasmi::errors::{ErrorKind, InstantiationError as E, MemoryError, TableError};
    let trap = match error.kind() {
        ErrorKind::Memory(MemoryError::OutOfBoundsAccess) => Some(Trap::MemoryOutOfBounds),
        ErrorKind::Table(
            TableError::InitOutOfBounds
            | TableError::SetOutOfBounds
            | TableError::CopyOutOfBounds
            | TableError::FillOutOfBounds,
        ) => Some(Trap::TableOutOfBounds),
        ErrorKind::Memory(_) | ErrorKind::Table(_) => None,
        ErrorKind::Instantiation(E::ElementSegmentDoesNotFit { .. }) => Some(Trap::TableOutOfBounds),
        ErrorKind::Instantiation(
            E::FailedToInstantiateMemory(_)
            | E::FailedToInstantiateTable(_)
            | E::TooManyTables
            | E::TooManyMemories
            | E::TooManyInstances,
        ) => None,
        _ => return failure(error),
    };
    match trap {
        Some(trap) => Failure::new(Fault::Trap(trap)),
        None => Failure::with_detail(Fault::instantiation_limit(), error),
    }
}

/// A wasmi error in the ABI's terms.
fn failure(error: wasmi::Error) -> Failure {
    if let Some(HostTrap(host)) = error.downcast_ref::<HostTrap>() {
        return Failure::new(Fault::Host(host.clone()));
    }
    if error.downcast_ref::<DeadlinePassed>().is_some() {
        return Failure::new(Fault::Trap(Trap::Timeout));
    }
    let Some(code) = error.as_trap_code() else {
        return Failure::with_detail(Fault::Runtime, error);
    };
    let neutral = match code {
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        TrapCode::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::StackOverflow => Trap::StackOverflow,
        TrapCode::BadSignature => Trap::BadSignature,
        TrapCode::OutOfFuel => Trap::OutOfFuel,
        _ => return Failure::with_detail(Fault::Trap(Trap::Other), error),
    };
    Failure::new(Fault::Trap(neutral))
}
