//! The wasm-hostcall imports bound on WAMR: the file to copy into your own host.
//!
//! Each import is a C function registered once per process with `wasm_runtime_register_natives`
//! under plain `i32` signatures (`"(ii)"`, `"(iiiii)i"`, ...): never `*` or `~`, with which WAMR
//! would translate and check guest pointers itself. The guest's offsets reach [`Recorder`]
//! untouched, and it decodes, checks and writes with the `common` ABI. Each body makes one call to
//! the [`Recorder`]; the only thing done here is what is specific to WAMR: finding the instance's
//! host state and memory from the execution environment, calling the guest's allocator, and
//! turning errors into traps.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```
//!
//! WAMR has no per-instance linker: the registry of host functions is global, and a module's
//! imports are resolved against it when the module is loaded. Each instance keeps its [`State`]
//! in its module instance's custom data (`wasm_runtime_set_custom_data`), where the host
//! functions find it. The guest's memory is looked up again in every call (`memory.grow` moves
//! it), and no view of it outlives one [`Recorder`] call.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_void};

use common::{IMPORT_MODULE, Import, ValType};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
use wamrx_sys as sys;

/// The guest's allocator, `guest_alloc(size, align) -> ptr`: a function of the module instance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Allocator(pub(crate) sys::wasm_function_inst_t);

/// What each instance holds for its host functions.
pub(crate) struct State {
    /// Whether the imports may use the guest's memory: not while the start function runs (as on
    /// the other hosts, where the exported memory is bound only after instantiation).
    pub(crate) memory_ready: bool,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Allocator>,
    /// Events, and the call in progress.
    pub(crate) recorder: Recorder,
    /// The error of the host function that made the guest trap, taken when the call returns.
    pub(crate) host_error: Option<HostError>,
}

/// The exception message a host error sets; the [`HostError`] itself waits in [`State`].
pub(crate) const HOST_ERROR_EXCEPTION: &CStr = c"host function failed";

/// Why a host function stops the guest.
enum Stop {
    /// A host error: recorded in [`State::host_error`], and the guest trapped.
    Host(HostError),
    /// The guest's allocator trapped: its exception is already set.
    GuestTrapped,
    /// No host state (a bug): the guest trapped with this message.
    NoState,
}

impl From<HostError> for Stop {
    fn from(error: HostError) -> Self {
        Stop::Host(error)
    }
}

/// The host side of one call of an import: the module instance and its [`State`].
struct Caller {
    exec_env: sys::wasm_exec_env_t,
    module_inst: sys::wasm_module_inst_t,
    state: *mut State,
}

impl Caller {
    /// The caller of the host function running on `exec_env`.
    fn new(exec_env: sys::wasm_exec_env_t) -> Caller {
        // SAFETY: WAMR passes every native function the live execution environment it runs on.
        let module_inst = unsafe { sys::wasm_runtime_get_module_inst(exec_env) };
        // SAFETY: `module_inst` is live; its custom data is null or the `State` the instance set.
        let state = unsafe { sys::wasm_runtime_get_custom_data(module_inst) }.cast::<State>();
        Caller { exec_env, module_inst, state }
    }

    /// The instance's state, borrowed for one step of a host function.
    fn state(&mut self) -> Result<&mut State, Stop> {
        // SAFETY: a non-null custom data is the instance's `Box<State>` (see `WamrInstance`), which
        // outlives its module instance. The guest is suspended in this host call and the instance
        // holds no reference to it during a call, so this is the only one; it ends before the
        // next call into the guest.
        unsafe { self.state.as_mut() }.ok_or(Stop::NoState)
    }

    /// The guest's whole memory and the instance's state, borrowed together for one step of a
    /// host function. Fails while the start function runs.
    fn memory_and_state(&mut self, import: Import) -> Result<(&mut [u8], &mut State), Stop> {
        let module_inst = self.module_inst;
        let state = self.state()?;
        if !state.memory_ready {
            return Err(HostError { import, kind: HostErrorKind::MemoryUnavailable }.into());
        }
        // SAFETY: the module instance is live and the guest is suspended in this host call; the
        // view lives no longer than this borrow of `self`, and no call into the guest is made
        // while it does.
        let memory = unsafe { memory_of(module_inst) };
        Ok((memory, state))
    }

    /// Ends the host function: on `Err`, makes the guest trap.
    fn finish<T: Default>(mut self, outcome: Result<T, Stop>) -> T {
        let message = match outcome {
            Ok(value) => return value,
            Err(Stop::GuestTrapped) => return T::default(),
            Err(Stop::Host(error)) => match self.state() {
                Ok(state) => {
                    state.host_error = Some(error);
                    HOST_ERROR_EXCEPTION
                }
                Err(_) => c"host-wamr: the instance has no host state",
            },
            Err(Stop::NoState) => c"host-wamr: the instance has no host state",
        };
        // SAFETY: the module instance is live; WAMR copies the message.
        unsafe { sys::wasm_runtime_set_exception(self.module_inst, message.as_ptr()) };
        T::default()
    }
}

/// The default (and, for the ABI, only) linear memory of `module_inst`, as a slice: empty when
/// it has none.
///
/// # Safety
///
/// `module_inst` must be live, and no other view of its memory, and no call into the guest, may
/// exist while the slice does (a call can grow, and so move, the memory).
pub(crate) unsafe fn memory_of<'a>(module_inst: sys::wasm_module_inst_t) -> &'a mut [u8] {
    // SAFETY: `module_inst` is live (the caller's contract).
    let memory = unsafe { sys::wasm_runtime_get_default_memory(module_inst) };
    if memory.is_null() {
        return &mut [];
    }
    // SAFETY: `memory` is the instance's live memory instance.
    let (base, pages, page_size) = unsafe {
        (
            sys::wasm_memory_get_base_address(memory),
            sys::wasm_memory_get_cur_page_count(memory),
            sys::wasm_memory_get_bytes_per_page(memory),
        )
    };
    let Some(len) = pages.checked_mul(page_size).and_then(|len| usize::try_from(len).ok()) else {
        return &mut [];
    };
    if base.is_null() || len == 0 {
        return &mut [];
    }
    // SAFETY: WAMR's memory instance owns `len` bytes from `base` (its current size); the caller
    // guarantees this is the only view and that it ends before the memory can move.
    unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), len) }
}

/// Looks up the guest's allocator export once, after instantiation. `exported` says whether the
/// module exports anything under that name.
pub(crate) fn find_allocator(module_inst: sys::wasm_module_inst_t, exported: bool) -> GuestAllocator<Allocator> {
    let name = CString::new(common::ALLOCATOR_EXPORT).unwrap_or_default();
    // SAFETY: `module_inst` is live and `name` a NUL-terminated string.
    let func = unsafe { sys::wasm_runtime_lookup_function(module_inst, name.as_ptr()) };
    if func.is_null() {
        return if exported { GuestAllocator::Mistyped } else { GuestAllocator::Missing };
    }
    if crate::engine::func_is(func, module_inst, &common::ALLOCATOR_PARAMS, &common::ALLOCATOR_RESULTS) {
        GuestAllocator::Found(Allocator(func))
    } else {
        GuestAllocator::Mistyped
    }
}

unsafe extern "C" fn log_int(exec_env: sys::wasm_exec_env_t, value: i32) {
    let mut caller = Caller::new(exec_env);
    let outcome = caller.state().and_then(|state| Ok(state.recorder.log_int(value)?));
    caller.finish(outcome)
}

unsafe extern "C" fn log_value<const I: usize>(exec_env: sys::wasm_exec_env_t, ptr: i32, len: i32) {
    let import = Import::ALL[I];
    let mut caller = Caller::new(exec_env);
    let outcome = caller
        .memory_and_state(import)
        .and_then(|(memory, state)| Ok(state.recorder.log_from_memory(import, memory, ptr, len)?));
    caller.finish(outcome)
}

unsafe extern "C" fn answer<const I: usize>(
    exec_env: sys::wasm_exec_env_t,
    ptr: i32,
    len: i32,
    out_ptr: i32,
    out_cap: i32,
    out_len_ptr: i32,
) -> i32 {
    let import = Import::ALL[I];
    let mut caller = Caller::new(exec_env);
    let outcome = caller.memory_and_state(import).and_then(|(memory, state)| {
        Ok(state.recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)?)
    });
    caller.finish(outcome)
}

unsafe extern "C" fn answer_alloc<const I: usize>(exec_env: sys::wasm_exec_env_t, ptr: i32, len: i32, ret_ptr: i32) {
    let import = Import::ALL[I];
    let mut caller = Caller::new(exec_env);
    let outcome = answer_with_allocator(&mut caller, import, ptr, len, ret_ptr);
    caller.finish(outcome)
}

unsafe extern "C" fn request_read(exec_env: sys::wasm_exec_env_t, out_ptr: i32, out_cap: i32, out_len_ptr: i32) -> i32 {
    let mut caller = Caller::new(exec_env);
    let outcome = caller
        .memory_and_state(Import::RequestRead)
        .and_then(|(memory, state)| Ok(state.recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)?));
    caller.finish(outcome)
}

unsafe extern "C" fn respond<const I: usize>(exec_env: sys::wasm_exec_env_t, ptr: i32, len: i32) {
    let import = Import::ALL[I];
    let mut caller = Caller::new(exec_env);
    let outcome = caller
        .memory_and_state(import)
        .and_then(|(memory, state)| Ok(state.recorder.respond(import, memory, ptr, len)?));
    caller.finish(outcome)
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap, run out of fuel, or grow
/// (and so move) memory, so no view of memory is held across the call, and every import it
/// makes is refused ([`Recorder::begin_alloc`]), which bounds re-entry to this one call.
fn answer_with_allocator(caller: &mut Caller, import: Import, ptr: i32, len: i32, ret_ptr: i32) -> Result<(), Stop> {
    caller.memory_and_state(import)?;
    let Allocator(allocator) = caller.state()?.allocator.get(import)?;
    let pending = {
        let (memory, state) = caller.memory_and_state(import)?;
        state.recorder.begin_alloc(import, memory, ptr, len, ret_ptr)?
    };
    let mut argv = [pending.size().cast_unsigned(), pending.align().cast_unsigned()];
    // SAFETY: `allocator` is a function of this live module instance, checked to take two i32s and
    // return one (which WAMR writes into `argv[0]`); no view of memory or of the state is held.
    let called = unsafe { sys::wasm_runtime_call_wasm(caller.exec_env, allocator, 2, argv.as_mut_ptr()) };
    caller.state()?.recorder.allocator_returned();
    if !called {
        return Err(Stop::GuestTrapped);
    }
    let (memory, state) = caller.memory_and_state(import)?;
    Ok(state.recorder.finish_alloc(import, memory, pending, argv[0].cast_signed())?)
}

/// A host function as WAMR's registry holds it.
pub(crate) struct Native {
    pub(crate) module: &'static str,
    pub(crate) name: &'static str,
    pub(crate) func: *mut c_void,
    pub(crate) params: &'static [ValType],
    pub(crate) results: &'static [ValType],
}

/// WAMR's signature string for plain `i32` parameters and results, e.g. `(iiiii)i`.
fn signature(params: &[ValType], results: &[ValType]) -> String {
    let letters = |types: &[ValType]| types.iter().map(|_| 'i').collect::<String>();
    format!("({}){}", letters(params), letters(results))
}

/// Every import of the ABI, with its C function.
pub(crate) fn natives() -> Vec<Native> {
    let import = |import: Import, func: *mut c_void| Native {
        module: IMPORT_MODULE,
        name: import.name(),
        func,
        params: import.params(),
        results: import.results(),
    };
    let i = |import: Import| Import::ALL.iter().position(|i| *i == import).unwrap_or(usize::MAX);
    debug_assert_eq!(i(Import::LogStr), 1);
    let natives = vec![
        import(Import::LogInt, log_int as *mut c_void),
        import(Import::LogStr, log_value::<1> as *mut c_void),
        import(Import::LogAb, log_value::<2> as *mut c_void),
        import(Import::LogCd, log_value::<3> as *mut c_void),
        import(Import::AnswerStr, answer::<4> as *mut c_void),
        import(Import::AnswerAb, answer::<5> as *mut c_void),
        import(Import::AnswerCd, answer::<6> as *mut c_void),
        import(Import::AnswerStrAlloc, answer_alloc::<7> as *mut c_void),
        import(Import::AnswerAbAlloc, answer_alloc::<8> as *mut c_void),
        import(Import::AnswerCdAlloc, answer_alloc::<9> as *mut c_void),
        import(Import::RequestRead, request_read as *mut c_void),
        import(Import::RespondStr, respond::<11> as *mut c_void),
        import(Import::RespondAb, respond::<12> as *mut c_void),
        import(Import::RespondCd, respond::<13> as *mut c_void),
        import(Import::KvGet, answer::<14> as *mut c_void),
    ];
    for (index, native) in natives.iter().enumerate() {
        // The const generic of each body is the import's index in `Import::ALL`.
        assert_eq!(Import::ALL[index].name(), native.name, "imports out of order");
    }
    natives
}

/// Registers host functions (the imports of the ABI: [`natives`]) with WAMR's global registry:
/// once per process, after the runtime is initialised and before any module is loaded (WAMR
/// resolves imports at load).
pub(crate) fn register_imports(natives: Vec<Native>) -> Result<(), String> {
    let mut by_module: Vec<(&'static str, Vec<sys::NativeSymbol>)> = Vec::new();
    for native in natives {
        let leak = |s: String| CString::new(s).map(|c| c.into_raw().cast_const()).map_err(|e| e.to_string());
        let symbol = sys::NativeSymbol {
            symbol: leak(native.name.to_owned())?,
            func_ptr: native.func,
            signature: leak(signature(native.params, native.results))?,
            attachment: std::ptr::null_mut(),
        };
        match by_module.iter_mut().find(|(module, _)| *module == native.module) {
            Some((_, symbols)) => symbols.push(symbol),
            None => by_module.push((native.module, vec![symbol])),
        }
    }
    for (module, symbols) in by_module {
        let count = u32::try_from(symbols.len()).map_err(|e| e.to_string())?;
        let module_name: *const c_char = CString::new(module).map_err(|e| e.to_string())?.into_raw();
        // WAMR keeps (and sorts) the array and the strings for the life of the process: leak them.
        let symbols = Box::leak(symbols.into_boxed_slice());
        // SAFETY: `module_name`, the array and every string in it are leaked, so they live as long as
        // the registry; each `func_ptr` is a C function taking the execution environment and then
        // the `i32`s its signature string names, and returning what it names.
        let registered = unsafe { sys::wasm_runtime_register_natives(module_name, symbols.as_mut_ptr(), count) };
        if !registered {
            return Err(format!("cannot register the host functions of module {module:?}"));
        }
    }
    Ok(())
}
