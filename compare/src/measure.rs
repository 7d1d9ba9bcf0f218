//! What is measured, and how one sample of each is taken.
//!
//! Every sample is taken with the production host bodies (decode with `common`, then a sink that
//! drops the event: no printing in the timed region) and the memory handle cached, as in real use.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "loop counts come from positive durations, and a float-to-integer `as` saturates"
)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use common::{CD, Import, decode_value};
use harness::{DynEngine, Instance, LoadedModule, Sink};

use workloads::Workload;

use crate::payload::{PAYLOAD_SIZES, ab_of_size, text_of_size};

/// The benchmark loops (`compare/guest/bench.wat`).
pub(crate) const BENCH_WAT: &str = include_str!("../guest/bench.wat");

/// The same loops as a component (`compare/guest/bench.component.wat`).
pub(crate) const BENCH_COMPONENT_WAT: &str = include_str!("../guest/bench.component.wat");

/// The host of components (`host-wasmtime-component`), measured beside the core ABI's runtimes:
/// its columns run the component guest (`guest_wasm::GUEST_COMPONENT`, the world
/// `wit/wasm-hostcall.wit`) and the bench component where the scenario exists there, and have
/// no sample in the rows that are the core ABI's alone (an answer into a buffer).
pub(crate) static COMPONENTS: runtimes::Runtime = runtimes::Runtime::of::<host_wasmtime_component::WasmtimeComponent>();

/// Argument sizes of the return-path rows (`answer_str`), in bytes.
const ANSWER_SIZES: [usize; 2] = [16, 4096];

/// Request (and response) sizes of the host → guest calls with input, in bytes.
const CALL_SIZES: [usize; 3] = [16, 4096, 65_536];

/// Where payloads go in the bench module's memory.
const PAYLOAD_OFFSET: u32 = 0;

/// One row of the report.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Stable id (`call.log_str.256`).
    pub(crate) id: String,
    /// Row title (`log_str 256 B`).
    pub(crate) title: String,
    /// Section of the report.
    pub(crate) group: Group,
    /// Unit the samples are in.
    pub(crate) unit: &'static str,
    /// How a sample is taken.
    pub(crate) kind: Kind,
}

/// Sections of the report, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) enum Group {
    /// wasm → host calls.
    HostCall,
    /// What of a host call is the host's own code (derived from the host-call rows).
    Overhead,
    /// host → wasm calls.
    GuestCall,
    /// Compile, instantiate, first call, precompiled load.
    StartUp,
    /// The compute kernel.
    Execution,
    /// Resident memory.
    Memory,
}

impl Group {
    pub(crate) const fn title(self) -> &'static str {
        match self {
            Group::HostCall => "Host calls (wasm → host), per call, empty loop subtracted; compare with the no-op rows",
            Group::Overhead => {
                "Host-side overhead per call: the call − the no-op crossing − the native decode of the same bytes (what a host author controls)"
            }
            Group::GuestCall => "Guest calls (host → wasm), per call",
            Group::StartUp => "Start-up",
            Group::Execution => "Execution",
            Group::Memory => "Memory (resident, and address space reserved, measured in a fresh process per tier)",
        }
    }
}

/// How a sample is taken.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// `loop_EXPORT(ptr, len, n)` minus `loop_empty(ptr, len, n)`, divided by `n`, with the
    /// payload at `ptr`: the core ABI's loop (`bench.wat`) and the component model's
    /// (`bench.component.wat`), where the scenario exists. `import` is what the native floor does
    /// with the same bytes (decode them, or answer them into a buffer; none for the no-ops).
    Loop { core: Option<LoopArgs>, component: Option<LoopArgs>, import: Option<Import> },
    /// The bench module's `noop` export, called `n` times through a typed handle.
    EnterGuest,
    /// A call with input (`Instance::call_with_input`) of the guest's `handle_echo` with `size`
    /// bytes of text: the request copied in, the same bytes back as the response.
    CallWithInput { size: usize },
    /// A request cycle, what an edge host does per request: instantiate the guest, call
    /// `handle_echo` with `size` bytes in and out, drop the instance.
    RequestCycle { size: usize },
    /// Compiling the guest.
    Compile,
    /// Instantiating the compiled guest.
    Instantiate,
    /// The first call of `hello` in a new instance (lazy compilation shows here).
    FirstCall,
    /// Loading the guest precompiled from disk.
    Precompiled,
    /// `kernel(limit)`, its result checked.
    Kernel,
    /// A real workload of the workloads guest (`guest_wasm::GUEST_WORKLOADS`) on `size` bytes:
    /// `workload_prepare` in a new instance (not timed), then `workload_run` timed, its digest
    /// checked against the native run's.
    Workload { workload: Workload, size: usize },
    /// [`Kind::Kernel`] on an engine that can stop the guest: with a fuel limit (never reached),
    /// or with a timeout (never reached): what being stoppable costs.
    KernelStoppable(Stop),
    /// How long after its deadline a guest in an endless loop is stopped: instantiate the bench
    /// module with [`LATENESS_TIMEOUT`], call its `spin`, and time until the call fails with
    /// `trap.timeout`; the timeout is subtracted.
    TimeoutLateness,
    /// Resident memory of a new engine with the guest compiled.
    EngineMemory,
    /// Resident memory per instance of the guest.
    InstanceMemory,
    /// Address space (`VmSize`) a new engine with the guest compiled reserves.
    EngineAddressSpace,
    /// Address space (`VmSize`) reserved per instance of the guest.
    InstanceAddressSpace,
}

impl Kind {
    /// Whether the sample comes from the memory probe (a fresh process per tier), not the rounds.
    pub(crate) const fn is_memory(&self) -> bool {
        matches!(
            self,
            Kind::EngineMemory | Kind::InstanceMemory | Kind::EngineAddressSpace | Kind::InstanceAddressSpace
        )
    }
}

/// How a guest is made stoppable, for [`Kind::KernelStoppable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A fuel limit ([`KERNEL_FUEL`]).
    Fuel,
    /// A timeout ([`KERNEL_TIMEOUT`]).
    Deadline,
}

/// The fuel limit of [`Stop::Fuel`]: far more than the kernel uses, and the most WAMR meters.
pub(crate) const KERNEL_FUEL: u64 = i32::MAX.unsigned_abs() as u64;

/// The timeout of [`Stop::Deadline`]: far longer than the kernel runs.
pub(crate) const KERNEL_TIMEOUT: Duration = Duration::from_secs(3600);

/// The timeout of [`Kind::TimeoutLateness`].
pub(crate) const LATENESS_TIMEOUT: Duration = Duration::from_millis(10);

/// One side's benchmark loop: its export and the payload it is called with.
#[derive(Debug, Clone)]
pub(crate) struct LoopArgs {
    /// `loop_NAME` (`bench.wat`) or `loop-NAME` (`bench.component.wat`).
    pub(crate) export: &'static str,
    /// Written at [`PAYLOAD_OFFSET`] before the loop runs.
    pub(crate) payload: Vec<u8>,
    /// The loop's `len` argument: the payload's length.
    pub(crate) len: i32,
}

impl LoopArgs {
    fn new(export: &'static str, payload: impl Into<Vec<u8>>) -> Option<Self> {
        let payload = payload.into();
        let len = i32::try_from(payload.len()).unwrap_or(i32::MAX);
        Some(LoopArgs { export, payload, len })
    }
}

fn loop_spec(
    id: &str,
    title: &str,
    core: Option<LoopArgs>,
    component: Option<LoopArgs>,
    import: Option<Import>,
) -> Spec {
    Spec {
        id: id.into(),
        title: title.into(),
        group: Group::HostCall,
        unit: "ns",
        kind: Kind::Loop { core, component, import },
    }
}

/// Every row of the report, in order.
pub(crate) fn specs(budget: &Budget) -> Vec<Spec> {
    const CD_TEXT: &str = "hello world";
    let cd = CD::new(1234, CD_TEXT).map(|cd| bytemuck::bytes_of(&cd.to_wire()).to_vec()).unwrap_or_default();
    let both = |core: &'static str, component: &'static str, payload: Vec<u8>| {
        (LoopArgs::new(core, payload.clone()), LoopArgs::new(component, payload))
    };
    let (core_int, component_int) = both("loop_log_int", "loop-log-int", Vec::new());
    let (core_noop, component_noop) = both("loop_noop_i32", "loop-noop-i32", Vec::new());
    let (core_noop2, component_noop2) = both("loop_noop_i32_i32", "loop-noop-i32-i32", Vec::new());
    let mut specs = vec![
        loop_spec("call.log_int", "log_int", core_int, component_int, Some(Import::LogInt)),
        loop_spec("call.noop_i32", "no-op (i32)", core_noop, component_noop, None),
        loop_spec(
            "call.log_cd",
            "log_cd (40 B)",
            LoopArgs::new("loop_log_cd", cd.clone()),
            LoopArgs::new("loop-log-cd", CD_TEXT),
            Some(Import::LogCd),
        ),
        loop_spec("call.noop_i32_i32", "no-op (i32, i32)", core_noop2, component_noop2, None),
    ];
    for size in PAYLOAD_SIZES {
        let (core, component) = both("loop_log_str", "loop-log-str", text_of_size(size).into_bytes());
        specs.push(loop_spec(
            &format!("call.log_str.{size}"),
            &format!("log_str {}", bytes(size)),
            core,
            component,
            Some(Import::LogStr),
        ));
    }
    for size in PAYLOAD_SIZES {
        // On a component, the same `ab` as a record: its text is the string of the encoding.
        let ab = ab_of_size(size);
        let text =
            u32::try_from(size).ok().and_then(|len| common::decode_ab(&ab, 0, len).ok()).map(|ab| ab.b.into_owned());
        specs.push(loop_spec(
            &format!("call.log_ab.{size}"),
            &format!("log_ab {}", bytes(size)),
            LoopArgs::new("loop_log_ab", ab),
            text.and_then(|text| LoopArgs::new("loop-log-ab", text)),
            Some(Import::LogAb),
        ));
    }
    // The component model's string parameter taken two ways (its own rows: the core ABI has no
    // such choice to make).
    for (how, export, title) in [
        ("owned", "loop-str-owned", "an owned String"),
        ("borrowed", "loop-str-borrowed", "a WasmStr, validated in place"),
    ] {
        for size in PAYLOAD_SIZES {
            specs.push(loop_spec(
                &format!("call.str_{how}.{size}"),
                &format!("string {} as {title} (components)", bytes(size)),
                None,
                LoopArgs::new(export, text_of_size(size)),
                Some(Import::LogStr),
            ));
        }
    }
    for size in ANSWER_SIZES {
        let text = text_of_size(size).into_bytes();
        specs.push(loop_spec(
            &format!("answer.str.{size}"),
            &format!("answer_str {} into a buffer", bytes(size)),
            LoopArgs::new("loop_answer_str", text.clone()),
            None,
            Some(Import::AnswerStr),
        ));
        let (core, component) = both("loop_answer_str_alloc", "loop-answer-str-alloc", text);
        specs.push(loop_spec(
            &format!("answer.str_alloc.{size}"),
            &format!("answer_str {} via guest_alloc (cabi_realloc)", bytes(size)),
            core,
            component,
            Some(Import::AnswerStrAlloc),
        ));
    }
    specs.push(loop_spec(
        "answer.cd",
        "answer_cd into a buffer",
        LoopArgs::new("loop_answer_cd", cd.clone()),
        None,
        Some(Import::AnswerCd),
    ));
    specs.push(loop_spec(
        "answer.cd_alloc",
        "answer_cd via guest_alloc (cabi_realloc)",
        LoopArgs::new("loop_answer_cd_alloc", cd),
        LoopArgs::new("loop-answer-cd-alloc", CD_TEXT),
        Some(Import::AnswerCdAlloc),
    ));
    // A lookup whose store answers at once (no delay): what waiting costs on the async tiers,
    // beside the blocking binding, with nothing waited for.
    specs.push(loop_spec(
        "answer.kv_get",
        "kv_get, 16 B key, value into a buffer (store answers at once)",
        LoopArgs::new("loop_kv_get", KV_BENCH_KEY),
        None,
        Some(Import::KvGet),
    ));
    let other =
        |id: &str, title: &str, group, unit, kind| Spec { id: id.into(), title: title.into(), group, unit, kind };
    specs.push(other("enter.noop", "no-op export", Group::GuestCall, "ns", Kind::EnterGuest));
    for size in CALL_SIZES {
        let title = format!("call with {} in and out", bytes(size));
        specs.push(other(&format!("enter.call.{size}"), &title, Group::GuestCall, "ns", Kind::CallWithInput { size }));
    }
    specs.extend([
        other("startup.compile", "compile the guest", Group::StartUp, "µs", Kind::Compile),
        other("startup.instantiate", "instantiate", Group::StartUp, "µs", Kind::Instantiate),
        other(
            "startup.request_cycle",
            "request cycle: instantiate, call with 1 KiB in and out, drop",
            Group::StartUp,
            "µs",
            Kind::RequestCycle { size: 1024 },
        ),
        other("startup.first_call", "first call (hello)", Group::StartUp, "µs", Kind::FirstCall),
        other("startup.precompiled", "load precompiled from disk", Group::StartUp, "µs", Kind::Precompiled),
        other("exec.kernel", "kernel (count primes)", Group::Execution, "ms", Kind::Kernel),
    ]);
    for workload in Workload::ALL {
        let size = budget.workload_size(workload);
        specs.push(other(
            &format!("exec.workload.{}", workload.id()),
            &workload.title(&bytes(size)),
            Group::Execution,
            "ms",
            Kind::Workload { workload, size },
        ));
    }
    specs.extend([
        other(
            "exec.kernel_fuel",
            "kernel with a fuel limit (never reached)",
            Group::Execution,
            "ms",
            Kind::KernelStoppable(Stop::Fuel),
        ),
        other(
            "exec.kernel_deadline",
            "kernel with a timeout (never reached)",
            Group::Execution,
            "ms",
            Kind::KernelStoppable(Stop::Deadline),
        ),
        other(
            "exec.timeout_late",
            "endless loop: stopped this long after a 10 ms timeout",
            Group::Execution,
            "µs",
            Kind::TimeoutLateness,
        ),
        other("memory.engine", "engine + compiled guest", Group::Memory, "KiB", Kind::EngineMemory),
        other("memory.instance", "per instance", Group::Memory, "KiB", Kind::InstanceMemory),
        other(
            "memory.engine_address_space",
            "address space reserved: engine + compiled guest (VmSize)",
            Group::Memory,
            "KiB",
            Kind::EngineAddressSpace,
        ),
        other(
            "memory.instance_address_space",
            "address space reserved per instance (VmSize)",
            Group::Memory,
            "KiB",
            Kind::InstanceAddressSpace,
        ),
    ]);
    specs
}

/// The key of the `answer.kv_get` row: 16 bytes, in the demo store.
const KV_BENCH_KEY: &str = "user 1234567890";

/// `16 B`, `4 KiB`, `64 KiB`.
pub(crate) fn bytes(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) { format!("{} KiB", size / 1024) } else { format!("{size} B") }
}

/// Budgets of one run.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Budget {
    /// How long one timed loop should run, at least.
    pub(crate) target: Duration,
    /// `kernel`'s argument.
    pub(crate) kernel_limit: u32,
    /// Instances per memory probe.
    pub(crate) memory_instances: usize,
    /// The workloads' inputs are their full size ([`Workload::full_size`]) divided by this.
    pub(crate) workload_divisor: usize,
}

impl Budget {
    /// The input size of `workload` in this run.
    pub(crate) fn workload_size(&self, workload: Workload) -> usize {
        (workload.full_size() / self.workload_divisor.max(1)).max(1)
    }
}

/// The same tier set up to stop a guest (a fuel limit, a timeout), with a module loaded on it.
pub(crate) struct Stoppable {
    pub(crate) engine: Box<dyn DynEngine>,
    pub(crate) module: LoadedModule,
}

impl Stoppable {
    /// `engine` (`None`: the runtime cannot stop a guest that way) with `bytes` loaded.
    pub(crate) fn new(engine: Option<Box<dyn DynEngine>>, bytes: &[u8]) -> Result<Option<Stoppable>> {
        let Some(engine) = engine else { return Ok(None) };
        let module = engine.load_module(bytes).map_err(|f| anyhow::anyhow!("{f}"))?;
        Ok(Some(Stoppable { engine, module }))
    }
}

/// A column's stoppable engines: the guest under a fuel limit and under a timeout (the kernel),
/// and the bench module under a short timeout (how late a timeout stops it). `None` where the
/// runtime cannot stop a guest that way (or, for the lateness, on a component).
#[derive(Default)]
pub(crate) struct Stoppables {
    pub(crate) fuel: Option<Stoppable>,
    pub(crate) deadline: Option<Stoppable>,
    pub(crate) lateness: Option<Stoppable>,
}

/// One column's state: its engine, the loaded guest, a long-lived instance of the bench module
/// (or component), and the loop counts found by calibration.
pub(crate) struct Runner<'e> {
    pub(crate) engine: &'e dyn DynEngine,
    stoppables: Stoppables,
    guest_bytes: &'static [u8],
    guest: LoadedModule,
    /// The workloads guest, where the guest is a core module.
    workloads: Option<LoadedModule>,
    /// Whether the guest is a component (its exports are named in kebab-case).
    component: bool,
    bench_instance: Box<dyn Instance>,
    calibrated: std::collections::HashMap<String, i32>,
    precompiled_path: std::path::PathBuf,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

impl<'e> Runner<'e> {
    pub(crate) fn new(engine: &'e dyn DynEngine, stoppables: Stoppables, out_dir: &Path) -> Result<Self> {
        let fail = |what: &str| format!("{}/{}: {what}", engine.name(), engine.tier());
        let guest_bytes = engine.default_guest();
        let component = guest_bytes != guest_wasm::GUEST_WASM;
        let guest =
            engine.load_module(guest_bytes).map_err(|f| anyhow::anyhow!("{f}")).with_context(|| fail("guest"))?;
        let bench = if component { BENCH_COMPONENT_WAT } else { BENCH_WAT };
        let bench =
            engine.load_module(bench.as_bytes()).map_err(|f| anyhow::anyhow!("{f}")).with_context(|| fail("bench"))?;
        let bench_instance = engine.instantiate_module(&bench, Sink::Discard).map_err(|f| anyhow::anyhow!("{f}"))?;
        let workloads = (!component)
            .then(|| engine.load_module(guest_wasm::GUEST_WORKLOADS))
            .transpose()
            .map_err(|f| anyhow::anyhow!("{f}"))
            .with_context(|| fail("the workloads guest"))?;
        let precompiled_path = out_dir.join(format!("precompiled-{}-{}.bin", engine.name(), engine.tier()));
        Ok(Runner {
            engine,
            stoppables,
            guest_bytes,
            guest,
            workloads,
            component,
            bench_instance,
            calibrated: Default::default(),
            precompiled_path,
        })
    }

    /// Removes the precompiled module file this runner wrote, if any.
    pub(crate) fn clean_up(&self) {
        let _ = std::fs::remove_file(&self.precompiled_path);
    }

    /// The guest's export `name` (core ABI spelling): in kebab-case on a component.
    fn export(&self, name: &'static str) -> std::borrow::Cow<'static, str> {
        if self.component { name.replace('_', "-").into() } else { name.into() }
    }

    /// Runs `loop_EXPORT` once and returns its time.
    fn run_loop(&mut self, export: &str, len: i32, n: i32) -> Result<Duration> {
        let args = [i32::try_from(PAYLOAD_OFFSET).unwrap_or(0), len, n];
        let (result, elapsed) = time(|| self.bench_instance.call(export, &args));
        result.map_err(|f| anyhow::anyhow!("{export}: {f}"))?;
        Ok(elapsed)
    }

    /// The loop count that makes `export` run for at least `target`.
    fn calibrate(&mut self, id: &str, export: &str, len: i32, target: Duration) -> Result<i32> {
        if let Some(&n) = self.calibrated.get(id) {
            return Ok(n);
        }
        let n = calibrate(target, |n| self.run_loop(export, len, n))?;
        self.calibrated.insert(id.to_owned(), n);
        Ok(n)
    }

    /// One sample of `spec`, in its unit.
    pub(crate) fn sample(&mut self, spec: &Spec, budget: &Budget) -> Result<Option<f64>> {
        let e = |f: harness::Failure| anyhow::anyhow!("{}/{}: {f}", self.engine.name(), self.engine.tier());
        Ok(Some(match &spec.kind {
            Kind::Loop { core, component, .. } => {
                let side = if self.component { component } else { core };
                let Some(LoopArgs { export, payload, len }) = side else { return Ok(None) };
                self.bench_instance.write_memory(PAYLOAD_OFFSET, payload).map_err(e)?;
                let n = self.calibrate(&spec.id, export, *len, budget.target)?;
                let empty = self.run_loop(if self.component { "loop-empty" } else { "loop_empty" }, *len, n)?;
                let full = self.run_loop(export, *len, n)?;
                (ns(full) - ns(empty)) / f64::from(n)
            }
            Kind::EnterGuest => {
                let n = 1_000u64.max((budget.target.as_secs_f64() / 50e-9) as u64);
                // The bench module's `noop`, or the component guest's.
                let mut guest_instance;
                let target: &mut dyn Instance = if self.component {
                    guest_instance = self.engine.instantiate_module(&self.guest, Sink::Discard).map_err(e)?;
                    guest_instance.as_mut()
                } else {
                    self.bench_instance.as_mut()
                };
                let (result, elapsed) = time(|| target.call_repeatedly("noop", n));
                result.map_err(e)?;
                ns(elapsed) / n as f64
            }
            Kind::CallWithInput { size } => {
                let input = text_of_size(*size).into_bytes();
                let export = self.export("handle_echo");
                let mut instance = self.engine.instantiate_module(&self.guest, Sink::Discard).map_err(e)?;
                let mut call = || -> Result<()> {
                    let response = instance.call_with_input(&export, black_box(&input)).map_err(e)?;
                    ensure!(matches!(&response, common::Event::Str(s) if s.len() == *size), "handle_echo misbehaves");
                    black_box(response);
                    Ok(())
                };
                call()?;
                let mut n: u32 = 0;
                let start = Instant::now();
                while n < 10 || start.elapsed() < budget.target {
                    call()?;
                    n += 1;
                }
                ns(start.elapsed()) / f64::from(n)
            }
            Kind::Compile => us(self.engine.time_compile(self.guest_bytes).map_err(e)?),
            Kind::Instantiate => {
                let mut times = Vec::new();
                for _ in 0..10 {
                    let (instance, elapsed) = time(|| self.engine.instantiate_module(&self.guest, Sink::Discard));
                    drop(instance.map_err(e)?);
                    times.push(us(elapsed));
                }
                median(&mut times)
            }
            Kind::RequestCycle { size } => {
                let input = text_of_size(*size).into_bytes();
                let export = self.export("handle_echo");
                let mut times = Vec::new();
                for _ in 0..20 {
                    let (response, elapsed) = time(|| {
                        let mut instance = self.engine.instantiate_module(&self.guest, Sink::Discard)?;
                        instance.call_with_input(&export, &input)
                    });
                    let response = response.map_err(e)?;
                    ensure!(matches!(&response, common::Event::Str(s) if s.len() == *size), "handle_echo misbehaves");
                    times.push(us(elapsed));
                }
                median(&mut times)
            }
            Kind::FirstCall => {
                // A fresh module too, so that a lazily compiling tier pays for it here.
                let module = self.engine.load_module(self.guest_bytes).map_err(e)?;
                let mut instance = self.engine.instantiate_module(&module, Sink::Discard).map_err(e)?;
                let (result, elapsed) = time(|| instance.call("hello", &[]));
                ensure!(result.map_err(e)? == Some(4567), "hello returned the wrong value");
                us(elapsed)
            }
            Kind::Precompiled => {
                let Some(reloaded) = self.engine.reload_precompiled(&self.guest, &self.precompiled_path) else {
                    return Ok(None);
                };
                let (module, elapsed) = reloaded.map_err(e)?;
                let mut instance = self.engine.instantiate_module(&module, Sink::Discard).map_err(e)?;
                ensure!(instance.call("hello", &[]).map_err(e)? == Some(4567), "the precompiled guest misbehaves");
                us(elapsed)
            }
            Kind::Kernel => ms(kernel(self.engine, &self.guest, budget)?),
            Kind::Workload { workload, size } => {
                let Some(module) = &self.workloads else { return Ok(None) };
                ms(run_workload(self.engine, module, *workload, *size)?)
            }
            Kind::KernelStoppable(stop) => {
                let stoppable = match stop {
                    Stop::Fuel => &self.stoppables.fuel,
                    Stop::Deadline => &self.stoppables.deadline,
                };
                let Some(Stoppable { engine, module }) = stoppable else { return Ok(None) };
                ms(kernel(engine.as_ref(), module, budget)?)
            }
            Kind::TimeoutLateness => {
                let Some(Stoppable { engine, module }) = &self.stoppables.lateness else { return Ok(None) };
                let mut late = Vec::new();
                for _ in 0..5 {
                    // The deadline counts from the start of instantiation.
                    let (result, elapsed) = time(|| {
                        let mut instance = engine.instantiate_module(module, Sink::Discard)?;
                        instance.call("spin", &[])
                    });
                    let stopped = matches!(&result, Err(f) if f.fault == harness::Fault::Trap(harness::Trap::Timeout));
                    ensure!(
                        stopped,
                        "{}/{}: spin ended with {result:?}, not trap.timeout",
                        engine.name(),
                        engine.tier()
                    );
                    late.push(us(elapsed.saturating_sub(LATENESS_TIMEOUT)));
                }
                median(&mut late)
            }
            Kind::EngineMemory | Kind::InstanceMemory | Kind::EngineAddressSpace | Kind::InstanceAddressSpace => {
                return Ok(None);
            }
        }))
    }
}

/// Times `kernel(limit)` in a new instance of `guest` on `engine`, and checks its result.
fn kernel(engine: &dyn DynEngine, guest: &LoadedModule, budget: &Budget) -> Result<Duration> {
    let e = |f: harness::Failure| anyhow::anyhow!("{}/{}: {f}", engine.name(), engine.tier());
    let limit = i32::try_from(budget.kernel_limit).unwrap_or(i32::MAX);
    let mut instance = engine.instantiate_module(guest, Sink::Discard).map_err(e)?;
    let (result, elapsed) = time(|| instance.call("kernel", &[limit]));
    let got = result.map_err(e)?;
    let want = common::kernel::count_primes(budget.kernel_limit);
    ensure!(
        got == Some(want.cast_signed()),
        "{}/{}: kernel({limit}) returned {got:?}, expected {want}",
        engine.name(),
        engine.tier()
    );
    Ok(elapsed)
}

/// Times `workload_run` of `workload` on `size` bytes in a new instance of the workloads guest
/// on `engine` (after `workload_prepare`, not timed), and checks its digest against the native
/// run's.
fn run_workload(engine: &dyn DynEngine, module: &LoadedModule, workload: Workload, size: usize) -> Result<Duration> {
    let fail =
        |what: String| anyhow::anyhow!("{}/{}: workload {}: {what}", engine.name(), engine.tier(), workload.id());
    let prepared_natively = workload_input(workload, size);
    let want = prepared_natively.digest.clone().with_context(|| format!("workload {} natively", workload.id()))?;
    let input = &prepared_natively.input;
    let mut instance = engine.instantiate_module(module, Sink::Discard).map_err(|f| fail(f.to_string()))?;
    let code = workload.code();
    let size_arg = i32::try_from(size).map_err(|_| fail(format!("size {size} is too large")))?;
    let prepared = instance.call("workload_prepare", &[code, size_arg]).map_err(|f| fail(f.to_string()))?;
    ensure!(
        prepared.and_then(|len| usize::try_from(len).ok()) == Some(input.len()),
        fail(format!("workload_prepare returned {prepared:?}, expected an input of {} bytes", input.len()))
    );
    let (result, elapsed) = time(|| instance.call("workload_run", &[code]));
    let got = result.map_err(|f| fail(f.to_string()))?;
    ensure!(
        got == Some(want.cast_signed()),
        fail(format!("digest {got:?}, expected {} (the native run's)", want.cast_signed()))
    );
    Ok(elapsed)
}

/// A workload's input and its native digest (what the guest's must equal).
struct WorkloadInput {
    input: Vec<u8>,
    digest: Result<u32, workloads::WorkloadError>,
}

/// The input of `workload` on `size` bytes and its native digest, made once per process (not
/// for every sample of every column).
fn workload_input(workload: Workload, size: usize) -> std::sync::Arc<WorkloadInput> {
    type Inputs = std::collections::HashMap<(Workload, usize), std::sync::Arc<WorkloadInput>>;
    static INPUTS: std::sync::Mutex<Option<Inputs>> = std::sync::Mutex::new(None);
    let mut inputs = INPUTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inputs
        .get_or_insert_with(Default::default)
        .entry((workload, size))
        .or_insert_with(|| {
            let input = workload.input(size);
            let digest = workload.run(&input);
            std::sync::Arc::new(WorkloadInput { input, digest })
        })
        .clone()
}

/// The loop count `n` for which `run(n)` takes at least `target`.
pub(crate) fn calibrate(target: Duration, mut run: impl FnMut(i32) -> Result<Duration>) -> Result<i32> {
    let mut n: i32 = 16;
    loop {
        let elapsed = run(n)?;
        if elapsed >= target || n >= i32::MAX / 2 {
            return Ok(n);
        }
        // Aim a little past the target, at most 100x more at once.
        let scale = (target.as_secs_f64() / elapsed.as_secs_f64().max(1e-9) * 1.2).clamp(2.0, 100.0);
        n = (f64::from(n) * scale).min(f64::from(i32::MAX / 2)) as i32;
    }
}

/// One column of the report: takes a sample of each row (none where its scenario does not exist).
pub(crate) trait Sampler {
    /// One sample of `spec`, in its unit.
    fn sample(&mut self, spec: &Spec, budget: &Budget) -> Result<Option<f64>>;
    /// Removes what the column wrote to disk, if anything.
    fn clean_up(&self);
}

impl Sampler for Runner<'_> {
    fn sample(&mut self, spec: &Spec, budget: &Budget) -> Result<Option<f64>> {
        Runner::sample(self, spec, budget)
    }

    fn clean_up(&self) {
        Runner::clean_up(self);
    }
}

/// The native floor of a row: the `common` decoder (or answer) on the same bytes, a copy of the
/// bytes in and out, or the kernel natively.
pub(crate) fn native_sample(spec: &Spec, budget: &Budget) -> Option<f64> {
    match &spec.kind {
        Kind::Loop { core: Some(LoopArgs { payload, len, .. }), import: Some(Import::KvGet), .. } => {
            // The key decoded, looked up in the demo store, the value written after it.
            let mut memory = payload.clone();
            memory.resize(payload.len() + 64 + 4, 0);
            let out = u32::try_from(payload.len()).ok()?;
            let len_ptr = u32::try_from(memory.len() - 4).ok()?;
            let buffer = common::OutputBuffer { ptr: out, cap: len_ptr - out, len_ptr };
            let n = 1_000u32.max((budget.target.as_secs_f64() / 50e-9) as u32);
            let (ok, elapsed) = time(|| {
                (0..n).all(|_| {
                    let memory = black_box(&mut memory);
                    let value =
                        common::answer::kv_key(memory, 0, *len, buffer).ok().and_then(host_imports::DemoStore::value);
                    common::answer::kv_answer(memory, value.as_deref(), buffer).is_ok_and(|s| s == common::Status::Ok)
                })
            });
            ok.then(|| ns(elapsed) / f64::from(n))
        }
        Kind::Loop { core: Some(LoopArgs { payload, len, .. }), import: Some(import), .. } if answers(*import) => {
            // The answer into a buffer after the payload (for the `_alloc` rows, the same answer
            // and copy without the allocator).
            let kind = import.value_kind()?;
            let mut memory = payload.clone();
            let out = u32::try_from(payload.len()).ok()?;
            memory.resize(payload.len() * 2 + 64 + 4, 0);
            let len_ptr = u32::try_from(memory.len() - 4).ok()?;
            let buffer = common::OutputBuffer { ptr: out, cap: len_ptr - out, len_ptr };
            let n = 1_000u32.max((budget.target.as_secs_f64() / 50e-9) as u32);
            let (ok, elapsed) = time(|| {
                (0..n).all(|_| {
                    common::answer::answer_into(kind, black_box(&mut memory), 0, *len, buffer)
                        .is_ok_and(|s| s == common::Status::Ok)
                })
            });
            ok.then(|| ns(elapsed) / f64::from(n))
        }
        Kind::CallWithInput { size } => {
            // The floor: the request copied in and the response copied out.
            let input = text_of_size(*size).into_bytes();
            let n = 1_000u32.max((budget.target.as_secs_f64() / 50e-9) as u32);
            let (_, elapsed) = time(|| {
                for _ in 0..n {
                    let request = black_box(&input).clone();
                    black_box(black_box(request).clone());
                }
            });
            Some(ns(elapsed) / f64::from(n))
        }
        Kind::Loop { core, component, import: Some(import) } => {
            let LoopArgs { payload, len, .. } = core.as_ref().or(component.as_ref())?;
            let memory = payload.as_slice();
            let n = 1_000u32.max((budget.target.as_secs_f64() / 20e-9) as u32);
            let ptr = 0;
            // log_int's argument is the value itself, not an offset.
            let (ptr, len) = if *import == Import::LogInt { (1234, 0) } else { (ptr, *len) };
            let (ok, elapsed) = time(|| {
                (0..n).all(|_| {
                    black_box(decode_value(
                        import.value_kind().unwrap_or(common::ValueKind::Int),
                        black_box(memory),
                        black_box(ptr),
                        black_box(len),
                    ))
                    .is_ok()
                })
            });
            ok.then(|| ns(elapsed) / f64::from(n))
        }
        Kind::Kernel => {
            let (count, elapsed) = time(|| common::kernel::count_primes(black_box(budget.kernel_limit)));
            black_box(count);
            Some(ms(elapsed))
        }
        Kind::Workload { workload, size } => {
            let input = workload_input(*workload, *size);
            let (digest, elapsed) = time(|| workload.run(black_box(&input.input)));
            black_box(digest).ok()?;
            Some(ms(elapsed))
        }
        _ => None,
    }
}

/// The rows of host-side overhead, derived from the host-call rows measured in the same rounds:
/// for each import row with a native floor, per column and round, the call minus the no-op of the
/// same signature minus the native decode (the median of the round's native samples).
pub(crate) fn overhead_rows(specs: &[Spec], rows: &[crate::report::Row]) -> Vec<crate::report::Row> {
    let find = |id: &str| rows.iter().find(|r| r.id == id);
    let mut derived = Vec::new();
    for spec in specs {
        let Kind::Loop { import: Some(import), .. } = &spec.kind else { continue };
        if !spec.id.starts_with("call.log_") {
            continue;
        }
        let noop = if *import == Import::LogInt { "call.noop_i32" } else { "call.noop_i32_i32" };
        let (Some(call), Some(noop)) = (find(&spec.id), find(noop)) else { continue };
        let samples = call
            .samples
            .iter()
            .map(|(label, calls)| {
                let noops = noop.samples.get(label);
                let per_round = calls
                    .iter()
                    .enumerate()
                    .map(|(round, c)| {
                        let n = noops.and_then(|n| n.get(round).copied().flatten())?;
                        let native = call.native.get(round)?;
                        Some(c.as_ref()? - n - native)
                    })
                    .collect();
                (label.clone(), per_round)
            })
            .collect();
        derived.push(crate::report::Row {
            id: spec.id.replacen("call.", "overhead.", 1),
            title: spec.title.clone(),
            group: Group::Overhead,
            unit: spec.unit.to_owned(),
            samples,
            native: Vec::new(),
        });
    }
    derived
}

/// The rows whose geometric mean [`geomean_row`] takes: the kernel and every workload.
pub(crate) fn is_workload_row(id: &str) -> bool {
    id == "exec.kernel" || id.starts_with("exec.workload.")
}

/// The geometric mean of the kernel and the workloads, each as a multiple of its native time,
/// per column and round (as wasmi-benchmarks summarises its workloads): one figure of execution
/// speed per runtime/tier. `None` in a round where a column lacks one of them.
pub(crate) fn geomean_row(rows: &[crate::report::Row]) -> Option<crate::report::Row> {
    let parts: Vec<&crate::report::Row> = rows.iter().filter(|r| is_workload_row(&r.id)).collect();
    let first = parts.first()?;
    let count = parts.len() as f64;
    let samples = first
        .samples
        .keys()
        .map(|label| {
            let rounds = first.samples.get(label).map_or(0, Vec::len);
            let per_round = (0..rounds)
                .map(|round| {
                    let logs = parts
                        .iter()
                        .map(|row| {
                            let sample = row.samples.get(label)?.get(round).copied().flatten()?;
                            let native = row.native.get(round).copied()?;
                            let ratio = sample / native;
                            (ratio.is_finite() && ratio > 0.0).then(|| ratio.ln())
                        })
                        .collect::<Option<Vec<f64>>>()?;
                    Some((logs.iter().sum::<f64>() / count).exp())
                })
                .collect();
            (label.clone(), per_round)
        })
        .collect();
    Some(crate::report::Row {
        id: "exec.geomean".to_owned(),
        title: format!("geometric mean of the kernel and {} workloads, × native", parts.len() - 1),
        group: Group::Execution,
        unit: "× native".to_owned(),
        samples,
        native: Vec::new(),
    })
}

/// Whether `import` answers into guest memory (a buffer, or the guest's allocator).
const fn answers(import: Import) -> bool {
    matches!(
        import,
        Import::AnswerStr
            | Import::AnswerAb
            | Import::AnswerCd
            | Import::AnswerStrAlloc
            | Import::AnswerAbAlloc
            | Import::AnswerCdAlloc
    )
}

/// The median of `values` (sorted in place); NaN for none.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The process's resident set size and virtual size (address space), in KiB (Linux
/// `/proc/self/status`: `VmRSS`, `VmSize`).
pub(crate) fn rss_and_vm_kib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmSize:")?))
}

/// What the memory probe measured, in KiB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryProbe {
    /// Resident memory a new engine with the guest compiled adds.
    pub(crate) engine_kib: f64,
    /// Resident memory per instance.
    pub(crate) instance_kib: f64,
    /// Address space a new engine with the guest compiled reserves.
    pub(crate) engine_vm_kib: f64,
    /// Address space reserved per instance.
    pub(crate) instance_vm_kib: f64,
}

/// Run in a fresh process (`compare --memory-probe RUNTIME/TIER`): the resident memory and
/// address space a new engine with the guest compiled adds, and those per instance of
/// `instances` instances kept alive.
pub(crate) fn memory_probe(
    runtime: &str,
    tier: &str,
    config: &harness::Config,
    instances: usize,
) -> Result<MemoryProbe> {
    #[cfg(feature = "peers")]
    if runtime == crate::extism::NAME {
        return crate::extism::memory_probe(instances);
    }
    let e = |f: harness::Failure| anyhow::anyhow!("{f}");
    let tier = runtimes::one_tier(runtime, tier, config).or_else(|| {
        (runtime == COMPONENTS.name)
            .then(|| runtimes::tiers_of(&COMPONENTS, config))
            .and_then(|tiers| tiers.into_iter().find(|t| t.tier == tier))
    });
    let tier = tier.context("no such tier")?;
    measure_memory(
        || {
            let engine = tier.engine.map_err(e)?;
            let module = engine.load_module(engine.default_guest()).map_err(e)?;
            Ok((engine, module))
        },
        |(engine, module)| {
            let mut instance = engine.instantiate_module(module, Sink::Discard).map_err(e)?;
            ensure!(instance.call("hello", &[]).map_err(e)? == Some(4567), "hello misbehaves");
            Ok(instance)
        },
        instances,
    )
}

/// The memory an engine (`setup`: the engine with the guest compiled) adds, and then each of
/// `instances` instances (`instantiate`: an instance that has run `hello`), kept alive; the
/// first instance counts with the engine (what it allocates once is not per instance).
pub(crate) fn measure_memory<E, I>(
    setup: impl FnOnce() -> Result<E>,
    mut instantiate: impl FnMut(&E) -> Result<I>,
    instances: usize,
) -> Result<MemoryProbe> {
    let base = rss_and_vm_kib().context("no /proc/self/status")?;
    let engine = setup()?;
    let first = instantiate(&engine)?;
    let with_engine = rss_and_vm_kib().context("no /proc/self/status")?;
    let kept = (0..instances).map(|_| instantiate(&engine)).collect::<Result<Vec<_>>>()?;
    let with_instances = rss_and_vm_kib().context("no /proc/self/status")?;
    drop((kept, first));
    let count = instances.max(1) as f64;
    Ok(MemoryProbe {
        engine_kib: with_engine.0 - base.0,
        instance_kib: (with_instances.0 - with_engine.0) / count,
        engine_vm_kib: with_engine.1 - base.1,
        instance_vm_kib: (with_instances.1 - with_engine.1) / count,
    })
}
