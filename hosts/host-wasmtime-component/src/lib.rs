//! The wasm-hostcall scenarios as a component, on wasmtime's component model: the other answer
//! to "how does a guest pass data to its host", beside the core ABI of the other hosts.
//!
//! [`WasmtimeComponent`] implements [`harness::Engine`] for components of the world
//! `wit/wasm-hostcall.wit`: it binds the world's imports once in a component [`Linker`]
//! (`src/imports.rs`, written to be copied: every body is one call to the shared [`Recorder`]),
//! resolves them once per component ([`InstancePre`]), and gives each instance a [`Store`] of its
//! own. So the CLI, the limits, the events, the golden files and the error kinds are the core
//! hosts' own; what differs is said here.
//!
//! - **Exports.** A component export `func() -> s32` (or with `s32`/`u32` parameters) is called
//!   like a core export; a handler is `func(request: list<u8>) -> result<response, string>` (the
//!   world's `handle`): its `ok` is the response, its `err` the failure `call.guest-error`.
//! - **The canonical ABI checks** (a string or list inside memory, `cabi_realloc`'s answer in
//!   bounds and aligned, no import called from `cabi_realloc`) are wasmtime's: their failures
//!   are reported as `canon.*` kinds ([`canon_kind`]); the checks the WIT types cannot express
//!   are ours (`src/imports.rs`).
//! - **Memory.** A component does not export its memory: [`harness::Instance::read_memory`] is
//!   refused ([`Fault::Runtime`]), and `write_memory` too unless the component exports
//!   `write-memory: func(offset: u32, bytes: list<u8>)` (the comparison's bench component).
//! - **Benchmark imports** (with [`harness::Config::bench_imports`]): `bench-noop-s32`,
//!   `bench-noop-s32-s32`, `bench-str-owned`, `bench-str-borrowed`, for the comparison tool.
//!
//! Tiers: `cranelift` and `pooling` (Cranelift with the pooling instance allocator), both with
//! imports resolved once per component. Limits: fuel; [`StoreLimits`](wasmtime::StoreLimits) for
//! memory and tables, allowing the several core instances and tables of one component (a
//! `wit-bindgen` guest is three core instances: the module and two shims of `wit-component`) but
//! one memory; `max_wasm_stack` for recursion.
#![forbid(unsafe_code)]

mod imports;

use harness::{ExportDesc, ExternType, Failure, Fault, ImportDesc, LinkError, ModuleShape, Recorder, Sink};
use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::{Component, ComponentType, InstancePre, Lift, Linker, Type, Val, WasmStr};
use wasmtime::{
    InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreContextMut, StoreLimitsBuilder, Strategy,
};

pub use crate::imports::{Ab, Cd};
use crate::imports::{IMPORTS, State, define_imports};

/// The most core instances (and tables) one component instance may have: a `wit-bindgen` guest
/// has three instances and two tables.
const MAX_CORE_INSTANCES: usize = 16;

/// The most component instances alive at once with the `pooling` tier, and core instances per
/// component in the pool.
const POOL_SLOTS: u32 = 256;

/// The wasmtime engine for components, with the world's imports bound once for all instances.
pub struct WasmtimeComponent {
    engine: wasmtime::Engine,
    linker: Linker<State>,
    config: harness::Config,
    tier: &'static str,
    /// With a timeout: the thread that increments the epoch at each instance's deadline.
    watchdog: Option<harness::Watchdog>,
}

/// A compiled component, with its imports resolved once (or why they cannot be).
#[derive(Clone)]
pub struct ComponentModule {
    component: Component,
    pre: Result<InstancePre<State>, LinkError>,
}

/// One component instance in its own store.
pub struct ComponentInstance {
    store: Store<State>,
    instance: wasmtime::component::Instance,
    /// The epoch increment at this instance's deadline, cancelled when the instance is dropped.
    _alarm: Option<harness::Alarm>,
}

/// A handler's response: the world's `response` variant.
#[derive(ComponentType, Lift)]
#[component(variant)]
enum Response {
    #[component(name = "str")]
    Str(String),
    #[component(name = "ab")]
    Ab(Ab),
    #[component(name = "cd")]
    Cd(Cd),
}

impl harness::Engine for WasmtimeComponent {
    const NAME: &'static str = "wasmtime-component";
    const CRATE: &'static str = "wasmtime";
    const TIERS: &'static [&'static str] = &["cranelift", "pooling"];
    const DEFAULT_GUEST: &'static [u8] = guest_wasm::GUEST_COMPONENT;
    const STOPS_ON_DEADLINE: bool = true;
    type Module = ComponentModule;
    type Instance = ComponentInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let setup = |e: wasmtime::Error| Failure::new(Fault::Setup(format!("wasmtime components {tier}: {e:#}")));
        let mut wasmtime_config = wasmtime::Config::new();
        wasmtime_config
            .consume_fuel(config.limits.fuel.is_some())
            .epoch_interruption(config.limits.timeout.is_some())
            .strategy(Strategy::Cranelift);
        if tier == "pooling" {
            let table_slot = config.limits.max_table_elements.saturating_mul(10);
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(POOL_SLOTS)
                .total_core_instances(POOL_SLOTS * 4)
                .total_memories(POOL_SLOTS)
                .total_tables(POOL_SLOTS * 4)
                .max_memory_size(1 << 32)
                .table_elements(usize::try_from(table_slot).unwrap_or(usize::MAX));
            wasmtime_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool)).memory_init_cow(true);
        }
        let engine = wasmtime::Engine::new(&wasmtime_config).map_err(setup)?;
        let mut linker = Linker::new(&engine);
        define_imports(&mut linker).map_err(setup)?;
        if config.bench_imports {
            define_bench_imports(&mut linker).map_err(setup)?;
        }
        let watchdog = harness::Watchdog::for_limits(&config.limits)?;
        Ok(WasmtimeComponent { engine, linker, config: config.clone(), tier, watchdog })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<ComponentModule, Failure> {
        let component =
            Component::new(&self.engine, wasm).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        let pre = self.linker.instantiate_pre(&component).map_err(|e| self.link_error(&component, &e));
        Ok(ComponentModule { component, pre })
    }

    fn shape(&self, module: &ComponentModule) -> ModuleShape {
        let ty = module.component.component_type();
        let imports = ty
            .imports(&self.engine)
            .filter_map(|(name, item)| match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    Some(ImportDesc { module: String::new(), name: name.into(), ty: func_type(&f) })
                }
                _ => None,
            })
            .collect();
        let exports = ty
            .exports(&self.engine)
            .filter_map(|(name, item)| match item.ty {
                ComponentItem::ComponentFunc(f) => Some(ExportDesc { name: name.into(), ty: func_type(&f) }),
                _ => None,
            })
            .collect();
        ModuleShape::new(imports, exports)
    }

    /// Compiles, then checks the imports against the world (the linker resolved them, or says
    /// why not). The core ABI's checks do not apply: a component imports no memory and exports
    /// none.
    fn load(&self, wasm: &[u8]) -> Result<(ComponentModule, ModuleShape), Failure> {
        let module = self.compile(wasm)?;
        if let Err(e) = &module.pre {
            return Err(Failure::new(Fault::Link(e.clone())));
        }
        let shape = self.shape(&module);
        Ok((module, shape))
    }

    fn instantiate(&self, module: &ComponentModule, sink: Sink) -> Result<ComponentInstance, Failure> {
        let pre = module.pre.as_ref().map_err(|e| Failure::new(Fault::Link(e.clone())))?;
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(self.config.limits.max_memory_bytes)
            .table_elements(usize::try_from(self.config.limits.max_table_elements).unwrap_or(usize::MAX))
            .instances(MAX_CORE_INSTANCES)
            .tables(MAX_CORE_INSTANCES)
            .memories(1)
            .build();
        let state = State { recorder: self.config.recorder(sink), store_limits };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.store_limits);
        if let Some(fuel) = self.config.limits.fuel {
            store.set_fuel(fuel).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        }
        let alarm =
            host_wasmtime::arm_deadline(&self.engine, self.watchdog.as_ref(), &mut store, self.config.limits.timeout);
        let instance = pre.instantiate(&mut store).map_err(|e| {
            if e.downcast_ref::<wasmtime::Trap>().is_some() || e.downcast_ref::<harness::HostError>().is_some() {
                failure(&e)
            } else {
                // Imports were resolved before: what wasmtime refuses now is a memory or table
                // (or one core instance too many) that `StoreLimits` denied.
                Failure::with_detail(Fault::instantiation_limit(), e)
            }
        })?;
        Ok(ComponentInstance { store, instance, _alarm: alarm })
    }
}

/// The benchmark imports of components, for the comparison tool only: no-ops with the core
/// signatures of `log-int` and `log-str` (the cost of crossing into the host), and a string taken
/// as an owned `String` (copied out of guest memory) or as a [`WasmStr`] validated in place (what
/// `src/imports.rs` does), to measure one against the other.
fn define_bench_imports(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let mut root = linker.root();
    root.func_wrap("bench-noop-s32", |_: StoreContextMut<'_, State>, (_,): (i32,)| Ok(()))?;
    root.func_wrap("bench-noop-s32-s32", |_: StoreContextMut<'_, State>, (_, _): (i32, i32)| Ok(()))?;
    root.func_wrap("bench-str-owned", |_: StoreContextMut<'_, State>, (text,): (String,)| {
        std::hint::black_box(text);
        Ok(())
    })?;
    root.func_wrap("bench-str-borrowed", |cx: StoreContextMut<'_, State>, (text,): (WasmStr,)| {
        std::hint::black_box(text.to_str(&cx)?.len());
        Ok(())
    })?;
    Ok(())
}

impl WasmtimeComponent {
    /// Why the linker cannot resolve `component`'s imports: one the world does not have, or one
    /// of the world's with another type.
    fn link_error(&self, component: &Component, error: &wasmtime::Error) -> LinkError {
        let ty = component.component_type();
        let unknown = ty.imports(&self.engine).find(|(name, item)| {
            !IMPORTS.iter().any(|(known, _)| known == name) && !matches!(item.ty, ComponentItem::Type(_))
        });
        match unknown {
            Some((name, _)) => LinkError::UnknownComponentImport {
                name: name.into(),
                world: IMPORTS.iter().map(|(name, _)| (*name).to_owned()).collect(),
            },
            None => LinkError::ComponentImportType { detail: format!("{error:#}") },
        }
    }
}

impl harness::Instance for ComponentInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| Fault::MissingExport { name: name.into(), available: Vec::new() })?;
        let ty = func.ty(&self.store);
        let mismatch = || Fault::ExportSignature {
            name: name.into(),
            found: func_type(&ty).to_string(),
            expected: "s32 or u32 parameters, at most one s32 or u32 result".into(),
        };
        if ty.params().len() != args.len() || ty.results().len() > 1 {
            return Err(mismatch().into());
        }
        let mut params = Vec::with_capacity(args.len());
        for ((_, param), &arg) in ty.params().zip(args) {
            params.push(match param {
                Type::S32 => Val::S32(arg),
                Type::U32 => Val::U32(arg.cast_unsigned()),
                _ => return Err(mismatch().into()),
            });
        }
        let mut results = vec![Val::Bool(false); ty.results().len()];
        func.call(&mut self.store, &params, &mut results).map_err(|e| failure(&e))?;
        match results.first() {
            None => Ok(None),
            Some(Val::S32(v)) => Ok(Some(*v)),
            Some(Val::U32(v)) => Ok(Some(v.cast_signed())),
            Some(_) => Err(mismatch().into()),
        }
    }

    /// A component does not export its memory: this calls its export
    /// `write-memory: func(offset: u32, bytes: list<u8>)` if it has one (the comparison's bench
    /// component does), and is refused otherwise.
    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        let refused = || Failure::with_detail(Fault::Runtime, "a component does not export its memory");
        let write =
            self.instance.get_typed_func::<(u32, &[u8]), ()>(&mut self.store, "write-memory").map_err(|_| refused())?;
        write.call(&mut self.store, (offset, bytes)).map_err(|e| failure(&e))
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        Err(Failure::with_detail(Fault::Runtime, "a component does not export its memory"))
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

    /// Calls the handler `name` (`func(request: list<u8>) -> result<response, string>`) with
    /// `input`: its `ok` response (checked against the ABI's limits, like a core guest's
    /// `respond_*`), or its `err` as [`Fault::GuestError`].
    fn call_with_input(&mut self, name: &str, input: &[u8]) -> Result<common::Event<'static>, Failure> {
        let handler = self
            .instance
            .get_typed_func::<(&[u8],), (Result<Response, String>,)>(&mut self.store, name)
            .map_err(|e| {
                let found = self.instance.get_func(&mut self.store, name).map(|f| func_type(&f.ty(&self.store)));
                match found {
                    None => Failure::new(Fault::MissingExport { name: name.into(), available: Vec::new() }),
                    Some(found) => Failure::with_detail(
                        Fault::ExportSignature {
                            name: name.into(),
                            found: found.to_string(),
                            expected: "func(request: list<u8>) -> result<response, string>".into(),
                        },
                        e,
                    ),
                }
            })?;
        let (outcome,) = handler.call(&mut self.store, (input,)).map_err(|e| failure(&e))?;
        let response = outcome.map_err(|message| Fault::GuestError { export: name.into(), message })?;
        let refused = |import, e| Fault::Host(harness::HostError { import, kind: harness::HostErrorKind::Value(e) });
        match response {
            Response::Str(text) => Ok(common::Event::Str(text.into())),
            Response::Ab(ab) => {
                let fits = common::value::ab(ab.a, &ab.b).map(|_| ());
                fits.map_err(|e| refused(common::Import::RespondAb, e))?;
                Ok(common::Event::Ab(common::AB { a: ab.a, b: ab.b }.into()))
            }
            Response::Cd(cd) => common::value::cd(cd.c, &cd.d)
                .map(common::Event::Cd)
                .map_err(|e| refused(common::Import::RespondCd, e).into()),
        }
    }
}

/// A component function's type in the ABI's terms: `s32` and `u32` as `i32`, any other type as
/// `ref` (so that an export taking one is refused as having another signature); a handler,
/// `(list<u8>) -> result<..>`, as the core ABI's handler `(i32) -> (i32)`.
fn func_type(f: &ComponentFunc) -> ExternType {
    let params: Vec<Type> = f.params().map(|(_, ty)| ty).collect();
    let results: Vec<Type> = f.results().collect();
    let is_bytes = |ty: &Type| matches!(ty, Type::List(list) if list.ty() == Type::U8);
    if let ([request], [Type::Result(_)]) = (params.as_slice(), results.as_slice())
        && is_bytes(request)
    {
        return ExternType::Func { params: vec![common::ValType::I32], results: vec![common::ValType::I32] };
    }
    let core = |ty: &Type| match ty {
        Type::S32 | Type::U32 => common::ValType::I32,
        _ => common::ValType::Ref,
    };
    ExternType::Func { params: params.iter().map(core).collect(), results: results.iter().map(core).collect() }
}

/// A wasmtime error from a call of a component in the ABI's terms: the core hosts' mapping
/// ([`host_wasmtime::failure`]: our host errors, traps), and the canonical ABI's own refusals
/// as `canon.*` ([`canon_kind`]).
fn failure(error: &wasmtime::Error) -> Failure {
    if let Some(wasmtime::Trap::CannotLeaveComponent) = error.downcast_ref::<wasmtime::Trap>() {
        return Failure::new(Fault::Canon { kind: "reentered", message: "cannot leave component instance".into() });
    }
    if error.downcast_ref::<harness::HostError>().is_none()
        && error.downcast_ref::<wasmtime::Trap>().is_none()
        && let Some(kind) = canon_kind(error)
    {
        let message = error.chain().last().map(ToString::to_string).unwrap_or_default();
        return Failure::new(Fault::Canon { kind, message });
    }
    host_wasmtime::failure(error)
}

/// The kind of a refusal of wasmtime's canonical ABI, from its message (wasmtime gives them no
/// type: they are checked against wasmtime 48's messages by the hostile components of
/// `tests/components/`, so a wasmtime that words them differently fails those tests).
pub fn canon_kind(error: &wasmtime::Error) -> Option<&'static str> {
    let message = error.chain().last()?.to_string();
    let kinds: [(&str, &'static str); 11] = [
        ("invalid expected discriminant", "bad-case"),
        ("discriminant", "bad-case"),
        ("string pointer/length out of bounds", "out-of-bounds"),
        ("list pointer/length out of bounds", "out-of-bounds"),
        ("pointer out of bounds", "out-of-bounds"),
        ("realloc return: beyond end of memory", "realloc-out-of-bounds"),
        ("realloc return: result not aligned", "realloc-misaligned"),
        ("not aligned", "misaligned"),
        ("pointer size overflow", "address-overflow"),
        ("too much data is being copied", "too-much-data"),
        ("too large to copy into wasm", "too-much-data"),
    ];
    kinds.iter().find(|(text, _)| message.contains(text)).map(|(_, kind)| *kind)
}
