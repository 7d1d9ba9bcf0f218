//! [`Wamr`]: the [`harness::Engine`] on WAMR, and the mapping of WAMR's errors.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use common::ValType;
use harness::{Alarm, Deadline, ExternType, Failure, Fault, GuestAllocator, ModuleShape, Sink, Trap, Watchdog};
use wamrx_sys as sys;

use crate::imports::{HOST_ERROR_EXCEPTION, Native, State, find_allocator, memory_of, natives, register_imports};

unsafe extern "C" fn bench_noop_i32(_: sys::wasm_exec_env_t, _: i32) {}

unsafe extern "C" fn bench_noop_i32_i32(_: sys::wasm_exec_env_t, _: i32, _: i32) {}

/// The no-op benchmark imports ([`harness::bench`]), for the comparison tool. They are always
/// registered (WAMR's registry is per process); a module that imports them without
/// [`harness::Config::bench_imports`] is refused by the ABI check before it is instantiated.
fn bench_natives() -> impl Iterator<Item = Native> {
    harness::bench::IMPORTS.into_iter().map(|(name, params)| {
        let func = if params.len() == 1 {
            bench_noop_i32 as *mut std::ffi::c_void
        } else {
            bench_noop_i32_i32 as *mut std::ffi::c_void
        };
        Native { module: harness::bench::MODULE, name, func, params, results: &[] }
    })
}
use crate::module::{Prepared, prepare};

/// The size of each instance's WAMR stack (`wasm_runtime_create_exec_env`), which holds the
/// interpreter's frames, locals and operands: deep recursion ends in a "wasm operand stack
/// overflow" exception ([`Trap::StackOverflow`]) when it is full.
///
/// 64 KiB (wasm3's is 16 KiB: `host-wasm3`): WAMR allocates and clears the whole stack for every
/// instance, so its size is most of an instance's memory and of its instantiation time (with 1
/// MiB, 1,055 KiB per instance, and `memset`, page faults and `munmap` of the stack were 70 % of
/// a request cycle). The price is recursion depth: a guest that recurses deeper (a recursive
/// parser, a tree walk) traps with a stack overflow sooner, and needs a larger stack here.
pub const STACK_SIZE: u32 = 64 * 1024;

/// The WebAssembly page size.
const PAGE_SIZE: usize = 65536;

/// The WAMR engine: the process-wide WAMR runtime, with the imports registered, and the limits
/// every instance runs under.
pub struct Wamr {
    config: harness::Config,
    tier: &'static str,
    /// The instruction limit of each call from the host, if fuel is metered.
    fuel: Option<i32>,
    /// The most pages a memory may grow to.
    max_memory_pages: u32,
    /// With a timeout: the thread that terminates each instance at its deadline.
    watchdog: Option<Watchdog>,
}

/// A module instance, handed to the watchdog's thread to be terminated there.
struct Terminate(sys::wasm_module_inst_t);

// SAFETY: WAMR is built with its thread manager (wamrx-sys's `thread-mgr` feature), with which
// `wasm_runtime_terminate` is made to be called from another thread: it finds the instance's
// execution environments under the cluster lock and sets their exception and terminate flag
// under their own locks. The pointer is used only while the instance lives: its alarm is
// dropped first when the instance is (`WamrInstance`'s `Drop`), and once an alarm is dropped its
// action has finished or will never run (`harness::Watchdog`).
unsafe impl Send for Terminate {}

/// A validated module, and WAMR's module loaded from it once, shared by every instance.
#[derive(Clone, Debug)]
pub struct WamrModule {
    prepared: Arc<Prepared>,
    /// `None` for a module with more than one memory, which this WAMR refuses to load (and the
    /// host refuses to instantiate before WAMR is asked).
    loaded: Option<Arc<Loaded>>,
}

/// A module WAMR loaded (`wasm_module_t`), with the buffer it was loaded from: WAMR changes the
/// buffer while loading and keeps pointers into it, so it lives as long as the module. Unloaded
/// when the last holder (the `WamrModule` and every instance of it) is dropped.
#[derive(Debug)]
struct Loaded {
    module: sys::wasm_module_t,
    _wasm: Box<[u8]>,
}

// SAFETY: WAMR instantiates a loaded module any number of times, from any thread (its own thread
// manager instantiates the module of a running instance again for each thread the guest spawns):
// after loading, the fast interpreter reads the module (its code, types, imports resolved at
// load) and each instance holds its own memory, globals and tables. What writes to WAMR's shared
// state (loading, instantiating, unloading) runs under `loader_lock`.
unsafe impl Send for Loaded {}
// SAFETY: see `Send`: `&Loaded` only lends the module pointer to instantiation, under the lock.
unsafe impl Sync for Loaded {}

impl Loaded {
    /// Loads `wasm` (a copy of it: WAMR changes the buffer).
    fn new(wasm: &[u8]) -> Result<Loaded, Failure> {
        let mut wasm: Box<[u8]> = wasm.into();
        let module = load(&mut wasm)?;
        Ok(Loaded { module, _wasm: wasm })
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _lock = loader_lock();
        // SAFETY: the module was loaded by `Loaded::new` and no instance of it is left (each
        // holds an `Arc` of this).
        unsafe { sys::wasm_runtime_unload(self.module) };
    }
}

/// One guest instance: its module instance and execution environment, on its module's WAMR
/// module.
pub struct WamrInstance {
    /// The module instantiated: kept loaded as long as the instance lives.
    _module: Arc<Loaded>,
    module_inst: sys::wasm_module_inst_t,
    exec_env: sys::wasm_exec_env_t,
    /// The host functions' state, shared with them through the module instance's custom data:
    /// a `Box<State>` turned into a pointer, so that no reference to it is held while the guest
    /// runs. Freed on drop.
    state: *mut State,
    /// The instruction limit of each call, if fuel is metered.
    fuel: Option<i32>,
    /// The export the start function was called through (not callable from the host).
    start_export: Option<String>,
    /// With a timeout: the instance's termination at its deadline, cancelled first on drop.
    alarm: Option<Alarm>,
    /// With a timeout: when the instance must be done by. A call that starts after it is refused
    /// (the termination is cleared with the exception it raised, after the call it stopped).
    deadline: Option<Deadline>,
}

unsafe extern "C" {
    /// WAMR's platform layer (in the library wamrx-sys builds, not in its bindings): the signal
    /// WAMR's thread manager installs a handler for at `wasm_runtime_full_init` and sends to wake
    /// a thread out of a blocking operation. SIGUSR1 unless set before.
    fn os_set_signal_number_for_blocking_op(signo: std::ffi::c_int);
}

/// The signal WAMR is given for its blocking-operation wake-ups instead of SIGUSR1, which
/// wasmer's host interrupt (its timeout) sends: with both runtimes in one process, WAMR's handler
/// (a no-op, installed last) replaced wasmer's, and wasmer's interrupts were lost. A real-time
/// signal a few above the first one the C library leaves free; this crate never sends it (no
/// WASI, no blocking operations).
fn wamr_wakeup_signal() -> std::ffi::c_int {
    libc::SIGRTMIN() + 4
}

/// The process-wide WAMR runtime, initialised once (and never torn down), with every host
/// function registered.
fn runtime() -> Result<(), Failure> {
    static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // SAFETY: a plain store of an int in WAMR's platform layer, before the runtime is
            // initialised (which reads it once, to install its handler).
            unsafe { os_set_signal_number_for_blocking_op(wamr_wakeup_signal()) };
            let mut args =
                sys::RuntimeInitArgs { mem_alloc_type: sys::Alloc_With_System_Allocator, ..Default::default() };
            // SAFETY: `args` is a fully initialised argument struct; this runs once per process.
            if !unsafe { sys::wasm_runtime_full_init(&raw mut args) } {
                return Err("wasm_runtime_full_init failed".into());
            }
            // SAFETY: the runtime is initialised. Warnings (such as an import WAMR cannot resolve
            // when loading a module) would go to stdout, which is the CLI's output.
            unsafe { sys::wasm_runtime_set_log_level(sys::WASM_LOG_LEVEL_FATAL) };
            register_imports(natives().into_iter().chain(bench_natives()).collect())
        })
        .clone()
        .map_err(|e| Failure::new(Fault::Setup(format!("wamr: {e}"))))
}

/// Serialises WAMR's loader and instantiation (its global registries and allocator are shared by
/// every thread); calls into the guests run in parallel.
fn loader_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sets up and tears down WAMR's per-thread environment, once per thread that uses WAMR.
struct ThreadEnv;

impl ThreadEnv {
    fn new() -> ThreadEnv {
        // SAFETY: the runtime is initialised (every caller holds an engine); idempotent per thread.
        unsafe { sys::wasm_runtime_init_thread_env() };
        ThreadEnv
    }
}

impl Drop for ThreadEnv {
    fn drop(&mut self) {
        // SAFETY: pairs with the init of this thread, at thread exit.
        unsafe { sys::wasm_runtime_destroy_thread_env() };
    }
}

thread_local! {
    static THREAD_ENV: ThreadEnv = ThreadEnv::new();
}

/// Calls `f` with an error buffer WAMR fills, and returns its result and the message.
fn with_error_buf<T>(f: impl FnOnce(*mut c_char, u32) -> T) -> (T, String) {
    let mut buf = [0u8; 256];
    let len = u32::try_from(buf.len()).unwrap_or(0);
    let result = f(buf.as_mut_ptr().cast::<c_char>(), len);
    let message = CStr::from_bytes_until_nul(&buf).map(|m| m.to_string_lossy().into_owned()).unwrap_or_default();
    (result, message)
}

/// Loads `wasm` into a WAMR module. WAMR mutates the buffer and keeps pointers into it: it must
/// outlive the module.
fn load(wasm: &mut [u8]) -> Result<sys::wasm_module_t, Failure> {
    let len = u32::try_from(wasm.len()).map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
    let (module, error) = with_error_buf(|buf, size| {
        let _lock = loader_lock();
        // SAFETY: `wasm` is valid for `len` bytes and the caller keeps it alive as long as the module;
        // `buf` is valid for `size` bytes.
        unsafe { sys::wasm_runtime_load(wasm.as_mut_ptr(), len, buf, size) }
    });
    if module.is_null() { Err(Failure::with_detail(Fault::InvalidModule, error)) } else { Ok(module) }
}

/// Whether `func` takes `params` and returns `results` (all `i32`).
pub(crate) fn func_is(
    func: sys::wasm_function_inst_t,
    module_inst: sys::wasm_module_inst_t,
    params: &[ValType],
    results: &[ValType],
) -> bool {
    let i32s = |types: &[ValType]| types.iter().all(|t| *t == ValType::I32);
    if !i32s(params) || !i32s(results) {
        return false;
    }
    // SAFETY: `func` is a function of the live `module_inst`.
    let (param_count, result_count) = unsafe {
        (sys::wasm_func_get_param_count(func, module_inst), sys::wasm_func_get_result_count(func, module_inst))
    };
    if usize::try_from(param_count).ok() != Some(params.len())
        || usize::try_from(result_count).ok() != Some(results.len())
    {
        return false;
    }
    let mut param_types = vec![0 as sys::wasm_valkind_t; params.len()];
    let mut result_types = vec![0 as sys::wasm_valkind_t; results.len()];
    // SAFETY: each buffer holds as many entries as the function has parameters / results.
    unsafe {
        sys::wasm_func_get_param_types(func, module_inst, param_types.as_mut_ptr());
        sys::wasm_func_get_result_types(func, module_inst, result_types.as_mut_ptr());
    }
    let i32_kind = sys::wasm_valkind_t::try_from(sys::WASM_I32).unwrap_or(u8::MAX);
    param_types.iter().chain(&result_types).all(|kind| *kind == i32_kind)
}

impl harness::Engine for Wamr {
    const NAME: &'static str = "wamr";
    const CRATE: &'static str = "wamrx";
    /// WAMR's fast interpreter: wamrx builds no other running mode (no AOT, no JIT).
    const STOPS_ON_DEADLINE: bool = true;
    const TIERS: &'static [&'static str] = &["fast-interp"];
    type Module = WamrModule;
    type Instance = WamrInstance;

    fn new(config: &harness::Config) -> Result<Self, Failure> {
        let tier = harness::check_config::<Self>(config)?;
        let fuel = config
            .limits
            .fuel
            .map(|fuel| {
                i32::try_from(fuel).map_err(|_| {
                    Fault::Setup(format!("wamr meters at most {} instructions per call; asked for {fuel}", i32::MAX))
                })
            })
            .transpose()?;
        let max_memory_pages = u32::try_from(config.limits.max_memory_bytes / PAGE_SIZE).unwrap_or(u32::MAX);
        if max_memory_pages == 0 {
            // WAMR reads a maximum of 0 pages as "no maximum".
            return Err(Failure::new(Fault::Setup("wamr cannot limit memory to less than one page".into())));
        }
        runtime()?;
        let watchdog = harness::Watchdog::for_limits(&config.limits)?;
        Ok(Wamr { config: config.clone(), tier, fuel, max_memory_pages, watchdog })
    }

    fn tier(&self) -> &'static str {
        self.tier
    }

    fn config(&self) -> &harness::Config {
        &self.config
    }

    fn compile(&self, wasm: &[u8]) -> Result<WamrModule, Failure> {
        let prepared = prepare(wasm, self.config.limits.max_table_elements)
            .map_err(|e| Failure::with_detail(Fault::InvalidModule, e))?;
        // WAMR's own loader (and validator) must accept it too; except a module with more than
        // one memory (imported ones included), which this WAMR (built without multi-memory)
        // refuses to load, and which the ABI check (an imported memory) or `instantiate` (over
        // the limits) refuses, as every other host does.
        let imported_memories =
            prepared.shape.imports().iter().filter(|i| matches!(i.ty, ExternType::Memory { .. })).count();
        let loaded = if prepared.memory_minimums.len() + imported_memories <= 1 {
            THREAD_ENV.with(|_| ());
            Some(Arc::new(Loaded::new(&prepared.wasm)?))
        } else {
            None
        };
        Ok(WamrModule { prepared: Arc::new(prepared), loaded })
    }

    fn shape(&self, module: &WamrModule) -> ModuleShape {
        module.prepared.shape.clone()
    }

    fn instantiate(&self, module: &WamrModule, sink: Sink) -> Result<WamrInstance, Failure> {
        let prepared = &module.prepared;
        let limits = &self.config.limits;
        let tables_fit = prepared.table_minimums.iter().all(|&min| min <= u64::from(limits.max_table_elements));
        let memories_fit = prepared.memory_minimums.iter().all(|&min| min <= u64::from(self.max_memory_pages));
        // One memory and one table per instance, as `StoreLimits` allows on wasmtime and wasmi.
        let one_each = prepared.memory_minimums.len() <= 1 && prepared.table_minimums.len() <= 1;
        if !tables_fit || !memories_fit || !one_each {
            return Err(Failure::new(Fault::instantiation_limit()));
        }
        THREAD_ENV.with(|_| ());
        let deadline = Deadline::after(limits.timeout);
        let loaded = match &module.loaded {
            Some(loaded) => Arc::clone(loaded),
            // Not loaded by `compile`: WAMR refuses it here, with its message.
            None => Arc::new(Loaded::new(&prepared.wasm)?),
        };
        let wamr_module = loaded.module;
        let args = sys::InstantiationArgs {
            default_stack_size: STACK_SIZE,
            host_managed_heap_size: 0,
            max_memory_pages: self.max_memory_pages,
        };
        let (module_inst, error) = with_error_buf(|buf, size| {
            let _lock = loader_lock();
            // SAFETY: `wamr_module` is loaded; `args` and `buf` are valid.
            unsafe { sys::wasm_runtime_instantiate_ex(wamr_module, &raw const args, buf, size) }
        });
        // From here on, `WamrInstance`'s drop frees what exists.
        let mut instance = WamrInstance {
            _module: loaded,
            module_inst,
            exec_env: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            fuel: self.fuel,
            start_export: prepared.start_export.clone(),
            alarm: None,
            deadline,
        };
        if module_inst.is_null() {
            return Err(instantiate_failure(&error));
        }
        // No guest code ran yet (the start function is called below), so none can be missed.
        if let (Some(watchdog), Some(deadline)) = (&self.watchdog, deadline) {
            let target = Terminate(module_inst);
            instance.alarm = Some(watchdog.set(deadline, None, move || {
                let Terminate(module_inst) = &target;
                // SAFETY: see `Terminate`: the instance is live while its alarm is.
                unsafe { sys::wasm_runtime_terminate(*module_inst) };
            }));
        }
        // SAFETY: `module_inst` is live.
        instance.exec_env = unsafe { sys::wasm_runtime_create_exec_env(module_inst, STACK_SIZE) };
        if instance.exec_env.is_null() {
            return Err(Failure::with_detail(Fault::Runtime, "wamr: cannot create an execution environment"));
        }
        let state = State {
            memory_ready: false,
            allocator: GuestAllocator::Missing,
            recorder: self.config.recorder(sink),
            host_error: None,
        };
        instance.state = Box::into_raw(Box::new(state));
        // SAFETY: `module_inst` is live; the state outlives it (freed after it in drop).
        unsafe { sys::wasm_runtime_set_custom_data(module_inst, instance.state.cast()) };
        if let Some(start) = &prepared.start_export {
            instance.call_export(start, &[])?;
        }
        let shape = &prepared.shape;
        let memory_exported = shape
            .exports()
            .iter()
            .any(|e| e.name == common::MEMORY_EXPORT && matches!(e.ty, harness::ExternType::Memory { .. }));
        if !memory_exported {
            return Err(Fault::Link(shape.no_memory()).into());
        }
        let exported = shape.exports().iter().any(|e| e.name == common::ALLOCATOR_EXPORT);
        let allocator = find_allocator(module_inst, exported);
        let state = instance.state_mut();
        state.allocator = allocator;
        state.memory_ready = true;
        Ok(instance)
    }
}

impl WamrInstance {
    /// The host functions' state, while no call into the guest runs.
    fn state_mut(&mut self) -> &mut State {
        // SAFETY: `state` is the live `Box<State>` of this instance (set before any caller can get
        // an instance); host functions only borrow it during a call, which holds `&mut self`.
        unsafe { &mut *self.state }
    }

    /// Looks up the exported function `name`.
    fn func(&self, name: &str) -> Result<sys::wasm_function_inst_t, Failure> {
        let missing = || Failure::new(Fault::MissingExport { name: name.into(), available: Vec::new() });
        let cname = CString::new(name).map_err(|_| missing())?;
        // SAFETY: `module_inst` is live and `cname` NUL-terminated.
        let func = unsafe { sys::wasm_runtime_lookup_function(self.module_inst, cname.as_ptr()) };
        if func.is_null() { Err(missing()) } else { Ok(func) }
    }

    /// Calls `func` (which takes `args.len()` `i32`s and returns at most one `i32`, checked by
    /// the caller) under the instruction limit, and maps a trap.
    fn call_func(
        &mut self,
        func: sys::wasm_function_inst_t,
        args: &[i32],
        results: usize,
    ) -> Result<Option<i32>, Failure> {
        if self.deadline.is_some_and(Deadline::passed) {
            return Err(Failure::new(Fault::Trap(Trap::Timeout)));
        }
        let mut argv: Vec<u32> = args.iter().map(|a| a.cast_unsigned()).collect();
        argv.resize(args.len().max(results).max(1), 0);
        let argc = u32::try_from(args.len()).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        if let Some(fuel) = self.fuel {
            // SAFETY: `exec_env` is live. The limit applies to each call from the host (WAMR does
            // not carry what is left over from one call to the next).
            unsafe { sys::wasm_runtime_set_instruction_count_limit(self.exec_env, fuel) };
        }
        // SAFETY: `func` belongs to this instance, `argv` holds the arguments and room for the
        // result, and no reference to the state or to memory is held during the call.
        let called = unsafe { sys::wasm_runtime_call_wasm(self.exec_env, func, argc, argv.as_mut_ptr()) };
        if called {
            return Ok((results == 1).then(|| argv[0].cast_signed()));
        }
        let host_error = self.state_mut().host_error.take();
        // SAFETY: `module_inst` is live; the message is copied before the exception is cleared.
        let exception = unsafe {
            let message = sys::wasm_runtime_get_exception(self.module_inst);
            let text =
                if message.is_null() { String::new() } else { CStr::from_ptr(message).to_string_lossy().into_owned() };
            sys::wasm_runtime_clear_exception(self.module_inst);
            text
        };
        Err(match host_error {
            Some(error) => Failure::new(Fault::Host(error)),
            None => trap_failure(&exception),
        })
    }

    /// Calls the export `name` with `i32` arguments; it returns nothing or one `i32`.
    fn call_export(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        let func = self.func(name)?;
        // SAFETY: `func` belongs to the live `module_inst`.
        let results = unsafe { sys::wasm_func_get_result_count(func, self.module_inst) };
        let results = usize::try_from(results).unwrap_or(usize::MAX);
        let params = vec![ValType::I32; args.len()];
        let result_types = vec![ValType::I32; results.min(1)];
        if results > 1 || !func_is(func, self.module_inst, &params, &result_types) {
            return Err(Failure::with_detail(
                Fault::Runtime,
                format!("export {name:?} does not take {} i32s", args.len()),
            ));
        }
        self.call_func(func, args, results)
    }

    /// Whether `name` is the export host-wamr added for the start function.
    fn is_start_export(&self, name: &str) -> bool {
        self.start_export.as_deref() == Some(name)
    }
}

impl harness::Instance for WamrInstance {
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Option<i32>, Failure> {
        if self.is_start_export(name) {
            return Err(Fault::MissingExport { name: name.into(), available: Vec::new() }.into());
        }
        self.call_export(name, args)
    }

    fn write_memory(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Failure> {
        // SAFETY: no call into the guest runs (`&mut self`), and the view ends in this function.
        let memory = unsafe { memory_of(self.module_inst) };
        let start = usize::try_from(offset).map_err(|e| Failure::with_detail(Fault::Runtime, e))?;
        let range = start.checked_add(bytes.len()).map(|end| start..end);
        let target = range.and_then(|range| memory.get_mut(range)).ok_or_else(|| {
            Failure::with_detail(Fault::Runtime, format!("{} bytes at {offset} are out of bounds", bytes.len()))
        })?;
        target.copy_from_slice(bytes);
        Ok(())
    }

    fn read_memory(&mut self) -> Result<Vec<u8>, Failure> {
        // SAFETY: no call into the guest runs (`&mut self`), and the view ends in this function.
        Ok(unsafe { memory_of(self.module_inst) }.to_vec())
    }

    fn call_repeatedly(&mut self, name: &str, times: u64) -> Result<(), Failure> {
        if self.is_start_export(name) {
            return Err(Fault::MissingExport { name: name.into(), available: Vec::new() }.into());
        }
        let func = self.func(name)?;
        if !func_is(func, self.module_inst, &[], &[]) {
            return Err(Failure::with_detail(Fault::Runtime, format!("export {name:?} is not a function () -> ()")));
        }
        for _ in 0..times {
            self.call_func(func, &[], 0)?;
        }
        Ok(())
    }

    fn recorder(&self) -> &harness::Recorder {
        // SAFETY: see `state_mut`; a shared borrow while no call runs.
        unsafe { &(*self.state).recorder }
    }

    fn recorder_mut(&mut self) -> &mut harness::Recorder {
        &mut self.state_mut().recorder
    }
}

impl Drop for WamrInstance {
    fn drop(&mut self) {
        // First the alarm: once it is dropped, the watchdog no longer touches the instance.
        drop(self.alarm.take());
        // SAFETY: each handle was created by this instance and is freed once, in reverse order;
        // the state is freed after the module instance that points to it.
        unsafe {
            if !self.exec_env.is_null() {
                sys::wasm_runtime_destroy_exec_env(self.exec_env);
            }
            let _lock = loader_lock();
            if !self.module_inst.is_null() {
                sys::wasm_runtime_deinstantiate(self.module_inst);
            }
            if !self.state.is_null() {
                drop(Box::from_raw(self.state));
            }
        }
    }
}

/// A trap as WAMR reports it (`Exception: out of bounds memory access`), in the ABI's terms.
fn trap_failure(exception: &str) -> Failure {
    let message = exception.strip_prefix("Exception: ").unwrap_or(exception);
    let trap = match message {
        "unreachable" => Trap::Unreachable,
        "out of bounds memory access" => Trap::MemoryOutOfBounds,
        "out of bounds table access" | "undefined element" => Trap::TableOutOfBounds,
        "uninitialized element" | "null function reference" => Trap::IndirectCallToNull,
        "indirect call type mismatch" => Trap::BadSignature,
        "integer overflow" => Trap::IntegerOverflow,
        "integer divide by zero" => Trap::IntegerDivisionByZero,
        "invalid conversion to integer" => Trap::BadConversionToInteger,
        "wasm operand stack overflow" | "native stack overflow" | "wasm auxiliary stack overflow" => {
            Trap::StackOverflow
        }
        "instruction limit exceeded" => Trap::OutOfFuel,
        // Only the watchdog terminates an instance, at its deadline.
        "terminated by user" => Trap::Timeout,
        "unaligned atomic" => Trap::MisalignedAtomic,
        m if m == HOST_ERROR_EXCEPTION.to_str().unwrap_or_default() => {
            // A host error whose `HostError` was lost: cannot happen, but never a panic.
            return Failure::with_detail(Fault::Runtime, message);
        }
        _ => return Failure::with_detail(Fault::Trap(Trap::Other), message),
    };
    Failure::new(Fault::Trap(trap))
}

/// An instantiation error from WAMR (its error buffer), in the ABI's terms: a segment that does
/// not fit traps, as on the other runtimes.
fn instantiate_failure(error: &str) -> Failure {
    let message = error.strip_prefix("Exception: ").unwrap_or(error);
    if message.contains("out of bounds memory access") || message.contains("data segment does not fit") {
        Failure::new(Fault::Trap(Trap::MemoryOutOfBounds))
    } else if message.contains("out of bounds table access") || message.contains("elements segment does not fit") {
        Failure::new(Fault::Trap(Trap::TableOutOfBounds))
    } else if message.contains("allocate memory failed") {
        Failure::with_detail(Fault::instantiation_limit(), message)
    } else {
        Failure::with_detail(Fault::Runtime, message)
    }
}
