//! The wasm-hostcall imports bound on Silverfir-nano: the file to copy into your own host, with
//! `harness::rewrite::alloc` if your guests use the `answer_*_alloc` imports.
//!
//! Each import body borrows the guest's memory ([`Caller::memory_mut`], the whole memory, in place)
//! and the host state together for the length of one body, and makes one call to [`Recorder`],
//! which decodes, checks and writes with the `common` ABI. The only thing done here is what is
//! specific to Silverfir-nano: getting at the memory, and turning errors into traps.
//!
//! Silverfir-nano's host functions are closures bound at instantiation (`Import::func_typed`), so
//! the imports are made anew for every instance, each closure holding the instance's [`Host`]
//! state (`Rc<RefCell<…>>`). Its errors ([`WasmError`]) carry only a `&'static str`, so a host
//! function that refuses the guest's call keeps its [`HostError`] in [`Host::error`] and traps with
//! [`HOST_ERROR`]; the host reads the error back when the call has ended.
//!
//! **The allocator.** A host function cannot call into its own instance once it has looked at its
//! memory (the view is held until the host function returns, and a call into the instance is
//! refused while it is), so `answer_*_alloc` cannot call `guest_alloc` between reading the
//! argument and writing the answer, as it does on every other runtime. The module is rewritten
//! instead (`harness::rewrite::alloc`): each `answer_*_alloc` becomes a function of the module
//! that calls two host functions, `begin` ([`Recorder::begin_alloc`]) and `finish`
//! ([`Recorder::finish_alloc`]), with its own call to `guest_alloc` between them, and the host
//! binds both halves here. The import itself is still bound: it is what the guest calls when it
//! exports no allocator of the right type (nothing was rewritten), and it then fails with
//! `host.alloc-missing` or `host.alloc-type`.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (begin, guest_alloc, finish)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use common::{IMPORT_MODULE, Import, PendingAnswer};
use harness::rewrite::alloc::{HALVES_MODULE, begin_name, finish_name};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
use sf_nano_core::value_type::ValueType;
use sf_nano_core::{Caller, FunctionType, Value, WasmError};

/// The message of the trap a host function returns when it refuses the guest's call; the
/// [`HostError`] itself is in [`Host::error`].
pub(crate) const HOST_ERROR: &str = "wasm-hostcall: a host function refused the guest's call";

/// What the imports of one instance share.
pub(crate) struct Host {
    /// Whether the guest's memory may be used: not before the start function has run (the other
    /// runtimes look the exported memory up only after instantiation).
    pub(crate) memory_bound: bool,
    /// Whether the guest exports an allocator of the right type (then the module was rewritten,
    /// see the module documentation).
    pub(crate) allocator: GuestAllocator<()>,
    /// Events, and the call in progress. The instance keeps its own recorder between calls and
    /// swaps it in here for the length of each call into the guest.
    pub(crate) recorder: Recorder,
    /// The answer computed by an `answer_*_alloc` import's first half, waiting for its second.
    pub(crate) pending: Option<(Import, PendingAnswer)>,
    /// Why a host function made the guest's call trap.
    pub(crate) error: Option<HostError>,
}

impl Host {
    /// The state of a new instance, before it has run anything.
    pub(crate) fn new(allocator: GuestAllocator<()>) -> Host {
        Host {
            memory_bound: false,
            allocator,
            recorder: Recorder::new(host_imports::Sink::Discard, 0),
            pending: None,
            error: None,
        }
    }
}

/// The state the imports of one instance share.
pub(crate) type SharedHost = Rc<RefCell<Host>>;

/// Every import of the ABI bound to `host`, and the two halves of each import in `split` (those
/// `harness::rewrite::alloc` redirected).
pub(crate) fn imports(host: &SharedHost, split: &[Import]) -> Vec<sf_nano_core::Import> {
    let mut imports = Vec::new();
    for import in Import::ALL {
        let state = Rc::clone(host);
        let body = move |caller: &mut Caller<'_>, args: &[Value], results: &mut [Value]| {
            body(import, caller, &state, args, results)
        };
        let ty = function_type(import.params().len(), import.results().len());
        imports.push(sf_nano_core::Import::func_typed(IMPORT_MODULE, import.name(), body, ty));
    }
    for &import in split {
        let state = Rc::clone(host);
        let begin = move |caller: &mut Caller<'_>, args: &[Value], results: &mut [Value]| {
            let [ptr, len, ret_ptr] = i32_args(args)?;
            let pending = with_memory(caller, &state, import, |memory, recorder| {
                recorder.begin_alloc(import, memory, ptr, len, ret_ptr)
            })?;
            set_results(results, &[pending.size(), pending.align()])?;
            borrow(&state)?.pending = Some((import, pending));
            Ok(())
        };
        imports.push(sf_nano_core::Import::func_typed(HALVES_MODULE, &begin_name(import), begin, function_type(3, 2)));
        let state = Rc::clone(host);
        let finish = move |caller: &mut Caller<'_>, args: &[Value], _: &mut [Value]| {
            let [allocated] = i32_args(args)?;
            let pending = {
                let mut host = borrow(&state)?;
                host.recorder.allocator_returned();
                host.pending.take()
            };
            let Some((_, pending)) = pending.filter(|(waiting, _)| *waiting == import) else {
                return Err(WasmError::trap("wasm-hostcall: the second half of an allocation without its first"));
            };
            with_memory(caller, &state, import, |memory, recorder| {
                recorder.finish_alloc(import, memory, pending, allocated)
            })
        };
        imports.push(sf_nano_core::Import::func_typed(
            HALVES_MODULE,
            &finish_name(import),
            finish,
            function_type(1, 0),
        ));
    }
    imports
}

/// The body of `import`.
fn body(
    import: Import,
    caller: &mut Caller<'_>,
    host: &SharedHost,
    args: &[Value],
    results: &mut [Value],
) -> Result<(), WasmError> {
    match import {
        Import::LogInt => {
            let [value] = i32_args(args)?;
            let mut state = borrow(host)?;
            let outcome = state.recorder.log_int(value);
            refuse(&mut state, outcome)
        }
        Import::LogStr | Import::LogAb | Import::LogCd => {
            let [ptr, len] = i32_args(args)?;
            with_memory(caller, host, import, |memory, recorder| recorder.log_from_memory(import, memory, ptr, len))
        }
        Import::AnswerStr | Import::AnswerAb | Import::AnswerCd | Import::KvGet => {
            let [ptr, len, out_ptr, out_cap, out_len_ptr] = i32_args(args)?;
            let status = with_memory(caller, host, import, |memory, recorder| {
                recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)
            })?;
            set_results(results, &[status])
        }
        Import::AnswerStrAlloc | Import::AnswerAbAlloc | Import::AnswerCdAlloc => {
            // Called only when the module was not rewritten: it exports no allocator of the right
            // type, and this fails as every runtime does (after the same memory check).
            with_memory(caller, host, import, |_, _| Ok(()))?;
            let mut state = borrow(host)?;
            let allocator = state.allocator.get(import);
            refuse(&mut state, allocator)?;
            Err(WasmError::trap("wasm-hostcall: answer_*_alloc called in a module rewritten to call its allocator"))
        }
        Import::RequestRead => {
            let [out_ptr, out_cap, out_len_ptr] = i32_args(args)?;
            let status = with_memory(caller, host, import, |memory, recorder| {
                recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)
            })?;
            set_results(results, &[status])
        }
        Import::RespondStr | Import::RespondAb | Import::RespondCd => {
            let [ptr, len] = i32_args(args)?;
            with_memory(caller, host, import, |memory, recorder| recorder.respond(import, memory, ptr, len))
        }
    }
}

/// Runs `body` with the guest's whole memory and the recorder, borrowed together for the length of
/// one import body. Fails when the memory is not bound yet (an import called from a start function).
fn with_memory<R>(
    caller: &mut Caller<'_>,
    host: &SharedHost,
    import: Import,
    body: impl FnOnce(&mut [u8], &mut Recorder) -> Result<R, HostError>,
) -> Result<R, WasmError> {
    let mut state = borrow(host)?;
    let unavailable = HostError { import, kind: HostErrorKind::MemoryUnavailable };
    let outcome = match caller.memory_mut() {
        Some(memory) if state.memory_bound => body(memory, &mut state.recorder),
        _ => Err(unavailable),
    };
    refuse(&mut state, outcome)
}

/// `outcome`'s value, or the trap that ends the guest's call with its error kept in `host`.
fn refuse<R>(host: &mut Host, outcome: Result<R, HostError>) -> Result<R, WasmError> {
    outcome.map_err(|error| {
        host.error = Some(error);
        WasmError::trap(HOST_ERROR)
    })
}

/// The host state, borrowed; it is never borrowed across a call into the guest, so a failure is
/// a bug of this host, reported rather than panicking.
fn borrow(host: &SharedHost) -> Result<std::cell::RefMut<'_, Host>, WasmError> {
    host.try_borrow_mut().map_err(|_| WasmError::trap("wasm-hostcall: the host state is already borrowed"))
}

/// The `i32` arguments of a call, `N` of them (Silverfir-nano checked the import's type).
fn i32_args<const N: usize>(args: &[Value]) -> Result<[i32; N], WasmError> {
    let mut values = [0; N];
    if args.len() != N {
        return Err(WasmError::trap("wasm-hostcall: a host function got the wrong number of arguments"));
    }
    for (value, arg) in values.iter_mut().zip(args) {
        let Value::I32(arg) = arg else {
            return Err(WasmError::trap("wasm-hostcall: a host function got an argument that is not an i32"));
        };
        *value = *arg;
    }
    Ok(values)
}

/// Sets the `i32` results of a call.
fn set_results(results: &mut [Value], values: &[i32]) -> Result<(), WasmError> {
    if results.len() != values.len() {
        return Err(WasmError::trap("wasm-hostcall: a host function has the wrong number of results"));
    }
    for (result, value) in results.iter_mut().zip(values) {
        *result = Value::I32(*value);
    }
    Ok(())
}

/// `(i32 × params) -> (i32 × results)`.
pub(crate) fn function_type(params: usize, results: usize) -> FunctionType {
    FunctionType::new(vec![ValueType::I32; params], vec![ValueType::I32; results])
}
