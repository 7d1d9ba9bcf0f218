//! The wasm-hostcall imports bound on wasmer: the file to copy into your own host.
//!
//! Each import body borrows the guest's memory and the host state together (zero-copy through
//! wasmer's safe [`WasmSlice::access`], and no view of memory outlives the call) and makes one
//! call to [`Recorder`], which decodes, checks and writes with the `common` ABI. The only thing
//! done here is what is specific to wasmer: getting at the memory, calling the guest's allocator,
//! and turning errors into traps.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```
//!
//! With [`HostCalls::Async`] (wasmer's `experimental-async`), `kv_get` is an async host function:
//! the guest, called with `call_async`, is suspended on its coroutine while the store's lookup is
//! awaited ([`KvStore::get_async`](host_imports::KvStore::get_async)). The other imports stay
//! synchronous; the allocator is called synchronously from inside `answer_*_alloc`.

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};
use wasmer::{
    AsStoreRef, AsyncFunctionEnvMut, Function, FunctionEnv, FunctionEnvMut, Imports, Memory, RuntimeError, Store,
    TypedFunction, WasmSlice,
};

/// The guest's allocator: `guest_alloc(size, align) -> ptr`.
pub(crate) type Allocator = TypedFunction<(i32, i32), i32>;

/// What each instance's [`FunctionEnv`] holds.
pub(crate) struct State {
    /// The guest's exported memory, looked up once after instantiation.
    pub(crate) memory: Option<Memory>,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Allocator>,
    /// Events, and the call in progress.
    pub(crate) recorder: Recorder,
}

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(store: &impl AsStoreRef, instance: &wasmer::Instance) -> GuestAllocator<Allocator> {
    match instance.exports.get_typed_function::<(i32, i32), i32>(store, ALLOCATOR_EXPORT) {
        Ok(allocator) => GuestAllocator::Found(allocator),
        Err(_) if instance.exports.get_extern(ALLOCATOR_EXPORT).is_some() => GuestAllocator::Mistyped,
        Err(_) => GuestAllocator::Missing,
    }
}

/// How `kv_get` is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCalls {
    /// A plain host function: `kv_get` blocks its thread for as long as the lookup takes.
    Blocking,
    /// An async host function, for guests called with `call_async`.
    Async,
}

/// Every import of the ABI, bound to one instance's environment.
pub(crate) fn imports(store: &mut Store, env: &FunctionEnv<State>, calls: HostCalls) -> Imports {
    let mut imports = Imports::new();
    let log_int = Function::new_typed_with_env(store, env, |mut env: FunctionEnvMut<State>, value: i32| {
        env.data_mut().recorder.log_int(value).map_err(user_error)
    });
    imports.define(IMPORT_MODULE, Import::LogInt.name(), log_int);
    for import in [Import::LogStr, Import::LogAb, Import::LogCd] {
        let function =
            Function::new_typed_with_env(store, env, move |mut env: FunctionEnvMut<State>, ptr: i32, len: i32| {
                with_memory(&mut env, import, |memory, recorder| recorder.log_from_memory(import, memory, ptr, len))
            });
        imports.define(IMPORT_MODULE, import.name(), function);
    }
    let answers_into: &[Import] = match calls {
        HostCalls::Blocking => &[Import::AnswerStr, Import::AnswerAb, Import::AnswerCd, Import::KvGet],
        HostCalls::Async => &[Import::AnswerStr, Import::AnswerAb, Import::AnswerCd],
    };
    for &import in answers_into {
        let function = Function::new_typed_with_env(
            store,
            env,
            move |mut env: FunctionEnvMut<State>, ptr: i32, len: i32, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
                with_memory(&mut env, import, |memory, recorder| {
                    recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)
                })
            },
        );
        imports.define(IMPORT_MODULE, import.name(), function);
    }
    if calls == HostCalls::Async {
        imports.define(IMPORT_MODULE, Import::KvGet.name(), Function::new_typed_with_env_async(store, env, kv_get));
    }
    for import in [Import::AnswerStrAlloc, Import::AnswerAbAlloc, Import::AnswerCdAlloc] {
        let function = Function::new_typed_with_env(
            store,
            env,
            move |mut env: FunctionEnvMut<State>, ptr: i32, len: i32, ret_ptr: i32| {
                answer_with_allocator(&mut env, import, ptr, len, ret_ptr)
            },
        );
        imports.define(IMPORT_MODULE, import.name(), function);
    }
    let request_read = Function::new_typed_with_env(
        store,
        env,
        |mut env: FunctionEnvMut<State>, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
            with_memory(&mut env, Import::RequestRead, |memory, recorder| {
                recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)
            })
        },
    );
    imports.define(IMPORT_MODULE, Import::RequestRead.name(), request_read);
    for import in [Import::RespondStr, Import::RespondAb, Import::RespondCd] {
        let function =
            Function::new_typed_with_env(store, env, move |mut env: FunctionEnvMut<State>, ptr: i32, len: i32| {
                with_memory(&mut env, import, |memory, recorder| recorder.respond(import, memory, ptr, len))
            });
        imports.define(IMPORT_MODULE, import.name(), function);
    }
    imports
}

/// A [`HostError`] as the error a wasmer host function returns to trap.
fn user_error(error: HostError) -> RuntimeError {
    RuntimeError::user(Box::new(error))
}

/// Runs `body` with the guest's whole memory (in place) and the recorder, borrowed together for
/// the length of one import body. Fails when the memory is not bound yet (an import called from
/// a start function).
fn with_memory<T>(
    env: &mut FunctionEnvMut<'_, State>,
    import: Import,
    body: impl FnOnce(&mut [u8], &mut Recorder) -> Result<T, HostError>,
) -> Result<T, RuntimeError> {
    in_memory(env, import, body).map_err(user_error)
}

/// [`with_memory`], with the host's own error.
fn in_memory<T>(
    env: &mut FunctionEnvMut<'_, State>,
    import: Import,
    body: impl FnOnce(&mut [u8], &mut Recorder) -> Result<T, HostError>,
) -> Result<T, HostError> {
    let (state, store) = env.data_and_store_mut();
    let unavailable = HostError { import, kind: HostErrorKind::MemoryUnavailable };
    let memory = state.memory.as_ref().ok_or_else(|| unavailable.clone())?;
    let view = memory.view(&store);
    // The whole memory as one slice; the `common` checks do the bounds checks with their own
    // precise errors. This cannot fail for a memory's own size, but is mapped rather than unwrapped.
    let mut whole =
        WasmSlice::<u8>::new(&view, 0, view.data_size()).and_then(WasmSlice::access).map_err(|_| unavailable)?;
    body(whole.as_mut(), &mut state.recorder)
}

/// `kv_get` with [`HostCalls::Async`]: the key checked and copied out, the lookup awaited with
/// the store unlocked (the guest suspended), then the value written.
async fn kv_get(
    env: AsyncFunctionEnvMut<State>,
    ptr: i32,
    len: i32,
    out_ptr: i32,
    out_cap: i32,
    out_len_ptr: i32,
) -> Result<i32, HostError> {
    let (lookup, kv) = {
        let mut handle = env.write().await;
        let mut env = handle.as_function_env_mut();
        let lookup = in_memory(&mut env, Import::KvGet, |memory, recorder| {
            recorder.kv_begin(memory, ptr, len, out_ptr, out_cap, out_len_ptr)
        })?;
        (lookup, env.data().recorder.kv_store())
    };
    // The guest waits here; no lock on the store and no view of memory is held.
    let value = kv.get_async(&lookup.key).await;
    let mut handle = env.write().await;
    let mut env = handle.as_function_env_mut();
    in_memory(&mut env, Import::KvGet, |memory, recorder| recorder.kv_finish(memory, lookup, value.as_deref()))
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap, run out of fuel, or grow
/// (and so move) memory, so no view of memory is held across the call, and every import it
/// makes is refused ([`Recorder::begin_alloc`]), which bounds re-entry to this one call.
fn answer_with_allocator(
    env: &mut FunctionEnvMut<'_, State>,
    import: Import,
    ptr: i32,
    len: i32,
    ret_ptr: i32,
) -> Result<(), RuntimeError> {
    with_memory(env, import, |_, _| Ok(()))?;
    let allocator = env.data().allocator.get(import).map_err(user_error)?;
    let pending = with_memory(env, import, |memory, recorder| recorder.begin_alloc(import, memory, ptr, len, ret_ptr))?;
    let allocated = {
        let (_, mut store) = env.data_and_store_mut();
        allocator.call(&mut store, pending.size(), pending.align())
    };
    env.data_mut().recorder.allocator_returned();
    let allocated = allocated?;
    with_memory(env, import, |memory, recorder| recorder.finish_alloc(import, memory, pending, allocated))
}
