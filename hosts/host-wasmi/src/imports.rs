//! The wasm-hostcall imports bound on wasmi: the file to copy into your own host.
//!
//! Each import body borrows the guest's memory and the host state together (zero-copy, and no
//! view of memory outlives the call) and makes one call to [`Recorder`], which decodes, checks
//! and writes with the `common` ABI. The only thing done here is what is specific to wasmi:
//! getting at the memory, calling the guest's allocator, and turning errors into traps.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```
//!
//! With [`HostCalls::Async`], `kv_get` suspends the guest instead of blocking: it checks its
//! arguments and returns the lookup as a resumable host error ([`KvPending`]); [`call_async`],
//! which drives every call with `call_resumable`, awaits the store's lookup
//! ([`KvStore::get_async`](host_imports::KvStore::get_async)), writes the value and resumes the
//! guest with the status, as if the import had returned it. The guest also yields to the executor
//! at the end of each fuel slice, so a looping guest cannot hold an executor thread.

use std::time::Instant;

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import};
use host_imports::{GuestAllocator, HostError, HostErrorKind, KvLookup, Recorder};
use wasmi::{
    AsContext, AsContextMut, Caller, Func, Linker, Memory, ResumableCall, StoreLimits, TrapCode, TypedFunc, Val,
};

/// The guest's allocator: `guest_alloc(size, align) -> ptr`.
pub(crate) type Allocator = TypedFunc<(i32, i32), i32>;

/// What each store holds.
pub(crate) struct State {
    /// The guest's exported memory, looked up once after instantiation.
    pub(crate) memory: Option<Memory>,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Allocator>,
    /// Events, and the call in progress.
    pub(crate) recorder: Recorder,
    pub(crate) store_limits: StoreLimits,
    /// With a timeout: the guest runs in fuel slices, and the clock is read between them.
    pub(crate) slices: Option<Slices>,
}

/// wasmi cannot be interrupted from another thread, but a call can be resumed after it runs out
/// of fuel ([`Func::call_resumable`]). With a timeout (and on the async tier), the store gets its
/// fuel one slice at a time; each time a slice runs out, the deadline is checked before the next
/// one is given (and [`call_async`] yields). The instance's own fuel budget, if it has one, is
/// what the slices are taken from.
pub(crate) struct Slices {
    /// When the guest must be done by, if it has a timeout.
    pub(crate) deadline: Option<Instant>,
    /// The instance's fuel not yet given to the store (`u64::MAX` without a fuel limit).
    pub(crate) reserve: u64,
}

/// The fuel of one slice: about 0.1-1 ms of guest code, how late a deadline may be noticed.
pub const SLICE: u64 = 100_000;

/// The guest was still running at its deadline.
#[derive(Debug)]
pub(crate) struct DeadlinePassed;

impl std::fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the guest ran past its deadline")
    }
}

impl wasmi::errors::HostError for DeadlinePassed {}

/// Calls `func`: plainly, or, if the store has [`Slices`], resumed slice after slice until it
/// returns, fails, runs out of the instance's fuel, or passes its deadline
/// ([`DeadlinePassed`]). Used for every call into the guest, the allocator's included, so that
/// a loop anywhere in the guest ends at the deadline.
pub(crate) fn call_in_slices(
    mut ctx: impl AsContextMut<Data = State>,
    func: &Func,
    inputs: &[Val],
    outputs: &mut [Val],
) -> Result<(), wasmi::Error> {
    match &ctx.as_context().data().slices {
        None => return func.call(ctx, inputs, outputs),
        // A call that starts after the deadline (a later call on the same instance) is refused:
        // with fuel left from its slice, it would not look at the clock before it ran out.
        Some(slices) if passed(slices) => return Err(wasmi::Error::host(DeadlinePassed)),
        Some(_) => {}
    }
    let mut call = func.call_resumable(&mut ctx, inputs, outputs)?;
    loop {
        match call {
            ResumableCall::Finished => return Ok(()),
            // An import failed: the call ends with its error.
            ResumableCall::HostTrap(trap) => return Err(trap.into_host_error()),
            ResumableCall::OutOfFuel(out_of_fuel) => {
                next_slice(&mut ctx, out_of_fuel.required_fuel())?;
                call = out_of_fuel.resume(&mut ctx, outputs)?;
            }
        }
    }
}

/// Whether the deadline of `slices` has passed.
fn passed(slices: &Slices) -> bool {
    slices.deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// A `kv_get` waiting for its lookup ([`HostCalls::Async`]): the host error with which the import
/// suspends the guest's call, for [`call_async`] to answer and resume.
#[derive(Debug)]
pub(crate) struct KvPending(KvLookup);

impl std::fmt::Display for KvPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kv_get is waiting for the key {:?}", self.0.key)
    }
}

impl wasmi::errors::HostError for KvPending {}

/// [`call_in_slices`] as a future, for the async tier: the call is resumable throughout. When
/// `kv_get` suspends it ([`KvPending`]), the lookup is awaited, its value written and the guest
/// resumed with the status; at the end of each fuel slice the task yields to the executor (the
/// deadline is checked first). The allocator called from `answer_*_alloc` runs synchronously, in
/// slices, inside the import (it cannot reach `kv_get`: every import is refused meanwhile).
pub(crate) async fn call_async(
    store: &mut wasmi::Store<State>,
    func: &Func,
    inputs: &[Val],
    outputs: &mut [Val],
) -> Result<(), wasmi::Error> {
    if store.data().slices.as_ref().is_some_and(passed) {
        return Err(wasmi::Error::host(DeadlinePassed));
    }
    let mut call = func.call_resumable(&mut *store, inputs, outputs)?;
    loop {
        call = match call {
            ResumableCall::Finished => return Ok(()),
            ResumableCall::HostTrap(trap) => {
                let Some(KvPending(lookup)) = trap.host_error().downcast_ref::<KvPending>() else {
                    return Err(trap.into_host_error());
                };
                let lookup = lookup.clone();
                let kv = store.data().recorder.kv_store();
                // The guest waits here; no view of memory is held.
                let value = kv.get_async(&lookup.key).await;
                let memory = store.data().memory.ok_or_else(|| {
                    host_trap(HostError { import: Import::KvGet, kind: HostErrorKind::MemoryUnavailable })
                })?;
                let (memory, state) = memory.data_and_store_mut(&mut *store);
                let status = state.recorder.kv_finish(memory, lookup, value.as_deref()).map_err(host_trap)?;
                trap.resume(&mut *store, &[Val::I32(status)], outputs)?
            }
            ResumableCall::OutOfFuel(out_of_fuel) => {
                next_slice(&mut *store, out_of_fuel.required_fuel())?;
                tokio::task::yield_now().await;
                out_of_fuel.resume(&mut *store, outputs)?
            }
        };
    }
}

/// Gives the store its next slice of fuel (at least `required`, what the next instruction
/// costs), unless the deadline has passed or the instance's fuel is used up.
fn next_slice(mut ctx: impl AsContextMut<Data = State>, required: u64) -> Result<(), wasmi::Error> {
    let mut store = ctx.as_context_mut();
    let left = store.get_fuel()?;
    let Some(slices) = store.data_mut().slices.as_mut() else { return Err(TrapCode::OutOfFuel.into()) };
    if passed(slices) {
        return Err(wasmi::Error::host(DeadlinePassed));
    }
    let budget = slices.reserve.saturating_add(left);
    let slice = SLICE.max(required).min(budget);
    if slice < required {
        return Err(TrapCode::OutOfFuel.into());
    }
    slices.reserve = budget - slice;
    store.set_fuel(slice)
}

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(store: impl AsContext, instance: &wasmi::Instance) -> GuestAllocator<Allocator> {
    match instance.get_typed_func::<(i32, i32), i32>(&store, ALLOCATOR_EXPORT) {
        Ok(allocator) => GuestAllocator::Found(allocator),
        Err(_) if instance.get_export(&store, ALLOCATOR_EXPORT).is_some() => GuestAllocator::Mistyped,
        Err(_) => GuestAllocator::Missing,
    }
}

/// How `kv_get` is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCalls {
    /// A plain host function: `kv_get` blocks its thread for as long as the lookup takes.
    Blocking,
    /// `kv_get` suspends the guest's call ([`KvPending`]); calls go through [`call_async`].
    Async,
}

/// Binds every import of the ABI.
pub(crate) fn define_imports(linker: &mut Linker<State>, calls: HostCalls) -> Result<(), wasmi::errors::LinkerError> {
    linker.func_wrap(IMPORT_MODULE, Import::LogInt.name(), |mut caller: Caller<'_, State>, value: i32| {
        caller.data_mut().recorder.log_int(value).map_err(host_trap)
    })?;
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let (memory, state) = memory_and_state(&mut caller, import).map_err(host_trap)?;
            state.recorder.log_from_memory(import, memory, ptr, len).map_err(host_trap)
        })?;
    }
    let answers_into: &[Import] = match calls {
        HostCalls::Blocking => &[Import::AnswerStr, Import::AnswerAb, Import::AnswerCd, Import::KvGet],
        HostCalls::Async => &[Import::AnswerStr, Import::AnswerAb, Import::AnswerCd],
    };
    for &import in answers_into {
        linker.func_wrap(
            IMPORT_MODULE,
            import.name(),
            move |mut caller: Caller<'_, State>, ptr: i32, len: i32, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
                let (memory, state) = memory_and_state(&mut caller, import).map_err(host_trap)?;
                state.recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr).map_err(host_trap)
            },
        )?;
    }
    if calls == HostCalls::Async {
        linker.func_wrap(
            IMPORT_MODULE,
            Import::KvGet.name(),
            |mut caller: Caller<'_, State>,
             ptr: i32,
             len: i32,
             out_ptr: i32,
             out_cap: i32,
             out_len_ptr: i32|
             -> Result<i32, wasmi::Error> {
                let (memory, state) = memory_and_state(&mut caller, Import::KvGet).map_err(host_trap)?;
                let lookup =
                    state.recorder.kv_begin(memory, ptr, len, out_ptr, out_cap, out_len_ptr).map_err(host_trap)?;
                Err(wasmi::Error::host(KvPending(lookup)))
            },
        )?;
    }
    for import in [Import::AnswerStrAlloc, Import::AnswerAbAlloc, Import::AnswerCdAlloc] {
        linker.func_wrap(
            IMPORT_MODULE,
            import.name(),
            move |mut caller: Caller<'_, State>, ptr: i32, len: i32, ret_ptr: i32| {
                answer_with_allocator(&mut caller, import, ptr, len, ret_ptr)
            },
        )?;
    }
    linker.func_wrap(
        IMPORT_MODULE,
        Import::RequestRead.name(),
        |mut caller: Caller<'_, State>, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
            let (memory, state) = memory_and_state(&mut caller, Import::RequestRead).map_err(host_trap)?;
            state.recorder.request_read(memory, out_ptr, out_cap, out_len_ptr).map_err(host_trap)
        },
    )?;
    for import in [Import::RespondStr, Import::RespondAb, Import::RespondCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let (memory, state) = memory_and_state(&mut caller, import).map_err(host_trap)?;
            state.recorder.respond(import, memory, ptr, len).map_err(host_trap)
        })?;
    }
    Ok(())
}

/// The guest's whole memory and the host state, borrowed together for the length of one import
/// body. Fails when the memory is not bound yet (an import called from a start function).
fn memory_and_state<'a>(
    caller: &'a mut Caller<'_, State>,
    import: Import,
) -> Result<(&'a mut [u8], &'a mut State), HostError> {
    let memory = caller.data().memory.ok_or(HostError { import, kind: HostErrorKind::MemoryUnavailable })?;
    Ok(memory.data_and_store_mut(caller))
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap, run out of fuel, or grow
/// (and so move) memory, so no view of memory is held across the call, and every import it
/// makes is refused ([`Recorder::begin_alloc`]), which bounds re-entry to this one call.
fn answer_with_allocator(
    caller: &mut Caller<'_, State>,
    import: Import,
    ptr: i32,
    len: i32,
    ret_ptr: i32,
) -> Result<(), wasmi::Error> {
    memory_and_state(caller, import).map_err(host_trap)?;
    let allocator = caller.data().allocator.get(import).map_err(host_trap)?;
    let pending = {
        let (memory, state) = memory_and_state(caller, import).map_err(host_trap)?;
        state.recorder.begin_alloc(import, memory, ptr, len, ret_ptr).map_err(host_trap)?
    };
    let allocated = call_allocator(caller, &allocator, pending.size(), pending.align());
    caller.data_mut().recorder.allocator_returned();
    let allocated = allocated?;
    let (memory, state) = memory_and_state(caller, import).map_err(host_trap)?;
    state.recorder.finish_alloc(import, memory, pending, allocated).map_err(host_trap)
}

/// Calls the guest's allocator, in slices with a timeout.
fn call_allocator(
    caller: &mut Caller<'_, State>,
    allocator: &Allocator,
    size: i32,
    align: i32,
) -> Result<i32, wasmi::Error> {
    if caller.data().slices.is_none() {
        return allocator.call(&mut *caller, (size, align));
    }
    let mut result = [Val::I32(0)];
    call_in_slices(&mut *caller, allocator.func(), &[Val::I32(size), Val::I32(align)], &mut result)?;
    result[0].i32().ok_or_else(|| wasmi::Error::new("guest_alloc returned no i32"))
}

/// A [`HostError`] carried through wasmi (its error type needs its own trait).
#[derive(Debug)]
pub(crate) struct HostTrap(pub(crate) HostError);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl wasmi::errors::HostError for HostTrap {}

/// A [`HostError`] as the error a wasmi host function returns to trap.
fn host_trap(error: HostError) -> wasmi::Error {
    wasmi::Error::host(HostTrap(error))
}
