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
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```

use std::time::Instant;

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
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
/// of fuel ([`Func::call_resumable`]). With a timeout, the store gets its fuel one slice at a
/// time; each time a slice runs out, the deadline is checked before the next one is given. The
/// instance's own fuel budget, if it has one, is what the slices are taken from.
pub(crate) struct Slices {
    /// When the guest must be done by.
    pub(crate) deadline: Instant,
    /// The instance's fuel not yet given to the store (`u64::MAX` without a fuel limit).
    pub(crate) reserve: u64,
}

/// The fuel of one slice: about 0.1-1 ms of guest code, how late a deadline may be noticed.
pub(crate) const SLICE: u64 = 100_000;

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
        Some(slices) if Instant::now() >= slices.deadline => return Err(wasmi::Error::host(DeadlinePassed)),
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

/// Gives the store its next slice of fuel (at least `required`, what the next instruction
/// costs), unless the deadline has passed or the instance's fuel is used up.
fn next_slice(mut ctx: impl AsContextMut<Data = State>, required: u64) -> Result<(), wasmi::Error> {
    let mut store = ctx.as_context_mut();
    let left = store.get_fuel()?;
    let Some(slices) = store.data_mut().slices.as_mut() else { return Err(TrapCode::OutOfFuel.into()) };
    if Instant::now() >= slices.deadline {
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

/// Binds every import of the ABI.
pub(crate) fn define_imports(linker: &mut Linker<State>) -> Result<(), wasmi::errors::LinkerError> {
    linker.func_wrap(IMPORT_MODULE, Import::LogInt.name(), |mut caller: Caller<'_, State>, value: i32| {
        caller.data_mut().recorder.log_int(value).map_err(host_trap)
    })?;
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let (memory, state) = memory_and_state(&mut caller, import).map_err(host_trap)?;
            state.recorder.log_from_memory(import, memory, ptr, len).map_err(host_trap)
        })?;
    }
    for import in [Import::AnswerStr, Import::AnswerAb, Import::AnswerCd, Import::KvGet] {
        linker.func_wrap(
            IMPORT_MODULE,
            import.name(),
            move |mut caller: Caller<'_, State>, ptr: i32, len: i32, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
                let (memory, state) = memory_and_state(&mut caller, import).map_err(host_trap)?;
                state.recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr).map_err(host_trap)
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
