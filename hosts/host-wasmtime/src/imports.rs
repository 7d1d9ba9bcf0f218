//! The wasm-hostcall imports bound on wasmtime: the file to copy into your own host.
//!
//! Each import body borrows the guest's memory and the host state together (zero-copy, and no
//! view of memory outlives the call) and makes one call to [`Recorder`], which decodes, checks
//! and writes with the `common` ABI. The only thing done here is what is specific to wasmtime:
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
//! With [`HostCalls::Async`], `kv_get` awaits the store's lookup
//! ([`KvStore::get_async`](host_imports::KvStore::get_async)): the guest is suspended on its
//! fiber and the thread runs other futures meanwhile. Guests are then called with `call_async`,
//! and a function of an async store may not call into the guest synchronously, so
//! `answer_*_alloc` are async too (they `call_async` the allocator). The other imports never
//! wait and stay synchronous.

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import, PendingAnswer};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
use wasmtime::{AsContextMut, Caller, Linker, Memory, StoreLimits, TypedFunc};

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
}

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(store: impl AsContextMut, instance: &wasmtime::Instance) -> GuestAllocator<Allocator> {
    let mut store = store;
    match instance.get_typed_func::<(i32, i32), i32>(&mut store, ALLOCATOR_EXPORT) {
        Ok(allocator) => GuestAllocator::Found(allocator),
        Err(_) if instance.get_export(&mut store, ALLOCATOR_EXPORT).is_some() => GuestAllocator::Mistyped,
        Err(_) => GuestAllocator::Missing,
    }
}

/// How the imports that wait (`kv_get`) or call into the guest (`answer_*_alloc`) are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCalls {
    /// Plain host functions: `kv_get` blocks its thread for as long as the lookup takes.
    Blocking,
    /// Async host functions (`func_wrap_async`), for stores whose guests are called with
    /// `call_async`.
    Async,
}

/// Binds every import of the ABI.
pub(crate) fn define_imports(linker: &mut Linker<State>, calls: HostCalls) -> wasmtime::Result<()> {
    linker.func_wrap(IMPORT_MODULE, Import::LogInt.name(), |mut caller: Caller<'_, State>, value: i32| {
        caller.data_mut().recorder.log_int(value).map_err(wasmtime::Error::new)
    })?;
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let (memory, state) = memory_and_state(&mut caller, import)?;
            state.recorder.log_from_memory(import, memory, ptr, len).map_err(wasmtime::Error::new)
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
                let (memory, state) = memory_and_state(&mut caller, import)?;
                let status = state.recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)?;
                Ok(status)
            },
        )?;
    }
    for import in [Import::AnswerStrAlloc, Import::AnswerAbAlloc, Import::AnswerCdAlloc] {
        match calls {
            HostCalls::Blocking => linker.func_wrap(
                IMPORT_MODULE,
                import.name(),
                move |mut caller: Caller<'_, State>, ptr: i32, len: i32, ret_ptr: i32| {
                    answer_with_allocator(&mut caller, import, ptr, len, ret_ptr)
                },
            )?,
            HostCalls::Async => linker.func_wrap_async(
                IMPORT_MODULE,
                import.name(),
                move |mut caller: Caller<'_, State>, (ptr, len, ret_ptr): (i32, i32, i32)| {
                    Box::new(async move {
                        let (allocator, pending) = ask_allocator(&mut caller, import, ptr, len, ret_ptr)?;
                        let allocated = allocator.call_async(&mut caller, (pending.size(), pending.align())).await;
                        write_allocated(&mut caller, import, pending, allocated)
                    })
                },
            )?,
        };
    }
    if calls == HostCalls::Async {
        linker.func_wrap_async(
            IMPORT_MODULE,
            Import::KvGet.name(),
            |mut caller: Caller<'_, State>, (ptr, len, out_ptr, out_cap, out_len_ptr): (i32, i32, i32, i32, i32)| {
                Box::new(async move {
                    let (lookup, store) = {
                        let (memory, state) = memory_and_state(&mut caller, Import::KvGet)?;
                        let lookup = state.recorder.kv_begin(memory, ptr, len, out_ptr, out_cap, out_len_ptr)?;
                        (lookup, state.recorder.kv_store())
                    };
                    // The guest waits here, on its fiber; no view of memory is held.
                    let value = store.get_async(&lookup.key).await;
                    let (memory, state) = memory_and_state(&mut caller, Import::KvGet)?;
                    Ok(state.recorder.kv_finish(memory, lookup, value.as_deref())?)
                })
            },
        )?;
    }
    linker.func_wrap(
        IMPORT_MODULE,
        Import::RequestRead.name(),
        |mut caller: Caller<'_, State>, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
            let (memory, state) = memory_and_state(&mut caller, Import::RequestRead)?;
            Ok(state.recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)?)
        },
    )?;
    for import in [Import::RespondStr, Import::RespondAb, Import::RespondCd] {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let (memory, state) = memory_and_state(&mut caller, import)?;
            state.recorder.respond(import, memory, ptr, len).map_err(wasmtime::Error::new)
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
) -> wasmtime::Result<()> {
    let (allocator, pending) = ask_allocator(caller, import, ptr, len, ret_ptr)?;
    let allocated = allocator.call(&mut *caller, (pending.size(), pending.align()));
    write_allocated(caller, import, pending, allocated)
}

/// The first half of `answer_*_alloc`, before the allocator is called: the allocator, and the
/// answer with the size and alignment to ask it for.
fn ask_allocator(
    caller: &mut Caller<'_, State>,
    import: Import,
    ptr: i32,
    len: i32,
    ret_ptr: i32,
) -> Result<(Allocator, PendingAnswer), HostError> {
    memory_and_state(caller, import)?;
    let allocator = caller.data().allocator.get(import)?;
    let (memory, state) = memory_and_state(caller, import)?;
    let pending = state.recorder.begin_alloc(import, memory, ptr, len, ret_ptr)?;
    Ok((allocator, pending))
}

/// The second half of `answer_*_alloc`, once the allocator returned: its answer checked, the
/// answer written there.
fn write_allocated(
    caller: &mut Caller<'_, State>,
    import: Import,
    pending: PendingAnswer,
    allocated: wasmtime::Result<i32>,
) -> wasmtime::Result<()> {
    caller.data_mut().recorder.allocator_returned();
    let allocated = allocated?;
    let (memory, state) = memory_and_state(caller, import)?;
    state.recorder.finish_alloc(import, memory, pending, allocated)?;
    Ok(())
}
