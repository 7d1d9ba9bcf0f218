//! The wasm-hostcall imports on [wasmer](https://docs.rs/wasmer): a reference host.
//!
//! [`Wasmer`] implements [`harness::Engine`]: it compiles guests with Cranelift (or Singlepass:
//! see [`harness::Config::tier`]) and gives each instance a [`Store`] of its own, with a
//! [`FunctionEnv`] holding the instance's memory and allocator handles (looked up once, at
//! instantiation) and its [`Recorder`].
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this
//! crate never parses guest bytes itself. Guest memory is accessed in place through wasmer's safe
//! `WasmSlice::access`, which borrows the memory (no copy) on the native backend.
//! `examples/embed.rs` (`--example embed-wasmer`) embeds the guest in a page of plain wasmer code, without this crate.
//!
//! Tiers: `cranelift` (the default), `singlepass`, and `bounds-checked`, Cranelift for a host with
//! little address space (`ulimit -v`, RLIMIT_AS): the other tiers reserve 4 GiB plus a 4 GiB guard
//! of address space per linear memory so that compiled code needs no bounds checks; this one
//! reserves only the memory limit, with no guard, and the compiled code checks every access.
//!
//! Limits: the metering middleware for CPU (wasmer reports exhaustion as an `unreachable` trap,
//! so the remaining points are read to tell the two apart), `LimitingTunables` for memory and
//! tables, wasmer's guarded stack for recursion, and wasmer's host interrupt for the timeout
//! (feature `experimental-host-interrupt`, Unix only): a [`Watchdog`] alarm calls the store's
//! `Interrupter` at the deadline, which signals the thread running the guest (SIGUSR1), and the
//! guest ends in a `HostInterrupt` trap wherever it is, compiled code needing no checks. An
//! interrupt that lands while the guest is not running (a host function running, or about to
//! enter the guest) can be missed, so the alarm repeats it every millisecond until the instance
//! is dropped, and a call that starts past its deadline is refused before it enters.
//!
//! `async` is Cranelift with an async `kv_get` (wasmer's `experimental-async`): every call into
//! the guest is a `call_async` on a coroutine of its own, and the lookup is awaited with the
//! guest suspended. wasmer's async store is not `Send` and its trap handling allows one
//! coroutine in flight per thread, so the call is waited for on the calling thread
//! ([`harness::Waiter`]): the output is that of every tier, but a server gains no thread from it
//! ([`harness::Engine::is_async`] is false: `serve` runs it on its blocking pool). A start
//! function is moved to an export ([`harness::rewrite::move_start`]) and called the same way after
//! instantiation, since an async import cannot run inside wasmer's synchronous instantiation.
// Only `tunables.rs` (to forward wasmer's unsafe trait methods) and loading a precompiled module
// need `unsafe`; each says why there.
#![deny(unsafe_code)]

mod imports;
mod tunables;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{
    Alarm, Deadline, ExportDesc, ExternType, Failure, Fault, GuestAllocator, HostError, ImportDesc, ModuleShape,
    Recorder, Sink, Trap, Waiter, Watchdog, bench,
};
use wasmer::sys::CompilerConfig;
use wasmer::{FunctionEnv, InstantiationError, Module, RuntimeError, Store, TypedFunction, Value};
use wasmer_middlewares::Metering;
use wasmer_middlewares::metering::{MeteringPoints, get_remaining_points};
use wasmer_types::TrapCode;

use crate::imports::{HostCalls, State, find_allocator, imports};

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool only.
fn define_bench_imports(store: &mut Store, imports: &mut wasmer::Imports) {
    imports.define(bench::MODULE, bench::NOOP_I32, wasmer::Function::new_typed(store, |_: i32| {}));
    imports.define(bench::MODULE, bench::NOOP_I32_I32, wasmer::Function::new_typed(store, |_: i32, _: i32| {}));
}
use crate::tunables::LimitingTunables;

/// The wasmer runtime (Cranelift) with the limits applied.
pub struct Wasmer {
    /// The engine shared by all modules, when there is no fuel limit. wasmer's metering
    /// middleware can serve one module only, so with a fuel limit each module gets an engine
    /// (and a metering instance) of its own.
    engine: Option<wasmer::Engine>,
    config: harness::Config,
    tier: &'static str,
    /// With a timeout: the thread that interrupts each instance at its deadline.
    watchdog: Option<Watchdog>,
    /// On the `async` tier: the runtime every call waits on.
    waiter: Option<Waiter>,
}

/// The name a start function is moved to, with fuel and on the `async` tier (made unique in each
/// module).
const START_EXPORT: &str = "host-wasmer start";

/// How often an instance past its deadline is interrupted again, in case an interrupt was missed.
const INTERRUPT_AGAIN_EVERY: Duration = Duration::from_millis(1);

/// A compiled module with the engine it was compiled by (and must be instantiated with).
#[derive(Clone)]
pub struct WasmerModule {
    engine: wasmer::Engine,
    module: Module,
    /// With fuel and on the `async` tier, the export the module's start function was moved to.
    start_export: Option<Arc<str>>,
}

/// An engine compiling with `tier` and enforcing `limits`: metering for fuel, tunables for memory
/// and tables.
fn new_engine(limits: &harness::Limits, tier: &str) -> wasmer::Engine {
    let mut compiler: Box<dyn CompilerConfig> = match tier {
        "singlepass" => Box::new(wasmer::sys::Singlepass::default()),
        _ => Box::new(wasmer::sys::Cranelift::default()),
    };
    if let Some(fuel) = limits.fuel {
        // One point per operator, as wasmtime's and wasmi's fuel count roughly.
        compiler.push_middleware(Arc::new(Metering::new(fuel, |_: &wasmer::wasmparser::Operator<'_>| 1)));
    }
    let mut engine = wasmer::sys::EngineBuilder::new(compiler).engine();
    let mut base = wasmer::sys::BaseTunables::for_target(engine.target());
    if tier == "bounds-checked" {
        // Static memories bounded by the limit, no guard: a memory reserves only what it may grow
        // to, and Cranelift checks each access against the bound.
        base.static_memory_bound = LimitingTunables::max_pages(limits.max_memory_bytes);
        base.static_memory_offset_guard_size = 0;
        base.dynamic_memory_offset_guard_size = 0;
    }
    engine.set_tunables(LimitingTunables::new(base, limits.max_memory_bytes, limits.max_table_elements));
    engine.into()
}

/// The exports wasmer's metering middleware adds to a module it meters.
const METERING_EXPORTS: [&str; 2] = ["wasmer_metering_remaining_points", "wasmer_metering_points_exhausted"];

/// One guest instance in its own store.
pub struct WasmerInstance {
    /// The instance's store: out only during a call on the `async` tier, which holds `&mut self`.
    store: Option<Store>,
    /// On the `async` tier: the engine's runtime, on which every call waits.
    waiter: Option<Waiter>,
    /// Whether the module was compiled with the metering middleware.
    metered: bool,
    /// When the instance must be done by, if there is a timeout.
    deadline: Option<Deadline>,
    /// The interrupts at and after the deadline, cancelled when the instance is dropped.
    _alarm: Option<Alarm>,
    env: FunctionEnv<State>,
    instance: wasmer::Instance,
    /// The handler called last, with its typed handle.
    handler: harness::HandlerCache<TypedFunction<i32, i32>>,
}

impl harness::Engine for Wasmer {
    const NAME: &'static str = "wasmer";
    const TIERS: &'static [&'static str] = &["cranelift", "singlepass", "bounds-checked", "async"];
    const SMALL_ADDRESS_SPACE_TIER: Option<&'static str> = Some("bounds-checked");
    const STOPS_ON_DEADLINE: bool = cfg!(unix);
    type Module = WasmerModule;
    type Instance = WasmerInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let engine = if config.limits.fuel.is_some() { None } else { Some(new_engine(&config.limits, tier)) };
        let watchdog = harness::Watchdog::for_limits(&config.limits)?;
        let waiter = (tier == "async").then_some(Waiter);
        Ok(Wasmer { engine, config: config.clone(), tier, watchdog, waiter })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<WasmerModule, Failure> {
        let engine = self.engine.clone().unwrap_or_else(|| new_engine(&self.config.limits, self.tier));
        let invalid = |e: &dyn std::fmt::Display| Failure::with_detail(Fault::InvalidModule, e);
        // A start function that runs out of fuel inside instantiation cannot be told from one that
        // executes `unreachable` (no instance to read the points of), and an async import cannot
        // run inside wasmer's synchronous instantiation: with fuel, and on the `async` tier, the
        // start function is moved to an export and called right after instantiation instead.
        let moved = match self.waiter.is_some() || self.config.limits.fuel.is_some() {
            true => harness::rewrite::move_start(wasm, START_EXPORT).map_err(|e| invalid(&e))?,
            false => None,
        };
        let (wasm, start_export) = match &moved {
            Some(moved) => (&moved.wasm[..], Some(Arc::from(moved.export.as_str()))),
            None => (wasm, None),
        };
        let module = Module::new(&engine, wasm).map_err(|e| invalid(&e))?;
        Ok(WasmerModule { engine, module, start_export })
    }

    fn shape(&self, module: &WasmerModule) -> ModuleShape {
        let hidden = module.start_export.as_deref();
        ModuleShape::new(
            module
                .module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(i.ty()) })
                .collect(),
            module
                .module
                .exports()
                // With fuel, the metering middleware adds two exported globals of its own; they
                // are not the guest's. (It takes their names: a guest export of the same name is
                // replaced, a limitation of wasmer's metering, documented in the README.)
                .filter(|e| !(self.config.limits.fuel.is_some() && METERING_EXPORTS.contains(&e.name())))
                .filter(|e| Some(e.name()) != hidden)
                .map(|e| ExportDesc { name: e.name().into(), ty: extern_type(e.ty()) })
                .collect(),
        )
    }

    fn reload_precompiled(
        &self,
        module: &WasmerModule,
        path: &Path,
    ) -> Option<Result<(WasmerModule, Duration), Failure>> {
        let runtime = |e: &dyn std::fmt::Display| Failure::with_detail(Fault::Runtime, e);
        let reload = || {
            let bytes = module.module.serialize().map_err(|e| runtime(&e))?;
            std::fs::write(path, &bytes).map_err(|e| runtime(&e))?;
            let start = Instant::now();
            // SAFETY: `path` holds what `Module::serialize` just wrote for this very engine (same
            // compiler, same wasmer build), which is what `deserialize_from_file` requires; the
            // file is in the caller's own output directory.
            #[allow(unsafe_code)]
            let reloaded = unsafe { Module::deserialize_from_file(&module.engine, path) }.map_err(|e| runtime(&e))?;
            let reloaded = WasmerModule {
                engine: module.engine.clone(),
                module: reloaded,
                start_export: module.start_export.clone(),
            };
            Ok((reloaded, start.elapsed()))
        };
        Some(reload())
    }

    fn instantiate(&self, module: &WasmerModule, sink: Sink) -> Result<WasmerInstance, Failure> {
        // One memory and one table per instance, as `StoreLimits` allows on the other runtimes
        // (the tunables cap their sizes, not their number).
        // The same for a memory or table larger than the limits from the start: then a resource
        // error wasmer still reports is the host's (an `mmap` refused), not the module's.
        let info = module.module.info();
        let limits = &self.config.limits;
        let max_pages = LimitingTunables::max_pages(limits.max_memory_bytes);
        if info.memories.len() > 1
            || info.tables.len() > 1
            || info.memories.values().any(|m| m.minimum > max_pages)
            || info.tables.values().any(|t| t.minimum > limits.max_table_elements)
        {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        let mut store = Store::new(module.engine.clone());
        let deadline = Deadline::after(limits.timeout);
        let alarm = self.set_deadline(&store, deadline);
        let state = State { memory: None, allocator: GuestAllocator::Missing, recorder: self.config.recorder(sink) };
        let env = FunctionEnv::new(&mut store, state);
        let calls = if self.waiter.is_some() { HostCalls::Async } else { HostCalls::Blocking };
        let mut imports = imports(&mut store, &env, calls);
        if self.config.bench_imports {
            define_bench_imports(&mut store, &mut imports);
        }
        let instance = wasmer::Instance::new(&mut store, &module.module, &imports)
            .map_err(|e| past_deadline(deadline, instantiate_failure(e)))?;
        let memory = instance
            .exports
            .get_memory(common::MEMORY_EXPORT)
            .map_err(|e| Failure::with_detail(Fault::Link(self.shape(module).no_memory()), e))?
            .clone();
        let allocator = find_allocator(&store, &instance);
        let mut instance = WasmerInstance {
            store: Some(store),
            waiter: self.waiter,
            metered: self.config.limits.fuel.is_some(),
            deadline,
            _alarm: alarm,
            env,
            instance,
            handler: harness::HandlerCache::default(),
        };
        // The start function, moved: it runs before the memory is bound, as inside instantiation.
        if let Some(start) = &module.start_export {
            instance.call_export(start, &[])?;
        }
        let state = instance.env.as_mut(instance.store.as_mut().expect("the store is back after each call"));
        state.memory = Some(memory);
        state.allocator = allocator;
        Ok(instance)
    }
}

impl Wasmer {
    /// With a timeout: the store's guest is interrupted at `deadline`, and again every
    /// [`INTERRUPT_AGAIN_EVERY`] after it.
    #[cfg(unix)]
    fn set_deadline(&self, store: &Store, deadline: Option<Deadline>) -> Option<Alarm> {
        let (watchdog, deadline) = (self.watchdog.as_ref()?, deadline?);
        let interrupter = store.interrupter();
        Some(watchdog.set(deadline, Some(INTERRUPT_AGAIN_EVERY), move || interrupter.interrupt()))
    }

    /// Without host interrupts, no timeout is accepted (`STOPS_ON_DEADLINE`).
    #[cfg(not(unix))]
    fn set_deadline(&self, _: &Store, _: Option<Deadline>) -> Option<Alarm> {
        None
    }
}

impl WasmerInstance {
    /// The store (out only while a call on the `async` tier runs, which holds `&mut self`).
    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is back after each call")
    }

    /// The store, mutably.
    fn store_mut(&mut self) -> &mut Store {
        self.store.as_mut().expect("the store is back after each call")
    }

    /// Calls the export `name`: plainly, or on the `async` tier with `call_async` on a coroutine,
    /// waited for on this thread.
    fn call_export(&mut self, name: &str, args: &[i32]) -> Result<Box<[Value]>, Failure> {
        // An interrupt sent while the guest was not running is not kept: refuse a call that
        // starts too late (then the repeated interrupts stop one that passes it while running).
        if self.deadline.is_some_and(Deadline::passed) {
            return Err(Failure::new(Fault::Trap(Trap::Timeout)));
        }
        let func =
            self.instance.exports.get_function(name).cloned().map_err(|e| {
                Failure::with_detail(Fault::MissingExport { name: name.into(), available: Vec::new() }, e)
            })?;
        let params: Vec<Value> = args.iter().copied().map(Value::I32).collect();
        let called = match self.waiter {
            Some(waiter) => self.on_coroutine(|store| {
                waiter
                    .block_on(func.call_async(store, params))
                    .unwrap_or_else(|f| Err(RuntimeError::new(f.to_string())))
            }),
            None => func.call(self.store_mut(), &params),
        };
        called.map_err(|error| self.call_failure(error))
    }

    /// A call that failed with `error`, in the ABI's terms: out of fuel, past the deadline, or
    /// what the error says.
    fn call_failure(&mut self, error: RuntimeError) -> Failure {
        // Metering makes the guest execute `unreachable` when the points run out.
        let store = self.store.as_mut().expect("the store is back after each call");
        if self.metered && get_remaining_points(store, &self.instance) == MeteringPoints::Exhausted {
            return Failure::new(Fault::Trap(Trap::OutOfFuel));
        }
        past_deadline(self.deadline, failure(error))
    }

    /// Runs `call` with the store made async, and takes the store back.
    fn on_coroutine<T>(
        &mut self,
        call: impl FnOnce(&wasmer::StoreAsync) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let store = self.store.take().expect("the store is back after each call").into_async();
        let result = call(&store);
        match store.into_store() {
            Ok(store) => self.store = Some(store),
            Err(_) => return Err(RuntimeError::new("wasmer kept a handle on the store after the call")),
        }
        result
    }
}

impl harness::Instance for WasmerInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let results = self.call_export(name, args)?;
        Ok(results.first().and_then(Value::i32))
    }

    fn call_handler(&mut self, name: &str, request_len: i32) -> Result<Option<i32>, Failure> {
        if self.waiter.is_some() || self.deadline.is_some_and(Deadline::passed) {
            return self.call(name, &[request_len]);
        }
        let store = self.store.as_ref().expect("the store is back after each call");
        let lookup = || self.instance.exports.get_typed_function::<i32, i32>(store, name).ok();
        let Some(handler) = self.handler.get(name, lookup) else {
            // Missing, or not a handler: the untyped call says which, in the ABI's words.
            return self.call(name, &[request_len]);
        };
        let called = handler.call(self.store_mut(), request_len);
        called.map(Some).map_err(|error| self.call_failure(error))
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let memory = self.env.as_ref(self.store()).memory.clone().ok_or(Fault::Runtime)?;
        memory.view(self.store()).write(u64::from(offset), bytes).map_err(|e| Failure::with_detail(Fault::Runtime, e))
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        let memory = self.env.as_ref(self.store()).memory.clone().ok_or(Fault::Runtime)?;
        memory.view(self.store()).copy_to_vec().map_err(|e| Failure::with_detail(Fault::Runtime, e))
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        let func = self
            .instance
            .exports
            .get_typed_function::<(), ()>(self.store(), name)
            .map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let deadline = self.deadline;
        let call = |result: Result<(), RuntimeError>| result.map_err(|e| past_deadline(deadline, failure(e)));
        if let Some(waiter) = self.waiter {
            // The outer `Result` is the store's return ([`WasmerInstance::on_coroutine`]).
            return self
                .on_coroutine(|store| {
                    Ok(waiter.block_on(async {
                        for _ in 0..times {
                            if deadline.is_some_and(Deadline::passed) {
                                return Err(Failure::new(Fault::Trap(Trap::Timeout)));
                            }
                            call(func.call_async(store).await)?;
                        }
                        Ok(())
                    }))
                })
                .map_err(failure)??;
        }
        for _ in 0..times {
            if deadline.is_some_and(Deadline::passed) {
                return Err(Failure::new(Fault::Trap(Trap::Timeout)));
            }
            call(func.call(self.store_mut()))?;
        }
        Ok(())
    }

    fn recorder(&self) -> &Recorder {
        &self.env.as_ref(self.store()).recorder
    }

    fn recorder_mut(&mut self) -> &mut Recorder {
        let store = self.store.as_mut().expect("the store is back after each call");
        &mut self.env.as_mut(store).recorder
    }
}

/// A wasmer type in the ABI's terms.
fn extern_type(ty: &wasmer::ExternType) -> ExternType {
    match ty {
        wasmer::ExternType::Function(f) => ExternType::Func {
            params: f.params().iter().map(val_type).collect(),
            results: f.results().iter().map(val_type).collect(),
        },
        wasmer::ExternType::Memory(m) => ExternType::Memory { minimum_pages: u64::from(m.minimum.0) },
        wasmer::ExternType::Table(_) => ExternType::Table,
        wasmer::ExternType::Global(_) => ExternType::Global,
        wasmer::ExternType::Tag(_) => ExternType::Other,
    }
}

fn val_type(ty: &wasmer::Type) -> common::ValType {
    match ty {
        wasmer::Type::I32 => common::ValType::I32,
        wasmer::Type::I64 => common::ValType::I64,
        wasmer::Type::F32 => common::ValType::F32,
        wasmer::Type::F64 => common::ValType::F64,
        wasmer::Type::V128 => common::ValType::V128,
        wasmer::Type::ExternRef | wasmer::Type::FuncRef | wasmer::Type::ExceptionRef => common::ValType::Ref,
    }
}

/// An error from instantiation: a trap in a start function, or something the runtime refused.
fn instantiate_failure(error: InstantiationError) -> Failure {
    match error {
        InstantiationError::Start(e) => failure(e),
        // Not `LimitingTunables` (a memory or table over the limits is refused before
        // instantiation): the host could not create one (an `mmap` refused under RLIMIT_AS).
        InstantiationError::Link(e @ wasmer::LinkError::Resource(_)) => Failure::with_detail(Fault::HostResources, e),
        other => Failure::with_detail(Fault::Runtime, other),
    }
}

/// A trap once the deadline has passed is the timeout, whatever its code. The watchdog's
/// interrupt can land on an instruction that may trap (a load or store, a division), and wasmer
/// 7.3 then reports that instruction's trap code instead of `HostInterrupt`: it looks the
/// faulting address up in the module's trap table before it uses the signal's own code
/// (`wasmer-compiler` `engine/trap/stack.rs`). Seen as `trap.memory-out-of-bounds` from a loop
/// interrupted under load (`serve`'s test). A guest that traps on its own after its deadline but
/// before the interrupt lands is reported as timed out too, which it is.
fn past_deadline(deadline: Option<Deadline>, failure: Failure) -> Failure {
    match failure.fault {
        Fault::Trap(trap) if trap != Trap::Timeout && deadline.is_some_and(Deadline::passed) => {
            Failure::with_detail(Fault::Trap(Trap::Timeout), format!("reported by wasmer as trap.{}", trap.name()))
        }
        _ => failure,
    }
}

/// A wasmer error from a call in the ABI's terms.
fn failure(error: RuntimeError) -> Failure {
    if let Some(host) = error.downcast_ref::<HostError>() {
        return Failure::new(Fault::Host(host.clone()));
    }
    let Some(code) = error.clone().to_trap() else {
        return Failure::with_detail(Fault::Runtime, error);
    };
    let neutral = match code {
        TrapCode::StackOverflow => Trap::StackOverflow,
        TrapCode::HeapAccessOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::HeapMisaligned | TrapCode::UnalignedAtomic => Trap::MisalignedAtomic,
        TrapCode::TableAccessOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::IndirectCallToNull,
        TrapCode::BadSignature => Trap::BadSignature,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        // Only a deadline interrupts (`Wasmer::set_deadline`).
        TrapCode::HostInterrupt => Trap::Timeout,
        _ => return Failure::with_detail(Fault::Trap(Trap::Other), error),
    };
    Failure::new(Fault::Trap(neutral))
}
