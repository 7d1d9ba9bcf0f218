//! The one trait every runtime implements, and the run that drives any of them the same way.

use std::any::Any;
use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Event, HANDLER_PARAMS, HANDLER_RESULTS, ValType};

use crate::fault::{Failure, Fault, Trap};
use crate::limits::Config;
use crate::shape::{ModuleShape, signature};
use host_imports::{BoxFuture, Recorder, Sink};

/// A WebAssembly runtime set up to run guests of the ABI: the shape of every host crate.
///
/// An engine is shared (compile once, instantiate from many threads); each instance has a store
/// of its own. Implementations map every error of their runtime to a runtime-neutral
/// [`Failure`], so that callers never see runtime types.
pub trait Engine: Sized + Send + Sync {
    /// The runtime's name, as printed: `wasmtime`, `wasmer`, `wasmi`, `tinywasm`, `submilli`, `dlr`, `wamr`, `wasm3`.
    const NAME: &'static str;
    /// The compiler tiers this host offers (see [`Config::tier`]), the runtime's default first.
    const TIERS: &'static [&'static str];
    /// The runtime's crate on crates.io (for the version a report prints).
    const CRATE: &'static str = Self::NAME;
    /// Whether the runtime can stop a guest when its fuel ([`crate::Limits::fuel`]) runs out. A
    /// runtime that cannot (no instruction metering, no interruption) cannot stop an endless loop:
    /// its [`Engine::new`] refuses a configuration with fuel ([`Fault::Setup`]), and it is unfit
    /// for untrusted guests.
    const METERS_FUEL: bool = true;
    /// Whether the runtime can stop a guest by the clock ([`crate::Limits::timeout`]). A runtime
    /// that cannot refuses a configuration with a timeout ([`Fault::Setup`]).
    const STOPS_ON_DEADLINE: bool = false;
    /// The tier to use in a process with little address space (RLIMIT_AS, `ulimit -v`): `None`
    /// when every tier runs there, else the one that does (wasmtime and wasmer reserve 4 GiB and
    /// more of address space per linear memory on their other tiers, and fail to instantiate
    /// there with [`Fault::HostResources`]).
    const SMALL_ADDRESS_SPACE_TIER: Option<&'static str> = None;
    /// The guest the host binary runs without `--guest`: the core guest ([`guest_wasm::GUEST_WASM`]),
    /// or the component guest on a host of components.
    const DEFAULT_GUEST: &'static [u8] = guest_wasm::GUEST_WASM;
    /// A compiled module.
    type Module: Clone + Send + Sync;
    /// An instance with its own store, its imports bound and its memory looked up.
    type Instance: Instance;

    /// An engine set up as `config` says: its tier, its limits on every instance it makes.
    fn new(config: &Config) -> Result<Self, Failure>;

    /// The tier this engine compiles with, one of [`Engine::TIERS`].
    fn tier(&self) -> &'static str;

    /// Compiles (and validates) a binary module.
    fn compile(&self, wasm: &[u8]) -> Result<Self::Module, Failure>;

    /// What the module imports and exports, as this runtime sees it.
    fn shape(&self, module: &Self::Module) -> ModuleShape;

    /// Instantiates a module whose shape passed [`ModuleShape::check_abi`], binding the four
    /// imports. Events go to `sink`.
    fn instantiate(&self, module: &Self::Module, sink: Sink) -> Result<Self::Instance, Failure>;

    /// The configuration this engine was made with.
    fn config(&self) -> &Config;

    /// [`Engine::compile`], then the ABI and limit checks: a module this returns can be
    /// instantiated. Returns its shape too.
    fn load(&self, wasm: &[u8]) -> Result<(Self::Module, ModuleShape), Failure> {
        let module = self.compile(wasm)?;
        let shape = self.shape(&module);
        shape.check_abi(self.config().bench_imports).map_err(Fault::Link)?;
        shape.check_limits(&self.config().limits)?;
        Ok((module, shape))
    }

    /// The most instances this engine can hold at once, if it has a bound of its own (wasmtime's
    /// pooling allocator has so many slots): past it, instantiation fails with
    /// [`Fault::HostResources`]. A server keeps its instances under it.
    fn max_instances(&self) -> Option<usize> {
        None
    }

    /// Whether this engine's tier runs guests as futures ([`Engine::call_with_input_async`]): a
    /// `kv_get` lookup suspends the guest and frees the thread until the value comes, and a guest
    /// that computes for long yields to the executor now and then. Its synchronous methods still
    /// work (they wait for the future on the calling thread), so that every test runs on it.
    fn is_async(&self) -> bool {
        false
    }

    /// On an async tier ([`Engine::is_async`]): a new instance of `module` (which
    /// [`Engine::load`] returned, and whose `export` passed [`check_handler`]), its handler
    /// `export` called with `input` ([`Instance::call_with_input`]), as a future to await on a
    /// tokio runtime with time enabled. `None` on a synchronous tier. (Through [`DynEngine`], the
    /// future also ends with [`Trap::Timeout`] when the timeout passes while the guest waits.)
    fn call_with_input_async<'a>(
        &'a self,
        module: &'a Self::Module,
        export: &'a str,
        input: &'a [u8],
        sink: Sink,
    ) -> Option<BoxFuture<'a, Result<Event<'static>, Failure>>> {
        let _ = (module, export, input, sink);
        None
    }

    /// Saves `module`, compiled, to `path` and loads it back, timing the load alone: start-up
    /// from a precompiled module. `None` where the runtime cannot (an interpreter).
    fn reload_precompiled(
        &self,
        module: &Self::Module,
        path: &Path,
    ) -> Option<Result<(Self::Module, Duration), Failure>> {
        let _ = (module, path);
        None
    }
}

/// One instance of a guest.
pub trait Instance {
    /// Calls the exported function `name` with `i32` arguments; it returns nothing or one `i32`.
    ///
    /// The caller has checked the export's signature ([`check_export`]); a runtime error for a
    /// mismatch is still mapped, never a panic.
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure>;

    /// Writes `bytes` into the guest's memory at `offset` (for tests and benchmarks that set up
    /// guest data from the host). Fails with [`Fault::Runtime`] if the range is out of bounds.
    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure>;

    /// A copy of the guest's whole memory (for tests that compare it byte for byte).
    fn read_memory(&mut self) -> Result<Vec<u8>, Failure>;

    /// Calls the exported function `name`, of type `() -> ()`, `times` times through a typed
    /// handle looked up once: the cost of a call from the host into the guest.
    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure>;

    /// The instance's [`Recorder`] (in its store).
    fn recorder(&self) -> &Recorder;

    /// The instance's [`Recorder`], mutably.
    fn recorder_mut(&mut self) -> &mut Recorder;

    /// The events recorded so far (with [`Sink::Record`]), oldest first.
    fn take_events(&mut self) -> Vec<Event<'static>> {
        self.recorder_mut().take_events()
    }

    /// How many import calls succeeded so far, recorded or not.
    fn event_count(&self) -> u64 {
        self.recorder().count()
    }

    /// Calls the exported function `name`, of type `(request_len: i32) -> (status: i32)`, with
    /// `input` as its request, and returns the guest's response.
    ///
    /// The host keeps the request; the guest copies it into its own memory with `request_read`
    /// and hands back one response with `respond_str`, `respond_ab` or `respond_cd`, then
    /// returns 0. A status other than 0 is [`Fault::GuestStatus`]; 0 without a response is
    /// [`Fault::NoResponse`]. The call's state is cleared however it ends, so the instance can
    /// be called again. The caller has checked the export's signature ([`check_handler`]).
    fn call_with_input(&mut self, name: &str, input: &[u8]) -> Result<Event<'static>, Failure> {
        let len = begin_request(self.recorder_mut(), input)?;
        let outcome = self.call_handler(name, len);
        end_request(self.recorder_mut(), name, outcome)
    }

    /// Calls the handler `name` (`(request_len: i32) -> (status: i32)`, its signature checked by
    /// the caller) with `request_len`, for [`Instance::call_with_input`]. The default is
    /// [`Instance::call`]; a host may keep the handler's typed handle from one call to the next,
    /// so that a call does not look the export up and check its type again.
    fn call_handler(&mut self, name: &str, request_len: i32) -> Result<Option<i32>, Failure> {
        self.call(name, &[request_len])
    }
}

/// The handler an instance called last, by name, with its handle ([`Instance::call_handler`]):
/// the next call of the same handler neither looks the export up nor checks its type again.
#[derive(Debug)]
pub struct HandlerCache<F>(Option<(Box<str>, F)>);

impl<F> Default for HandlerCache<F> {
    fn default() -> Self {
        HandlerCache(None)
    }
}

impl<F: Clone> HandlerCache<F> {
    /// The handle of the handler `name`: the kept one if it is `name`'s, else what `lookup`
    /// finds (kept for the next call); `None` if `lookup` finds no handler of that name.
    pub fn get(&mut self, name: &str, lookup: impl FnOnce() -> Option<F>) -> Option<F> {
        if let Some((kept, handle)) = &self.0
            && **kept == *name
        {
            return Some(handle.clone());
        }
        let handle = lookup()?;
        self.0 = Some((name.into(), handle.clone()));
        Some(handle)
    }
}

/// The start of [`Instance::call_with_input`] (for an instance whose calls are futures too): the
/// request kept in `recorder`. Returns the handler's argument, the request's length.
pub fn begin_request(recorder: &mut Recorder, input: &[u8]) -> Result<i32, Failure> {
    let len = i32::try_from(input.len()).map_err(|_| Fault::InputTooLarge { len: input.len() })?;
    recorder.begin_call(input);
    Ok(len)
}

/// The end of [`Instance::call_with_input`], once the handler `name` returned `outcome`: the
/// response, or why there is none. The call's state in `recorder` is cleared either way.
pub fn end_request(
    recorder: &mut Recorder,
    name: &str,
    outcome: Result<Option<i32>, Failure>,
) -> Result<Event<'static>, Failure> {
    let response = recorder.end_call();
    match outcome? {
        Some(0) => response.ok_or_else(|| Fault::NoResponse { export: name.to_owned() }.into()),
        Some(status) => Err(Fault::GuestStatus { export: name.to_owned(), status }.into()),
        None => Err(Fault::ExportSignature {
            name: name.to_owned(),
            found: "a function without a result".into(),
            expected: signature(&HANDLER_PARAMS, &HANDLER_RESULTS),
        }
        .into()),
    }
}

/// What a run did: the events the guest logged, then how its call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Each successful import call, in order, including those before a fault.
    pub events: Vec<Event<'static>>,
    /// The response of a call with input, if it returned one.
    pub response: Option<Event<'static>>,
    /// The call's result (`None` for an export with no result), or why it failed.
    pub outcome: Result<Option<i32>, Failure>,
}

impl Report {
    /// A report of a run that failed before the guest ran.
    pub fn failed(failure: Failure) -> Self {
        Report { events: Vec::new(), response: None, outcome: Err(failure) }
    }

    /// The output lines: one per event, then the response of a call with input, then one for
    /// the outcome. This is the format every host binary prints, byte for byte:
    ///
    /// ```text
    /// int 1234
    /// str "Hello World!"
    /// response str "Hello, Wasm!"            (a call with input: its response)
    /// returned 4567                          (or `returned` for no result)
    /// failed trap.unreachable: the guest executed `unreachable`
    /// ```
    ///
    /// The outcome line holds only runtime-neutral text; the runtime's own words, if any, are in
    /// [`Failure::detail`].
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.events.iter().map(ToString::to_string).collect();
        lines.extend(self.response.iter().map(|r| format!("response {r}")));
        lines.push(outcome_line(&self.outcome));
        lines
    }
}

/// The outcome's output line.
pub fn outcome_line(outcome: &Result<Option<i32>, Failure>) -> String {
    match outcome {
        Ok(Some(value)) => format!("returned {value}"),
        Ok(None) => "returned".to_owned(),
        Err(failure) => format!("failed {}: {}", failure.fault.kind(), failure.fault),
    }
}

/// Checks that `name` is an exported function taking `arg_count` `i32`s and returning nothing or
/// one `i32`.
pub fn check_export(shape: &ModuleShape, name: &str, arg_count: usize) -> Result<(), Fault> {
    let Some((params, results)) = shape.function(name) else {
        return Err(Fault::MissingExport { name: name.to_owned(), available: shape.functions() });
    };
    let wanted = vec![ValType::I32; arg_count];
    if params != wanted.as_slice() || results.len() > 1 || results.iter().any(|r| *r != ValType::I32) {
        return Err(Fault::ExportSignature {
            name: name.to_owned(),
            found: signature(params, results),
            expected: format!("{} or {}", signature(&wanted, &[]), signature(&wanted, &[ValType::I32])),
        });
    }
    Ok(())
}

/// Checks that `name` is an exported function the host can call with input: `(i32) -> (i32)`.
pub fn check_handler(shape: &ModuleShape, name: &str) -> Result<(), Fault> {
    let Some((params, results)) = shape.function(name) else {
        return Err(Fault::MissingExport { name: name.to_owned(), available: shape.functions() });
    };
    if params != HANDLER_PARAMS || results != HANDLER_RESULTS {
        return Err(Fault::ExportSignature {
            name: name.to_owned(),
            found: signature(params, results),
            expected: signature(&HANDLER_PARAMS, &HANDLER_RESULTS),
        });
    }
    Ok(())
}

/// The binary module in `bytes`: binary modules as they are, text modules (`.wat`) parsed.
pub fn module_bytes(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Failure> {
    wat::parse_bytes(bytes).map_err(|e| {
        // The text parser's message spans several lines (message, location, source excerpt);
        // keep the message and the location.
        let text = e.to_string();
        let detail: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
        Failure::with_detail(Fault::InvalidModule, detail.join(" "))
    })
}

/// Runs `export` of a module [`Engine::load`] returned (with its shape) in a new instance,
/// recording events.
pub fn run_module<E: Engine>(
    engine: &E,
    module: &E::Module,
    shape: &ModuleShape,
    export: &str,
    args: &[i32],
) -> Report {
    let mut instance = match check_export(shape, export, args.len())
        .map_err(Failure::new)
        .and_then(|()| engine.instantiate(module, Sink::Record))
    {
        Ok(instance) => instance,
        Err(failure) => return Report::failed(failure),
    };
    let outcome = instance.call(export, args);
    Report { events: instance.take_events(), response: None, outcome }
}

/// Calls `export` of a module [`Engine::load`] returned (with its shape) with `input`, in a new
/// instance, recording events: [`Instance::call_with_input`].
pub fn run_module_with_input<E: Engine>(
    engine: &E,
    module: &E::Module,
    shape: &ModuleShape,
    export: &str,
    input: &[u8],
) -> Report {
    let mut instance = match check_handler(shape, export)
        .map_err(Failure::new)
        .and_then(|()| engine.instantiate(module, Sink::Record))
    {
        Ok(instance) => instance,
        Err(failure) => return Report::failed(failure),
    };
    let (response, outcome) = call_as_run(&mut instance, export, Some(input));
    Report { events: instance.take_events(), response, outcome }
}

/// Runs `export` of the module in `bytes` (binary or text) on `engine`: parse, compile, check
/// against the ABI, instantiate, call. Every failure ends up in [`Report::outcome`].
pub fn run<E: Engine>(engine: &E, bytes: &[u8], export: &str, args: &[i32]) -> Report {
    match module_bytes(bytes).and_then(|wasm| engine.load(&wasm)) {
        Ok((module, shape)) => run_module(engine, &module, &shape, export, args),
        Err(failure) => Report::failed(failure),
    }
}

/// [`run`], calling `export` with `input` ([`Instance::call_with_input`]) instead of no arguments.
pub fn run_with_input<E: Engine>(engine: &E, bytes: &[u8], export: &str, input: &[u8]) -> Report {
    match module_bytes(bytes).and_then(|wasm| engine.load(&wasm)) {
        Ok((module, shape)) => run_module_with_input(engine, &module, &shape, export, input),
        Err(failure) => Report::failed(failure),
    }
}

/// A module loaded by a [`DynEngine`]: the engine's own module type, type-erased.
pub struct LoadedModule {
    module: Box<dyn Any + Send + Sync>,
    shape: ModuleShape,
}

impl LoadedModule {
    /// The module's imports and exports.
    pub fn shape(&self) -> &ModuleShape {
        &self.shape
    }
}

/// An [`Engine`] behind a trait object, for code that loops over runtimes.
pub trait DynEngine: Send + Sync {
    /// [`Engine::NAME`].
    fn name(&self) -> &'static str;

    /// [`Engine::tier`].
    fn tier(&self) -> &'static str;

    /// [`Engine::METERS_FUEL`].
    fn meters_fuel(&self) -> bool;

    /// [`Engine::is_async`].
    fn is_async(&self) -> bool;

    /// [`Engine::max_instances`].
    fn max_instances(&self) -> Option<usize>;

    /// [`Engine::call_with_input_async`] on a loaded module: `None` on a synchronous tier.
    fn call_with_input_async<'a>(
        &'a self,
        module: &'a LoadedModule,
        export: &'a str,
        input: &'a [u8],
        sink: Sink,
    ) -> Option<BoxFuture<'a, Result<Event<'static>, Failure>>>;

    /// [`Engine::STOPS_ON_DEADLINE`].
    fn stops_on_deadline(&self) -> bool;

    /// [`Engine::DEFAULT_GUEST`]: the core guest, or the component guest on a host of components.
    fn default_guest(&self) -> &'static [u8];

    /// How long [`Engine::compile`] takes on `wasm` (a binary module), timed around the call alone.
    fn time_compile(&self, wasm: &[u8]) -> Result<Duration, Failure>;

    /// A new instance of `module`, behind a trait object.
    fn instantiate_module(&self, module: &LoadedModule, sink: Sink) -> Result<Box<dyn Instance>, Failure>;

    /// [`Engine::reload_precompiled`].
    fn reload_precompiled(
        &self,
        module: &LoadedModule,
        path: &Path,
    ) -> Option<Result<(LoadedModule, Duration), Failure>>;

    /// [`run`] on this engine.
    fn run(&self, bytes: &[u8], export: &str, args: &[i32]) -> Report;

    /// [`run_with_input`] on this engine.
    fn run_with_input(&self, bytes: &[u8], export: &str, input: &[u8]) -> Report;

    /// Parses, compiles and checks a module once, to run it many times with [`DynEngine::run_calls`].
    fn load_module(&self, bytes: &[u8]) -> Result<LoadedModule, Failure>;

    /// In a new instance of `module`: writes each `(offset, bytes)` into memory, then calls
    /// `export` once per argument list, stopping at the first failure. The report's outcome is
    /// that failure, or the last call's result.
    fn run_calls(&self, module: &LoadedModule, writes: &[(u32, &[u8])], export: &str, calls: &[Vec<i32>]) -> Report;

    /// [`DynEngine::run_calls`], then a copy of the guest's whole memory as the calls left it.
    fn run_calls_then_read(
        &self,
        module: &LoadedModule,
        writes: &[(u32, &[u8])],
        export: &str,
        calls: &[Vec<i32>],
    ) -> (Report, Result<Vec<u8>, Failure>);

    /// In a new instance of `module`: calls `export` with `input` as its request
    /// ([`Instance::call_with_input`]), or with no arguments if there is none.
    fn run_loaded(&self, module: &LoadedModule, export: &str, input: Option<&[u8]>) -> Report;

    /// In a new instance of `module`: calls `export` (with `input` as its request, if given), then,
    /// however that ended, the export `after` (no parameters) in the same instance, to look at
    /// what the first call left behind (e.g. canary bytes). Returns both outcomes.
    fn run_then(
        &self,
        module: &LoadedModule,
        export: &str,
        input: Option<&[u8]>,
        after: &str,
    ) -> (Report, Result<Option<i32>, Failure>);
}

impl<E: Engine> DynEngine for E
where
    E::Module: 'static,
    E::Instance: 'static,
{
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn tier(&self) -> &'static str {
        Engine::tier(self)
    }

    fn meters_fuel(&self) -> bool {
        E::METERS_FUEL
    }

    fn is_async(&self) -> bool {
        Engine::is_async(self)
    }

    fn max_instances(&self) -> Option<usize> {
        Engine::max_instances(self)
    }

    fn call_with_input_async<'a>(
        &'a self,
        module: &'a LoadedModule,
        export: &'a str,
        input: &'a [u8],
        sink: Sink,
    ) -> Option<BoxFuture<'a, Result<Event<'static>, Failure>>> {
        if !Engine::is_async(self) {
            return None;
        }
        let call = match downcast::<E>(module) {
            Ok(typed) => Engine::call_with_input_async(self, typed, export, input, sink)?,
            Err(failure) => return Some(Box::pin(std::future::ready(Err(failure)))),
        };
        // The runtime stops a guest that runs past its deadline; this also ends a call that is
        // waiting (for a `kv_get` lookup, say) when the deadline comes.
        let Some(timeout) = self.config().limits.timeout else { return Some(call) };
        Some(Box::pin(async move {
            tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| Err(Failure::new(Fault::Trap(Trap::Timeout))))
        }))
    }

    fn stops_on_deadline(&self) -> bool {
        E::STOPS_ON_DEADLINE
    }

    fn default_guest(&self) -> &'static [u8] {
        E::DEFAULT_GUEST
    }

    fn time_compile(&self, wasm: &[u8]) -> Result<Duration, Failure> {
        let start = Instant::now();
        let module = self.compile(wasm)?;
        let elapsed = start.elapsed();
        drop(module);
        Ok(elapsed)
    }

    fn instantiate_module(&self, module: &LoadedModule, sink: Sink) -> Result<Box<dyn Instance>, Failure> {
        let typed = downcast::<E>(module)?;
        Ok(Box::new(self.instantiate(typed, sink)?))
    }

    fn reload_precompiled(
        &self,
        module: &LoadedModule,
        path: &Path,
    ) -> Option<Result<(LoadedModule, Duration), Failure>> {
        let typed = match downcast::<E>(module) {
            Ok(typed) => typed,
            Err(failure) => return Some(Err(failure)),
        };
        let reloaded = Engine::reload_precompiled(self, typed, path)?;
        Some(reloaded.map(|(module, elapsed)| {
            let shape = self.shape(&module);
            (LoadedModule { module: Box::new(module), shape }, elapsed)
        }))
    }

    fn run(&self, bytes: &[u8], export: &str, args: &[i32]) -> Report {
        run(self, bytes, export, args)
    }

    fn run_with_input(&self, bytes: &[u8], export: &str, input: &[u8]) -> Report {
        run_with_input(self, bytes, export, input)
    }

    fn load_module(&self, bytes: &[u8]) -> Result<LoadedModule, Failure> {
        let (module, shape) = self.load(&module_bytes(bytes)?)?;
        Ok(LoadedModule { module: Box::new(module), shape })
    }

    fn run_calls(&self, module: &LoadedModule, writes: &[(u32, &[u8])], export: &str, calls: &[Vec<i32>]) -> Report {
        match calls_in_new_instance::<E>(self, module, writes, export, calls) {
            Ok((_, report)) => report,
            Err(failure) => Report::failed(failure),
        }
    }

    fn run_calls_then_read(
        &self,
        module: &LoadedModule,
        writes: &[(u32, &[u8])],
        export: &str,
        calls: &[Vec<i32>],
    ) -> (Report, Result<Vec<u8>, Failure>) {
        match calls_in_new_instance::<E>(self, module, writes, export, calls) {
            Ok((mut instance, report)) => (report, instance.read_memory()),
            Err(failure) => (Report::failed(failure.clone()), Err(failure)),
        }
    }

    fn run_loaded(&self, module: &LoadedModule, export: &str, input: Option<&[u8]>) -> Report {
        let checked = match input {
            Some(_) => check_handler(&module.shape, export),
            None => check_export(&module.shape, export, 0),
        };
        let instance = checked
            .map_err(Failure::new)
            .and_then(|()| downcast::<E>(module))
            .and_then(|typed| self.instantiate(typed, Sink::Record));
        let mut instance = match instance {
            Ok(instance) => instance,
            Err(failure) => return Report::failed(failure),
        };
        let (response, outcome) = call_as_run(&mut instance, export, input);
        Report { events: instance.take_events(), response, outcome }
    }

    fn run_then(
        &self,
        module: &LoadedModule,
        export: &str,
        input: Option<&[u8]>,
        after: &str,
    ) -> (Report, Result<Option<i32>, Failure>) {
        let mut instance = match downcast::<E>(module).and_then(|typed| self.instantiate(typed, Sink::Record)) {
            Ok(instance) => instance,
            Err(failure) => return (Report::failed(failure.clone()), Err(failure)),
        };
        let (response, outcome) = call_as_run(&mut instance, export, input);
        let report = Report { events: instance.take_events(), response, outcome };
        (report, instance.call(after, &[]))
    }
}

/// [`DynEngine::run_calls`]: in a new instance of `module`, the writes, then the calls, stopping at
/// the first failure. Returns the instance (for a look at its memory) with the report, or why there
/// is no instance.
fn calls_in_new_instance<E: Engine>(
    engine: &E,
    module: &LoadedModule,
    writes: &[(u32, &[u8])],
    export: &str,
    calls: &[Vec<i32>],
) -> Result<(E::Instance, Report), Failure>
where
    E::Module: 'static,
{
    let mut instance = engine.instantiate(downcast::<E>(module)?, Sink::Record)?;
    for (offset, bytes) in writes {
        instance.write_memory(*offset, bytes)?;
    }
    let mut outcome = Ok(None);
    for args in calls {
        outcome = check_export(&module.shape, export, args.len())
            .map_err(Failure::new)
            .and_then(|()| instance.call(export, args));
        if outcome.is_err() {
            break;
        }
    }
    let report = Report { events: instance.take_events(), response: None, outcome };
    Ok((instance, report))
}

/// Calls `export` of `instance` the way a run does: with `input` as its request, or with no
/// arguments. Returns the response and the outcome.
fn call_as_run(
    instance: &mut dyn Instance,
    export: &str,
    input: Option<&[u8]>,
) -> (Option<Event<'static>>, Result<Option<i32>, Failure>) {
    match input {
        Some(input) => match instance.call_with_input(export, input) {
            Ok(response) => (Some(response), Ok(Some(0))),
            Err(failure) => (None, Err(failure)),
        },
        None => (None, instance.call(export, &[])),
    }
}

/// The engine's own module type inside a [`LoadedModule`].
fn downcast<E: Engine>(module: &LoadedModule) -> Result<&E::Module, Failure>
where
    E::Module: 'static,
{
    module.module.downcast_ref::<E::Module>().ok_or_else(|| {
        Failure::with_detail(Fault::Runtime, format!("the module was loaded by another engine than {}", E::NAME))
    })
}

/// What every host's [`Engine::new`] does first: refuses limits the runtime cannot enforce (a fuel
/// limit without [`Engine::METERS_FUEL`], a timeout without [`Engine::STOPS_ON_DEADLINE`]), and
/// returns the tier `config` asks for, checked against [`Engine::TIERS`] (the first is the
/// default). Every refusal is [`Fault::Setup`].
pub fn check_config<E: Engine>(config: &Config) -> Result<&'static str, Failure> {
    config.limits.refuse_unenforceable(E::NAME, E::METERS_FUEL, E::STOPS_ON_DEADLINE)?;
    let (name, tiers) = (E::NAME, E::TIERS);
    match &config.tier {
        None => tiers.first().copied().ok_or_else(|| Failure::new(Fault::Setup(format!("{name} offers no tier")))),
        Some(wanted) => tiers.iter().copied().find(|t| t == wanted).ok_or_else(|| {
            Failure::new(Fault::Setup(format!("{name} has no tier {wanted:?}; it offers {}", tiers.join(", "))))
        }),
    }
}
