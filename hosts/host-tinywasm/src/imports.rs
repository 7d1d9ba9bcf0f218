//! The wasm-hostcall imports bound on tinywasm: the file to copy into your own host, with
//! `src/memory.rs` (the memory backend it reads in place) beside it.
//!
//! Each import body borrows the guest's memory and the host state together (zero-copy, and no
//! view of memory outlives the call) and makes one call to [`Recorder`], which decodes, checks
//! and writes with the `common` ABI. The only thing done here is what is specific to tinywasm:
//! getting at the memory, calling the guest's allocator, and turning errors into traps.
//!
//! tinywasm's stores hold no host data and its host functions are closures bound to one store,
//! so the imports are defined anew for every store, each closure holding the instance's
//! [`Host`] state (`Rc<RefCell<…>>`). The guest's memory is a [`GuestMemory`] the host shares
//! with tinywasm (see `memory.rs`): tinywasm 0.10 lends no slice of a memory.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
use tinywasm::types::WasmValue;
use tinywasm::{FuncContext, Function, HostFunction, Imports, ModuleInstance, Store};

use crate::memory::GuestMemory;

/// The guest's allocator, `guest_alloc(size, align) -> ptr`, its type checked.
pub(crate) type Allocator = Function;

/// What the imports of one instance share.
pub(crate) struct Host {
    /// The guest's exported memory, looked up once after instantiation.
    pub(crate) memory: Option<GuestMemory>,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Allocator>,
    /// Events, and the call in progress. The instance keeps its own recorder between calls and
    /// swaps it in here for the length of each call into the guest.
    pub(crate) recorder: Recorder,
}

/// The state the imports of one instance share.
pub(crate) type SharedHost = Rc<RefCell<Host>>;

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(store: &Store, instance: &ModuleInstance) -> GuestAllocator<Allocator> {
    match instance.func::<(i32, i32), i32>(store, ALLOCATOR_EXPORT) {
        Ok(allocator) => GuestAllocator::Found(allocator.func),
        Err(_) if instance.extern_item(ALLOCATOR_EXPORT).is_ok() => GuestAllocator::Mistyped,
        Err(_) => GuestAllocator::Missing,
    }
}

/// Binds every import of the ABI in `store`.
pub(crate) fn define_imports(store: &mut Store, host: &SharedHost) -> Imports {
    let mut imports = Imports::new();
    let state = host.clone();
    let log_int = HostFunction::from(store, move |_, value: i32| {
        let mut state = state.try_borrow_mut().map_err(|_| busy(Import::LogInt))?;
        state.recorder.log_int(value).map_err(host_trap)
    });
    imports.define(IMPORT_MODULE, Import::LogInt.name(), log_int);
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        let state = host.clone();
        let log = HostFunction::from(store, move |_, (ptr, len): (i32, i32)| {
            with_memory(&state, import, |memory, recorder| recorder.log_from_memory(import, memory, ptr, len))
        });
        imports.define(IMPORT_MODULE, import.name(), log);
    }
    for import in [Import::AnswerStr, Import::AnswerAb, Import::AnswerCd, Import::KvGet] {
        let state = host.clone();
        let answer = HostFunction::from(
            store,
            move |_, (ptr, len, out_ptr, out_cap, out_len_ptr): (i32, i32, i32, i32, i32)| {
                with_memory(&state, import, |memory, recorder| {
                    recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)
                })
            },
        );
        imports.define(IMPORT_MODULE, import.name(), answer);
    }
    for import in [Import::AnswerStrAlloc, Import::AnswerAbAlloc, Import::AnswerCdAlloc] {
        let state = host.clone();
        let answer = HostFunction::from(store, move |mut ctx, (ptr, len, ret_ptr): (i32, i32, i32)| {
            answer_with_allocator(&mut ctx, &state, import, ptr, len, ret_ptr)
        });
        imports.define(IMPORT_MODULE, import.name(), answer);
    }
    let state = host.clone();
    let request_read = HostFunction::from(store, move |_, (out_ptr, out_cap, out_len_ptr): (i32, i32, i32)| {
        with_memory(&state, Import::RequestRead, |memory, recorder| {
            recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)
        })
    });
    imports.define(IMPORT_MODULE, Import::RequestRead.name(), request_read);
    for import in [Import::RespondStr, Import::RespondAb, Import::RespondCd] {
        let state = host.clone();
        let respond = HostFunction::from(store, move |_, (ptr, len): (i32, i32)| {
            with_memory(&state, import, |memory, recorder| recorder.respond(import, memory, ptr, len))
        });
        imports.define(IMPORT_MODULE, import.name(), respond);
    }
    imports
}

/// Runs `body` with the guest's whole memory and the recorder, borrowed together for the length of
/// one import body. Fails when the memory is not bound yet (an import called from a start function).
fn with_memory<R>(
    host: &SharedHost,
    import: Import,
    body: impl FnOnce(&mut [u8], &mut Recorder) -> Result<R, HostError>,
) -> tinywasm::Result<R> {
    let mut state = host.try_borrow_mut().map_err(|_| busy(import))?;
    let Host { memory, recorder, .. } = &mut *state;
    let memory =
        memory.as_ref().ok_or(HostError { import, kind: HostErrorKind::MemoryUnavailable }).map_err(host_trap)?;
    let mut bytes = memory.bytes_mut().ok_or_else(|| busy(import))?;
    body(&mut bytes, recorder).map_err(host_trap)
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap, run out of fuel, or grow
/// (and so move) memory, so no view of memory (nor borrow of the host state) is held across the
/// call, and every import it makes is refused ([`Recorder::begin_alloc`]), which bounds re-entry
/// to this one call.
fn answer_with_allocator(
    ctx: &mut FuncContext<'_>,
    host: &SharedHost,
    import: Import,
    ptr: i32,
    len: i32,
    ret_ptr: i32,
) -> tinywasm::Result<()> {
    with_memory(host, import, |_, _| Ok(()))?;
    let allocator = host.try_borrow().map_err(|_| busy(import))?.allocator.get(import).map_err(host_trap)?;
    let pending =
        with_memory(host, import, |memory, recorder| recorder.begin_alloc(import, memory, ptr, len, ret_ptr))?;
    let allocated = ctx.call_untyped(&allocator, &[WasmValue::I32(pending.size()), WasmValue::I32(pending.align())]);
    host.try_borrow_mut().map_err(|_| busy(import))?.recorder.allocator_returned();
    let allocated = match allocated?.as_slice() {
        [WasmValue::I32(allocated)] => *allocated,
        _ => return Err(tinywasm::Error::Other(format!("{import}: {ALLOCATOR_EXPORT} returned no i32"))),
    };
    with_memory(host, import, |memory, recorder| recorder.finish_alloc(import, memory, pending, allocated))
}

/// A [`HostError`] carried through tinywasm (inside `Trap::HostFunction`).
#[derive(Debug)]
pub(crate) struct HostTrap(pub(crate) HostError);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HostTrap {}

/// A [`HostError`] as the error a tinywasm host function returns to trap.
fn host_trap(error: HostError) -> tinywasm::Error {
    tinywasm::Error::Trap(tinywasm::Trap::HostFunction(Box::new(HostTrap(error))))
}

/// The error for host state found borrowed: a bug in this host, reported rather than panicking.
fn busy(import: Import) -> tinywasm::Error {
    tinywasm::Error::Other(format!("{import}: the host state or the guest memory is already borrowed"))
}
