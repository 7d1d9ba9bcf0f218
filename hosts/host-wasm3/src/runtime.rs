//! The one place this crate calls wasm3's C API (`wasm3::wasm3_sys`), behind a small safe surface.
//!
//! The `wasm3` crate's safe layer is not enough for this host: it cannot bound the memory, its
//! `Function::call` writes a call's arguments at the base of the runtime's stack (so a call into
//! the guest from inside a host function, which `answer_*_alloc` needs, would overwrite the frames
//! of the guest that is waiting on the host), and its host closures can only fail with one of
//! wasm3's own traps. So this module drives the C runtime directly:
//!
//! - [`Runtime`] owns one wasm3 environment, its runtime (stack and linear memory), the one
//!   module loaded into it, the module's bytes (wasm3 keeps pointers into them), the host state
//!   and the host function bindings; everything is freed together, runtime first.
//! - Host functions are linked with `m3_LinkRawFunctionEx` to one [`trampoline`], whose cookie is a
//!   [`Binding`]: the import's body (a plain Rust function) and a pointer to the host state.
//! - The guest's memory is looked up anew every time it is used (wasm3 reallocates it, moving it,
//!   on `memory.grow`): [`HostCall::memory_and_state`] and [`Runtime::memory`] borrow it for no
//!   longer than the borrow of the `HostCall` or `Runtime`, and a call into the guest needs those
//!   borrows to have ended.

use std::ffi::{CStr, CString, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use harness::{HostError, HostErrorKind};
use wasm3::wasm3_sys as ffi;

use crate::imports::State;

/// An error or a trap as wasm3 reports it: a pointer to one of its static C strings
/// (`"[trap] out of bounds memory access"`, ...), or to this crate's [`HOST_TRAP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct M3Error(ffi::M3Result);

impl M3Error {
    /// wasm3's message.
    pub(crate) fn message(self) -> &'static str {
        if self.0.is_null() {
            return "";
        }
        // SAFETY: every `M3Result` wasm3 returns is null or a pointer to a NUL-terminated string
        // literal (its `m3Err_*` constants and `_throw ("...")` messages), which lives for the
        // whole program; so is `HOST_TRAP`.
        #[allow(unsafe_code)]
        let message = unsafe { CStr::from_ptr(self.0) };
        message.to_str().unwrap_or("(not UTF-8)")
    }

    /// Whether a host function failed: its [`HostError`] is in [`State::host_error`].
    pub(crate) fn is_host_trap(self) -> bool {
        ptr::eq(self.0, HOST_TRAP.as_ptr())
    }

    fn check(result: ffi::M3Result) -> Result<(), M3Error> {
        if result.is_null() { Ok(()) } else { Err(M3Error(result)) }
    }

    fn from_static(message: &'static CStr) -> M3Error {
        M3Error(message.as_ptr())
    }

    /// The trap of an out-of-bounds memory access, as wasm3 words it.
    pub(crate) fn out_of_bounds() -> M3Error {
        M3Error::from_static(OUT_OF_BOUNDS)
    }
}

impl std::fmt::Display for M3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// What [`trampoline`] returns to wasm3 when a host function fails. wasm3 unwinds the guest's
/// call with it as the result; the [`HostError`] itself waits in [`State::host_error`].
static HOST_TRAP: &CStr = c"[host] a host function failed";
static MALLOC_FAILED: &CStr = c"memory allocation failed";
static BAD_SIGNATURE: &CStr = c"the function does not take i32 parameters and return nothing or one i32";
static NO_STACK_LEFT: &CStr = c"[trap] stack overflow";
static OUT_OF_BOUNDS: &CStr = c"[trap] out of bounds memory access";
static MODULE_TOO_LARGE: &CStr = c"the module is larger than 4 GiB";

/// A function of the loaded module. Valid as long as its [`Runtime`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Func(NonNull<ffi::M3Function>);

/// How a host function body fails.
pub(crate) enum HostFailure {
    /// The host refuses the guest's call: the guest's call traps with this error.
    Host(HostError),
    /// A call the host made into the guest (the allocator) trapped: the guest's call ends with
    /// that same trap.
    Guest(M3Error),
}

impl From<HostError> for HostFailure {
    fn from(error: HostError) -> Self {
        HostFailure::Host(error)
    }
}

/// The body of a host function: reads its arguments from the [`HostCall`], returns its result.
pub(crate) type HostFn = Box<dyn Fn(&mut HostCall<'_>) -> Result<Option<i32>, HostFailure>>;

/// A host function bound to an import: the cookie wasm3 passes to [`trampoline`].
pub(crate) struct Binding {
    state: NonNull<State>,
    body: HostFn,
    /// The import, for the error of a panicking body (`None` for the benchmark no-ops).
    import: Option<common::Import>,
    /// The 64-bit slots of the host function's frame on wasm3's stack: its parameters and its
    /// result share them, one slot each. A call into the guest from the host function starts
    /// above them.
    frame_slots: usize,
}

/// One call of a host function, as [`trampoline`] hands it to the body.
pub(crate) struct HostCall<'a> {
    runtime: NonNull<ffi::M3Runtime>,
    sp: *mut u64,
    binding: &'a Binding,
}

impl HostCall<'_> {
    /// The `index`th argument (an `i32`).
    pub(crate) fn arg(&self, index: usize) -> i32 {
        if index >= self.binding.frame_slots {
            return 0;
        }
        // SAFETY: wasm3 passes a host function its arguments in the 64-bit slots at `sp`, one per
        // parameter (`frame_slots` is at least the parameter count); an i32 is the slot's low
        // half, which on a little-endian host (the only ones wasm3's i32 slots support without
        // byte swapping, and the only ones this project runs on) is its first four bytes.
        #[allow(unsafe_code)]
        unsafe {
            self.sp.add(index).cast::<i32>().read_unaligned()
        }
    }

    /// The host state.
    pub(crate) fn state(&mut self) -> &mut State {
        // SAFETY: the state outlives the runtime (see `Runtime::drop`), and nothing else borrows
        // it while a host function runs: the instance borrows it only between guest calls, and
        // an outer host call (waiting on the guest's allocator) holds no borrow across that call.
        #[allow(unsafe_code)]
        unsafe {
            &mut *self.binding.state.as_ptr()
        }
    }

    /// The guest's whole memory, as it is now, and the host state, borrowed together until the
    /// next call into the guest.
    pub(crate) fn memory_and_state(&mut self) -> (&mut [u8], &mut State) {
        // SAFETY: see `memory_of`; the state: see `HostCall::state`. The two do not overlap (one
        // is wasm3's allocation, the other ours).
        #[allow(unsafe_code)]
        unsafe {
            (memory_of(self.runtime), &mut *self.binding.state.as_ptr())
        }
    }

    /// Calls the guest's function `func` with `args` from inside this host function. Its frame
    /// starts above this host function's frame on wasm3's stack, so the guest frames waiting on
    /// the host are untouched. The memory may have moved when it returns.
    pub(crate) fn call_guest(&mut self, func: Func, args: &[i32]) -> Result<Option<i32>, M3Error> {
        // SAFETY: `sp + frame_slots` is the first slot above this host function's frame, inside
        // wasm3's stack or at its end (`invoke` checks the room it needs against the stack's end).
        #[allow(unsafe_code)]
        unsafe {
            invoke(self.runtime, func, self.sp.add(self.binding.frame_slots), args)
        }
    }
}

/// The one native function every import is linked to: runs the [`Binding`]'s body.
///
/// # Safety
///
/// wasm3 calls it for a function linked by [`Runtime::link`], with the runtime the module is
/// loaded in, the host function's frame at `sp`, and the [`Binding`] given there as `cookie`.
#[allow(unsafe_code)]
unsafe extern "C" fn trampoline(
    runtime: ffi::IM3Runtime,
    sp: *mut u64,
    _mem: *mut c_void,
    cookie: *mut c_void,
) -> *const c_void {
    // SAFETY: the cookie is a `Binding` the `Runtime` owns, boxed (so it does not move) and freed
    // only after wasm3's runtime.
    let binding = unsafe { &*cookie.cast::<Binding>() };
    let Some(runtime) = NonNull::new(runtime) else {
        return MALLOC_FAILED.as_ptr().cast();
    };
    let mut call = HostCall { runtime, sp, binding };
    // A panic must not unwind into C: it is caught, and becomes the guest's trap.
    let outcome = match catch_unwind(AssertUnwindSafe(|| (binding.body)(&mut call))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            match binding.import {
                Some(import) => Err(HostFailure::Host(HostError { import, kind: HostErrorKind::Panic(message) })),
                None => Err(HostFailure::Guest(M3Error::from_static(HOST_TRAP))),
            }
        }
    };
    match outcome {
        Ok(result) => {
            if let Some(value) = result {
                // SAFETY: a function with a result has one 64-bit slot for it at `sp` (its frame
                // is at least one slot); the i32 goes in its first four bytes (little-endian).
                unsafe { sp.cast::<i32>().write_unaligned(value) };
            }
            ptr::null()
        }
        Err(HostFailure::Guest(trap)) => trap.0.cast(),
        Err(HostFailure::Host(error)) => {
            call.state().host_error = Some(error);
            HOST_TRAP.as_ptr().cast()
        }
    }
}

/// The guest's linear memory as it is now.
///
/// # Safety
///
/// `runtime` is a live wasm3 runtime, no other reference to its memory exists for the returned
/// lifetime, and wasm3 does not run (and so cannot resize the memory) during it.
#[allow(unsafe_code)]
unsafe fn memory_of<'a>(runtime: NonNull<ffi::M3Runtime>) -> &'a mut [u8] {
    // SAFETY: the caller's contract. `mallocated` is wasm3's allocation of the memory: a header
    // followed by `length` bytes (null before the memory exists, if it ever is).
    unsafe {
        let header = runtime.as_ref().memory.mallocated;
        if header.is_null() {
            return &mut [];
        }
        let length = usize::try_from((*header).length).unwrap_or(0);
        std::slice::from_raw_parts_mut(header.add(1).cast::<u8>(), length)
    }
}

/// Calls `func` with `args` (all i32) with its frame at `sp`, the way wasm3's own `m3_Call` does.
///
/// # Safety
///
/// `runtime` is live and `func` belongs to its module; `sp` points into its stack (or at its end)
/// above every live frame.
#[allow(unsafe_code)]
unsafe fn invoke(
    runtime: NonNull<ffi::M3Runtime>,
    func: Func,
    sp: *mut u64,
    args: &[i32],
) -> Result<Option<i32>, M3Error> {
    // SAFETY: the caller's contract; wasm3's structures are read as its headers declare them.
    unsafe {
        let function = func.0.as_ptr();
        let func_type = &*(*function).funcType;
        let num_args = usize::try_from(func_type.numArgs).unwrap_or(usize::MAX);
        // `argTypes` is a flexible array member of `numArgs` bytes.
        let arg_types = std::slice::from_raw_parts(func_type.argTypes.as_ptr(), num_args);
        let returns = u32::from(func_type.returnType);
        if num_args != args.len()
            || arg_types.iter().any(|t| u32::from(*t) != ffi::_bindgen_ty_1::c_m3Type_i32)
            || (returns != ffi::_bindgen_ty_1::c_m3Type_none && returns != ffi::_bindgen_ty_1::c_m3Type_i32)
        {
            return Err(M3Error::from_static(BAD_SIGNATURE));
        }
        // The arguments (one 64-bit slot each) and the result must fit on the stack; `op_Entry`
        // checks the rest of the function's frame.
        let stack = runtime.as_ref().stack.cast::<u64>();
        let slot_bytes = size_of::<ffi::m3slot_t>() as u64;
        let stack_slots = usize::try_from(u64::from(runtime.as_ref().numStackSlots) * slot_bytes / 8).unwrap_or(0);
        let used = usize::try_from(sp.offset_from(stack)).unwrap_or(usize::MAX);
        if used.saturating_add(args.len().max(1)) > stack_slots {
            return Err(M3Error::from_static(NO_STACK_LEFT));
        }
        if (*function).compiled.is_null() {
            M3Error::check(ffi::Compile_Function(function))?;
        }
        for (i, arg) in args.iter().enumerate() {
            sp.add(i).write(u64::from(arg.cast_unsigned()));
        }
        let pc = (*function).compiled;
        let operation = (*pc.cast::<ffi::IM3Operation>()).ok_or(M3Error::from_static(BAD_SIGNATURE))?;
        let memory = runtime.as_ref().memory.mallocated;
        M3Error::check(operation(pc.add(1), sp.cast(), memory, 0, 0.0).cast())?;
        Ok((returns == ffi::_bindgen_ty_1::c_m3Type_i32).then(|| sp.cast::<i32>().read()))
    }
}

/// One wasm3 environment and runtime with one module loaded, and the host state its imports use.
pub(crate) struct Runtime {
    environment: NonNull<ffi::M3Environment>,
    runtime: NonNull<ffi::M3Runtime>,
    module: NonNull<ffi::M3Module>,
    state: NonNull<State>,
    #[allow(
        clippy::vec_box,
        reason = "wasm3 holds pointers to the bindings: they must not move when the vector grows"
    )]
    bindings: Vec<Box<Binding>>,
    /// wasm3 keeps pointers into the module's bytes (function bodies, names): they must outlive it.
    _bytes: Arc<[u8]>,
}

impl Runtime {
    /// Parses `bytes` and loads the module into a new runtime with a stack of `stack_bytes`,
    /// without running its start function: returns the runtime and the start function, if any,
    /// to run once the imports are linked and the limits set.
    ///
    /// Loading allocates the memory (its initial size), sets the globals, and writes the data and
    /// element segments; a segment that does not fit fails here.
    pub(crate) fn load(bytes: Arc<[u8]>, stack_bytes: u32, state: State) -> Result<(Runtime, Option<Func>), M3Error> {
        let length = u32::try_from(bytes.len()).map_err(|_| M3Error::from_static(MODULE_TOO_LARGE))?;
        let state = NonNull::from(Box::leak(Box::new(state)));
        // SAFETY: the C API used as documented in wasm3.h. Every object is freed exactly once: by
        // `Runtime::drop` once it is built, or here on the way out of a failure.
        #[allow(unsafe_code)]
        unsafe {
            let free_state = || drop(Box::from_raw(state.as_ptr()));
            let Some(environment) = NonNull::new(ffi::m3_NewEnvironment()) else {
                free_state();
                return Err(M3Error::from_static(MALLOC_FAILED));
            };
            let Some(runtime) = NonNull::new(ffi::m3_NewRuntime(environment.as_ptr(), stack_bytes, ptr::null_mut()))
            else {
                ffi::m3_FreeEnvironment(environment.as_ptr());
                free_state();
                return Err(M3Error::from_static(MALLOC_FAILED));
            };
            let fail = |error: M3Error| {
                ffi::m3_FreeRuntime(runtime.as_ptr());
                ffi::m3_FreeEnvironment(environment.as_ptr());
                free_state();
                Err(error)
            };
            let mut module = ptr::null_mut();
            if let Err(e) =
                M3Error::check(ffi::m3_ParseModule(environment.as_ptr(), &mut module, bytes.as_ptr(), length))
            {
                if !module.is_null() {
                    ffi::m3_FreeModule(module);
                }
                return fail(e);
            }
            let Some(module) = NonNull::new(module) else {
                return fail(M3Error::from_static(MALLOC_FAILED));
            };
            // m3_LoadModule would run the start function before the imports are linked and the
            // memory limit is set: take it out, and hand it back to run later.
            let start = (*module.as_ptr()).startFunction;
            (*module.as_ptr()).startFunction = -1;
            if let Err(e) = M3Error::check(ffi::m3_LoadModule(runtime.as_ptr(), module.as_ptr())) {
                // A module that failed to load still belongs to us.
                ffi::m3_FreeModule(module.as_ptr());
                return fail(e);
            }
            let runtime = Runtime { environment, runtime, module, state, bindings: Vec::new(), _bytes: bytes };
            let start = u32::try_from(start).ok().and_then(|index| runtime.function(index));
            Ok((runtime, start))
        }
    }

    /// Links the module's import `module.name`, of wasm3 signature `signature` (`"v(ii)"`, ...)
    /// with `frame_slots` parameters or results, to `body`. Does nothing if the module does not
    /// import it.
    pub(crate) fn link(
        &mut self,
        module: &str,
        name: &str,
        signature: &str,
        import: Option<common::Import>,
        body: HostFn,
    ) -> Result<(), M3Error> {
        let (Ok(module_c), Ok(name_c), Ok(signature_c)) =
            (CString::new(module), CString::new(name), CString::new(signature))
        else {
            return Err(M3Error::from_static(BAD_SIGNATURE));
        };
        let frame_slots = signature.len().saturating_sub(3).max(1);
        let binding = Box::new(Binding { state: self.state, body, import, frame_slots });
        let cookie = ptr::from_ref::<Binding>(&binding).cast_mut().cast::<c_void>();
        // SAFETY: the strings are valid C strings for the call (wasm3 only compares them); the
        // cookie stays valid as long as the runtime (the box is kept in `self.bindings`, freed
        // after the runtime).
        #[allow(unsafe_code)]
        let result = unsafe {
            ffi::m3_LinkRawFunctionEx(
                self.module.as_ptr(),
                module_c.as_ptr(),
                name_c.as_ptr(),
                signature_c.as_ptr(),
                Some(trampoline),
                cookie,
            )
        };
        self.bindings.push(binding);
        match M3Error::check(result) {
            // The module does not import it.
            Err(e) if e.message() == "function lookup failed" => Ok(()),
            other => other,
        }
    }

    /// Lowers the most pages the memory may grow to (its declared maximum, or 65,536) to `pages`:
    /// `memory.grow` past it fails (returns -1).
    pub(crate) fn limit_memory_pages(&mut self, pages: u32) {
        // SAFETY: the runtime is live, and no guest code runs during `&mut self`.
        #[allow(unsafe_code)]
        unsafe {
            let memory = &mut (*self.runtime.as_ptr()).memory;
            memory.maxPages = memory.maxPages.min(pages);
        }
    }

    /// Makes wasm3's table (which it sizes to the end of the last element segment) as large as
    /// the module declares it, `size` elements, the new entries null: an indirect call to an
    /// index inside the declared table then finds a null entry, as on every other runtime, not
    /// an index out of range.
    pub(crate) fn size_table(&mut self, size: u32) -> Result<(), M3Error> {
        // SAFETY: the runtime is live and no guest code runs during `&mut self`; `table0` is
        // wasm3's allocation of `table0Size` function pointers, resized with wasm3's own
        // allocator function (which zeroes the new entries).
        #[allow(unsafe_code)]
        unsafe {
            let module = &mut *self.module.as_ptr();
            if module.table0Size >= size {
                return Ok(());
            }
            let entry = size_of::<ffi::IM3Function>();
            let new_bytes = usize::try_from(size).unwrap_or(usize::MAX).saturating_mul(entry);
            let old_bytes = usize::try_from(module.table0Size).unwrap_or(0).saturating_mul(entry);
            let table = ptr::from_mut(&mut module.table0).cast::<*mut c_void>();
            M3Error::check(ffi::m3_Realloc(table, new_bytes as ffi::size_t, old_bytes as ffi::size_t))?;
            module.table0Size = size;
        }
        Ok(())
    }

    /// The function at `index` in the module's function index space (imports first).
    pub(crate) fn function(&self, index: u32) -> Option<Func> {
        // SAFETY: `functions` is wasm3's array of `numFunctions` functions, which lives as long
        // as the module.
        #[allow(unsafe_code)]
        unsafe {
            let module = self.module.as_ref();
            if index >= module.numFunctions || module.functions.is_null() {
                return None;
            }
            NonNull::new(module.functions.add(usize::try_from(index).ok()?)).map(Func)
        }
    }

    /// Calls `func` with `args` from the host (not from inside a host function).
    pub(crate) fn call(&mut self, func: Func, args: &[i32]) -> Result<Option<i32>, M3Error> {
        // SAFETY: `func` came from `self.function`; with `&mut self` no guest code runs, so no
        // frame is live and the call starts at the base of the stack, as `m3_Call` does.
        #[allow(unsafe_code)]
        unsafe {
            let stack = self.runtime.as_ref().stack.cast::<u64>();
            invoke(self.runtime, func, stack, args)
        }
    }

    /// wasm3's own words on the last error, if it has any (e.g. which opcode it could not
    /// compile), and forgets them.
    pub(crate) fn take_error_message(&mut self) -> Option<String> {
        // SAFETY: the runtime is live; `m3_GetErrorInfo` copies its error record out and resets
        // it; the message is null or a NUL-terminated string (a literal, or the runtime's own
        // message buffer), copied out before anything else runs.
        #[allow(unsafe_code)]
        unsafe {
            let mut info = std::mem::MaybeUninit::<ffi::M3ErrorInfo>::zeroed();
            ffi::m3_GetErrorInfo(self.runtime.as_ptr(), info.as_mut_ptr());
            let message = info.assume_init().message;
            if message.is_null() {
                return None;
            }
            let message = CStr::from_ptr(message).to_string_lossy().trim().to_owned();
            (!message.is_empty()).then_some(message)
        }
    }

    /// The guest's whole memory, as it is now.
    pub(crate) fn memory(&mut self) -> &mut [u8] {
        // SAFETY: `&mut self` excludes guest code and other borrows for the slice's lifetime.
        #[allow(unsafe_code)]
        unsafe {
            memory_of(self.runtime)
        }
    }

    /// The host state.
    pub(crate) fn state(&self) -> &State {
        // SAFETY: allocated in `load`, freed in `drop`; guest code (the only other user) needs
        // `&mut self` to run.
        #[allow(unsafe_code)]
        unsafe {
            self.state.as_ref()
        }
    }

    /// The host state, mutably.
    pub(crate) fn state_mut(&mut self) -> &mut State {
        // SAFETY: as for `state`, with `&mut self`.
        #[allow(unsafe_code)]
        unsafe {
            self.state.as_mut()
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // SAFETY: each was allocated once, in `load`, and is freed once, here: the runtime first
        // (with its module, which may still point at the bindings and the bytes), then the
        // environment, then the state; the bindings and bytes are dropped after this.
        #[allow(unsafe_code)]
        unsafe {
            ffi::m3_FreeRuntime(self.runtime.as_ptr());
            ffi::m3_FreeEnvironment(self.environment.as_ptr());
            drop(Box::from_raw(self.state.as_ptr()));
        }
    }
}

/// Whether wasm3's parser accepts `bytes` (it refuses some valid modules, e.g. with too many
/// function parameters), checked in an environment of its own that is freed at once.
pub(crate) fn parse_check(bytes: &[u8]) -> Result<(), M3Error> {
    let length = u32::try_from(bytes.len()).map_err(|_| M3Error::from_static(MODULE_TOO_LARGE))?;
    // SAFETY: the C API used as documented in wasm3.h; the bytes outlive the parsed module, which
    // is freed (unloaded modules are ours to free) before the environment.
    #[allow(unsafe_code)]
    unsafe {
        let environment = ffi::m3_NewEnvironment();
        if environment.is_null() {
            return Err(M3Error::from_static(MALLOC_FAILED));
        }
        let mut module = ptr::null_mut();
        let result = ffi::m3_ParseModule(environment, &mut module, bytes.as_ptr(), length);
        if !module.is_null() {
            ffi::m3_FreeModule(module);
        }
        ffi::m3_FreeEnvironment(environment);
        M3Error::check(result)
    }
}
