//! The wasm-hostcall imports on [wasmtime](https://docs.wasmtime.dev): a reference host.
//!
//! [`Wasmtime`] implements [`harness::Engine`]: it compiles guests with Cranelift (or Winch, or
//! runs them on the Pulley interpreter: see [`harness::Config::tier`]), binds the imports of the
//! ABI once in a shared [`Linker`], and gives each instance a [`Store`] of its own holding the
//! instance's memory and allocator handles (looked up once, at instantiation) and its
//! [`Recorder`].
//!
//! The import bindings are in `src/imports.rs`, written to be copied: every body is one call to
//! the shared [`Recorder`], which decodes and writes guest memory with the `common` ABI; this
//! crate never parses guest bytes itself. `examples/embed.rs` (`--example embed-wasmtime`) embeds the guest in a page of
//! plain wasmtime code, without this crate.
//!
//! Tiers: `cranelift` (the default: [`Linker::instantiate`] and the on-demand instance allocator,
//! what an embedding gets without tuning), `winch`, `pulley`, and `pooling`: Cranelift with
//! wasmtime's fast path for many short-lived instances, imports resolved once per module
//! ([`InstancePre`]) and the pooling instance allocator, which reuses pre-reserved slots and maps
//! linear memory copy-on-write from the module's image (a reused slot is reset: no data of one
//! instance is visible to the next).
//!
//! `async` is `pooling` with async host calls, for a server on tokio
//! ([`harness::Engine::call_with_input_async`]): instances are made with `instantiate_async` and
//! called with `call_async`, on a fiber; `kv_get` suspends the guest while the store's lookup is
//! awaited, so a thread serves other requests meanwhile. A guest that computes yields too: a
//! ticker thread moves the engine's epoch on every [`YIELD_EVERY`], and at each move a running
//! guest yields to the executor (`UpdateDeadline::Yield`), so a looping guest cannot hold an
//! executor thread. The synchronous [`harness::Instance`] methods work on this tier too: they wait
//! for the future on the calling thread, on a tokio runtime of the engine's own.
//!
//! `bounds-checked` is Cranelift for a host with little address space (`ulimit -v`, RLIMIT_AS):
//! the other tiers reserve 4 GiB plus guard pages of address space per linear memory so that
//! compiled code needs no bounds checks; this one reserves only the memory limit
//! ([`harness::Limits::max_memory_bytes`]), with no guard pages, and the compiled code checks
//! every access against the memory's length.
//!
//! Limits: fuel for CPU, [`StoreLimits`](wasmtime::StoreLimits) for memory, tables and instances (and, with `pooling`, the
//! pool's per-slot maxima, set to the same limits), `max_wasm_stack` for recursion, and epoch
//! interruption for the timeout: compiled code checks the engine's epoch counter at function
//! entries and loop headers; a [`Watchdog`] alarm increments it at each instance's deadline, and
//! the store's epoch callback then ends the guest with [`Trap::Timeout`] if its own deadline has
//! passed (another instance's alarm only makes it look at the clock). The checks cost time: see
//! the comparison report's "stoppable" rows.
// Only loading a precompiled module needs `unsafe`; it says why there.
#![deny(unsafe_code)]

mod imports;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{
    Alarm, Deadline, ExportDesc, ExternType, Failure, Fault, GuestAllocator, HandlerCache, HostError, ImportDesc,
    ModuleShape, Recorder, Sink, Trap, Watchdog, bench,
};

use common::Event;
use harness::{BoxFuture, Waiter};
use wasmtime::{
    InstanceAllocationStrategy, InstancePre, Linker, Module, PoolingAllocationConfig, Store, StoreLimitsBuilder,
    Strategy, TypedFunc, UpdateDeadline, Val,
};

use crate::imports::{HostCalls, State, define_imports, find_allocator};

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool only.
fn define_bench_imports(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.func_wrap(bench::MODULE, bench::NOOP_I32, |_: i32| {})?;
    linker.func_wrap(bench::MODULE, bench::NOOP_I32_I32, |_: i32, _: i32| {})?;
    Ok(())
}

/// The wasmtime engine, with the imports bound once for all instances.
pub struct Wasmtime {
    engine: wasmtime::Engine,
    linker: Linker<State>,
    config: harness::Config,
    tier: &'static str,
    /// With a timeout: the thread that increments the epoch at each instance's deadline.
    watchdog: Option<Watchdog>,
    /// On the `async` tier: the runtime the synchronous methods wait on.
    runtime: Option<Waiter>,
}

/// On the `async` tier, how often a running guest yields to the executor (the ticker's period).
pub const YIELD_EVERY: Duration = Duration::from_millis(1);

/// The most instances (and memories, and tables) alive at once with the `pooling` tier: the pool
/// reserves address space for this many slots up front.
const POOL_SLOTS: u32 = 256;

/// The most memories and tables one module may declare on the `pooling` tier (`StoreLimits` then
/// allows one of each, as on every tier).
const POOL_ITEMS_PER_MODULE: u32 = 8;

/// How much of each pooled memory and table stays resident when its slot is freed (reset in
/// place for the next instance): the guest's first pages, where a request's work happens.
const POOL_KEEP_RESIDENT: usize = 1 << 20;

/// A compiled module, with its imports resolved once ([`InstancePre`]) on the `pooling` tier.
#[derive(Clone)]
pub struct WasmtimeModule {
    module: Module,
    pre: Option<InstancePre<State>>,
}

/// One guest instance in its own store.
pub struct WasmtimeInstance {
    store: Store<State>,
    instance: wasmtime::Instance,
    /// The epoch increment at this instance's deadline, cancelled when the instance is dropped.
    _alarm: Option<Alarm>,
    /// On the `async` tier: the engine's runtime, on which the synchronous methods wait.
    runtime: Option<Waiter>,
    /// The handler called last, with its typed handle.
    handler: HandlerCache<TypedFunc<i32, i32>>,
}

impl harness::Engine for Wasmtime {
    const NAME: &'static str = "wasmtime";
    const TIERS: &'static [&'static str] = &["cranelift", "winch", "pulley", "pooling", "async", "bounds-checked"];
    const SMALL_ADDRESS_SPACE_TIER: Option<&'static str> = Some("bounds-checked");
    const STOPS_ON_DEADLINE: bool = true;
    type Module = WasmtimeModule;
    type Instance = WasmtimeInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let setup = |e: wasmtime::Error| Failure::new(Fault::Setup(format!("wasmtime {tier}: {e:#}")));
        let mut wasmtime_config = wasmtime::Config::new();
        wasmtime_config.consume_fuel(config.limits.fuel.is_some());
        let asynchronous = tier == "async";
        wasmtime_config.epoch_interruption(config.limits.timeout.is_some() || asynchronous);
        match tier {
            "winch" => {
                wasmtime_config.strategy(Strategy::Winch);
            }
            "pulley" => {
                wasmtime_config.target("pulley64").map_err(setup)?;
            }
            "pooling" | "async" => {
                // The pool's slots are sized so that it refuses no module the other tiers accept:
                // the limits themselves are enforced by `StoreLimits`, as on every tier, so that
                // a module over them fails the same way. Memory slots hold any 32-bit memory
                // (address space is reserved, not committed); table slots hold ten times the limit.
                let table_slot = config.limits.max_table_elements.saturating_mul(10);
                let mut pool = PoolingAllocationConfig::default();
                pool.total_core_instances(POOL_SLOTS)
                    .total_memories(POOL_SLOTS)
                    .total_tables(POOL_SLOTS)
                    .max_memories_per_module(POOL_ITEMS_PER_MODULE)
                    .max_tables_per_module(POOL_ITEMS_PER_MODULE)
                    .max_memory_size(1 << 32)
                    .table_elements(usize::try_from(table_slot).unwrap_or(usize::MAX))
                    // A fiber stack for each instance's call, and one for the allocator's call
                    // nested in an `answer_*_alloc` (re-entry goes no deeper).
                    .total_stacks(POOL_SLOTS * 2)
                    // A slot reused for the next instance keeps its pages: up to this much of a
                    // memory (and of a table) is reset to its initial contents in place, instead
                    // of handing the pages back to the kernel (`madvise`) and faulting them in
                    // again on first touch, a request's largest cost here (README, Where a
                    // request's time goes). wasmtime resets only the accessible part (a page or
                    // two for our guest) with `memset`; its `pagemap_scan`, which finds the pages
                    // written first, cost more than it saved at this size (its ioctl was 30 % of
                    // a request cycle).
                    .linear_memory_keep_resident(POOL_KEEP_RESIDENT)
                    .table_keep_resident(POOL_KEEP_RESIDENT);
                wasmtime_config
                    .strategy(Strategy::Cranelift)
                    .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
                    .memory_init_cow(true);
            }
            "bounds-checked" => {
                // Reserve only what the memory may grow to, no guard regions: Cranelift then
                // emits an explicit bounds check on every access. Growth never moves the memory
                // (the whole limit is reserved), so no reserve for growth either.
                let reservation = u64::try_from(config.limits.max_memory_bytes).unwrap_or(u64::MAX);
                wasmtime_config
                    .strategy(Strategy::Cranelift)
                    .memory_reservation(reservation)
                    .memory_guard_size(0)
                    .guard_before_linear_memory(false)
                    .memory_reservation_for_growth(0);
            }
            _ => {
                wasmtime_config.strategy(Strategy::Cranelift);
            }
        }
        let engine = wasmtime::Engine::new(&wasmtime_config).map_err(setup)?;
        let mut linker = Linker::new(&engine);
        let calls = if asynchronous { HostCalls::Async } else { HostCalls::Blocking };
        define_imports(&mut linker, calls).map_err(setup)?;
        if config.bench_imports {
            define_bench_imports(&mut linker).map_err(setup)?;
        }
        let watchdog = harness::Watchdog::for_limits(&config.limits)?;
        let runtime = if asynchronous {
            start_ticker(&engine).map_err(|e| Failure::with_detail(Fault::HostResources, e))?;
            Some(Waiter)
        } else {
            None
        };
        Ok(Wasmtime { engine, linker, config: config.clone(), tier, watchdog, runtime })
    }

    fn is_async(&self) -> bool {
        self.runtime.is_some()
    }

    fn max_instances(&self) -> Option<usize> {
        matches!(self.tier, "pooling" | "async").then_some(POOL_SLOTS as usize)
    }

    fn call_with_input_async<'a>(
        &'a self,
        module: &'a WasmtimeModule,
        export: &'a str,
        input: &'a [u8],
        sink: Sink,
    ) -> Option<BoxFuture<'a, Result<Event<'static>, Failure>>> {
        self.runtime.as_ref()?;
        Some(Box::pin(async move {
            let (mut store, alarm) = self.new_store(sink)?;
            let instance = match &module.pre {
                Some(pre) => pre.instantiate_async(&mut store).await,
                None => self.linker.instantiate_async(&mut store, &module.module).await,
            }
            .map_err(|e| self.instantiate_failure(&module.module, &e))?;
            let mut instance = self.finish_instance(module, store, instance, alarm)?;
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

    fn compile(&self, wasm: &[u8]) -> Result<WasmtimeModule, Failure> {
        let module = Module::new(&self.engine, wasm).map_err(|e| {
            if self.tier == "pooling" && Module::validate(&self.engine, wasm).is_ok() {
                // A valid module the pool has no slot for (a memory or table past its sizes): the
                // limit the other tiers' `StoreLimits` refuse at instantiation, in the same words.
                return Failure::with_detail(Fault::instantiation_limit(), e);
            }
            Failure::with_detail(Fault::InvalidModule, e)
        })?;
        Ok(self.with_pre(module))
    }

    fn shape(&self, module: &WasmtimeModule) -> ModuleShape {
        let module = &module.module;
        ModuleShape::new(
            module
                .imports()
                .map(|i| ImportDesc { module: i.module().into(), name: i.name().into(), ty: extern_type(&i.ty()) })
                .collect(),
            module.exports().map(|e| ExportDesc { name: e.name().into(), ty: extern_type(&e.ty()) }).collect(),
        )
    }

    fn reload_precompiled(
        &self,
        module: &WasmtimeModule,
        path: &Path,
    ) -> Option<Result<(WasmtimeModule, Duration), Failure>> {
        let runtime = |e: &dyn std::fmt::Display| Failure::with_detail(Fault::Runtime, e);
        let reload = || {
            let bytes = module.module.serialize().map_err(|e| runtime(&e))?;
            std::fs::write(path, bytes).map_err(|e| runtime(&e))?;
            let start = Instant::now();
            // SAFETY: `path` holds what `Module::serialize` just wrote for this very engine (same
            // configuration, same wasmtime build), which is what `deserialize_file` requires; the
            // file is in the caller's own output directory.
            #[allow(unsafe_code)]
            let reloaded = unsafe { Module::deserialize_file(&self.engine, path) }.map_err(|e| runtime(&e))?;
            let elapsed = start.elapsed();
            Ok((self.with_pre(reloaded), elapsed))
        };
        Some(reload())
    }

    fn instantiate(&self, module: &WasmtimeModule, sink: Sink) -> Result<WasmtimeInstance, Failure> {
        let (mut store, alarm) = self.new_store(sink)?;
        let instance = match (&module.pre, &self.runtime) {
            (Some(pre), Some(waiter)) => waiter.block_on(pre.instantiate_async(&mut store))?,
            (None, Some(waiter)) => waiter.block_on(self.linker.instantiate_async(&mut store, &module.module))?,
            (Some(pre), None) => pre.instantiate(&mut store),
            (None, None) => self.linker.instantiate(&mut store, &module.module),
        }
        .map_err(|e| self.instantiate_failure(&module.module, &e))?;
        self.finish_instance(module, store, instance, alarm)
    }
}

/// Starts the `async` tier's ticker: a thread that moves the epoch of `engine` on every
/// [`YIELD_EVERY`], at which a running guest yields. It ends when the engine is dropped.
fn start_ticker(engine: &wasmtime::Engine) -> std::io::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new().name("wasmtime-epoch-ticker".into()).spawn(move || {
        loop {
            std::thread::sleep(YIELD_EVERY);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    })?;
    Ok(())
}

/// With a timeout (and the engine's `epoch_interruption` on): from now, `store`'s guest ends in
/// a trap at the first epoch check past its deadline ([`Trap::Timeout`], through [`failure`]).
/// The epoch moves on only when some instance's deadline comes (the returned alarm increments
/// it), so a store whose deadline has not passed just looks at the clock and waits for the next
/// increment. Drop the alarm with the store. Shared with `host-wasmtime-component`.
pub fn arm_deadline<T: 'static>(
    engine: &wasmtime::Engine,
    watchdog: Option<&Watchdog>,
    store: &mut Store<T>,
    timeout: Option<Duration>,
) -> Option<Alarm> {
    let (watchdog, deadline) = (watchdog?, Deadline::after(timeout)?);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if deadline.passed() { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
    });
    Some(deadline_alarm(engine, watchdog, deadline))
}

/// The `async` tier's [`arm_deadline`]: at each move of the epoch (the ticker's, or the alarm at
/// the deadline, if there is one), the guest yields to the executor, or ends in
/// [`Trap::Timeout`] if its deadline has passed.
fn arm_yield<T: 'static>(
    engine: &wasmtime::Engine,
    watchdog: Option<&Watchdog>,
    store: &mut Store<T>,
    timeout: Option<Duration>,
) -> Option<Alarm> {
    let deadline = Deadline::after(timeout);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if deadline.is_some_and(|d| d.passed()) { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
    });
    Some(deadline_alarm(engine, watchdog?, deadline?))
}

/// An epoch increment at `deadline`.
fn deadline_alarm(engine: &wasmtime::Engine, watchdog: &Watchdog, deadline: Deadline) -> Alarm {
    let engine = engine.weak();
    watchdog.set(deadline, None, move || {
        if let Some(engine) = engine.upgrade() {
            engine.increment_epoch();
        }
    })
}

impl Wasmtime {
    /// A store for a new instance, with its limits, fuel and deadline (or, on the `async` tier,
    /// its yields), and the alarm to drop with it.
    fn new_store(&self, sink: Sink) -> Result<(Store<State>, Option<Alarm>), Failure> {
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
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.store_limits);
        if let Some(fuel) = self.config.limits.fuel {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let (watchdog, timeout) = (self.watchdog.as_ref(), self.config.limits.timeout);
        let alarm = match self.runtime {
            Some(_) => arm_yield(&self.engine, watchdog, &mut store, timeout),
            None => arm_deadline(&self.engine, watchdog, &mut store, timeout),
        };
        Ok((store, alarm))
    }

    /// The instance made in `store`, with its memory and allocator looked up.
    fn finish_instance(
        &self,
        module: &WasmtimeModule,
        mut store: Store<State>,
        instance: wasmtime::Instance,
        alarm: Option<Alarm>,
    ) -> Result<WasmtimeInstance, Failure> {
        let memory = instance
            .get_memory(&mut store, common::MEMORY_EXPORT)
            .ok_or_else(|| Fault::Link(harness::Engine::shape(self, module).no_memory()))?;
        store.data_mut().memory = Some(memory);
        store.data_mut().allocator = find_allocator(&mut store, &instance);
        Ok(WasmtimeInstance { store, instance, _alarm: alarm, runtime: self.runtime, handler: HandlerCache::default() })
    }

    /// An error from instantiation: a trap in a start function, a resource limit, or the host
    /// out of resources.
    fn instantiate_failure(&self, module: &Module, error: &wasmtime::Error) -> Failure {
        if error.downcast_ref::<wasmtime::Trap>().is_some() || error.downcast_ref::<HostError>().is_some() {
            return failure(error);
        }
        // Imports were checked against the ABI before, so what wasmtime still refuses without a
        // trap is a memory or table: `StoreLimits` denied it if the module asks for more than the
        // limits allow (more than one of each, or a larger initial size); otherwise the host could
        // not create it (an `mmap` refused: too little address space under RLIMIT_AS).
        let needs = module.resources_required();
        let limits = &self.config.limits;
        let over_limits = needs.num_memories > 1
            || needs.num_tables > 1
            || needs.max_initial_memory_size.is_some_and(|pages| {
                pages.saturating_mul(u64::from(harness::WASM_PAGE_SIZE))
                    > u64::try_from(limits.max_memory_bytes).unwrap_or(u64::MAX)
            })
            || needs.max_initial_table_size.is_some_and(|elements| elements > u64::from(limits.max_table_elements));
        if over_limits {
            Failure::with_detail(Fault::instantiation_limit(), error)
        } else {
            Failure::with_detail(Fault::HostResources, format!("{error:#}"))
        }
    }

    /// `module`, with its imports resolved once if this engine takes the fast path. A module the
    /// linker cannot pre-instantiate (an import the ABI does not have) goes the plain way, where
    /// the ABI check refuses it with the same error as on every runtime.
    fn with_pre(&self, module: Module) -> WasmtimeModule {
        let pre = matches!(self.tier, "pooling" | "async").then(|| self.linker.instantiate_pre(&module).ok()).flatten();
        WasmtimeModule { module, pre }
    }
}

impl WasmtimeInstance {
    /// [`harness::Instance::call`] as a future, on the `async` tier.
    async fn call_async(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let (func, params, mut results) = self.prepare_call(name, args)?;
        func.call_async(&mut self.store, &params, &mut results).await.map_err(|e| failure(&e))?;
        Ok(results.first().and_then(Val::i32))
    }

    /// The export `name`, its arguments, and room for its results.
    fn prepare_call(&mut self, name: &str, args: &[i32]) -> Result<(wasmtime::Func, Vec<Val>, Vec<Val>), Failure> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let params: Vec<Val> = args.iter().copied().map(Val::I32).collect();
        let results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        Ok((func, params, results))
    }
}

impl harness::Instance for WasmtimeInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        if let Some(waiter) = self.runtime {
            return waiter.block_on(self.call_async(name, args))?;
        }
        let (func, params, mut results) = self.prepare_call(name, args)?;
        func.call(&mut self.store, &params, &mut results).map_err(|e| failure(&e))?;
        Ok(results.first().and_then(Val::i32))
    }

    fn call_handler(&mut self, name: &str, request_len: i32) -> Result<Option<i32>, Failure> {
        if self.runtime.is_some() {
            return self.call(name, &[request_len]);
        }
        let lookup = || self.instance.get_typed_func::<i32, i32>(&mut self.store, name).ok();
        let Some(handler) = self.handler.get(name, lookup) else {
            // Missing, or not a handler: the untyped call says which, in the ABI's words.
            return self.call(name, &[request_len]);
        };
        handler.call(&mut self.store, request_len).map(Some).map_err(|e| failure(&e))
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
        if let Some(waiter) = self.runtime {
            return waiter.block_on(async {
                for _ in 0..times {
                    func.call_async(&mut self.store, ()).await.map_err(|e| failure(&e))?;
                }
                Ok(())
            })?;
        }
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

/// A wasmtime error from a call in the ABI's terms: our host errors, wasmtime's traps (shared
/// with `host-wasmtime-component`).
pub fn failure(error: &wasmtime::Error) -> Failure {
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
        // Only a deadline interrupts (`arm_deadline`).
        wasmtime::Trap::Interrupt => Trap::Timeout,
        other => return Failure::with_detail(Fault::Trap(Trap::Other), other),
    };
    Failure::new(Fault::Trap(neutral))
}
