//! The wasm-hostcall imports bound on wasm3: the file to copy into your own host, with `src/runtime.rs`
//! (the raw C plumbing) and `src/inspect.rs` (the module's structure) beside it.
//!
//! Each import body borrows the guest's memory and the host state together (zero-copy, looked up
//! anew in every call: wasm3 moves the memory when it grows) and makes one call to [`Recorder`],
//! which decodes, checks and writes with the `common` ABI. The only thing done here is what is
//! specific to wasm3: reading the arguments, getting at the memory, calling the guest's
//! allocator. The raw C plumbing (wasm3's stack slots, its memory header, its error strings) is
//! in `src/runtime.rs`.
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import, ValType};
use harness::ExternType;
use harness::rewrite::lower::{COPY_IMPORT, FILL_IMPORT};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};

use crate::inspect::ModuleInfo;
use crate::runtime::{Func, HostCall, HostFailure, HostFn, M3Error, Runtime};

/// What each instance's runtime holds for its imports.
pub(crate) struct State {
    /// Whether the guest's memory may be used: not while the start function runs (as on the
    /// other runtimes, where the exported memory is looked up after instantiation).
    pub(crate) memory_ready: bool,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Func>,
    /// Events, and the call in progress.
    pub(crate) recorder: Recorder,
    /// Why a host function made the guest's call trap, until the host reads it.
    pub(crate) host_error: Option<HostError>,
}

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(info: &ModuleInfo, runtime: &Runtime) -> GuestAllocator<Func> {
    let Some(export) = info.shape.exports().iter().find(|e| e.name == ALLOCATOR_EXPORT) else {
        return GuestAllocator::Missing;
    };
    let typed = matches!(&export.ty, ExternType::Func { params, results }
        if params == &[ValType::I32, ValType::I32] && results == &[ValType::I32]);
    match info.exported_functions.get(ALLOCATOR_EXPORT).and_then(|&index| runtime.function(index)) {
        Some(func) if typed => GuestAllocator::Found(func),
        _ => GuestAllocator::Mistyped,
    }
}

/// wasm3's signature string for a function type: `"v(ii)"`, `"i(iiiii)"`.
pub(crate) fn signature(params: &[ValType], results: &[ValType]) -> String {
    let letter = |ty: &ValType| match ty {
        ValType::I32 => 'i',
        ValType::I64 => 'I',
        ValType::F32 => 'f',
        ValType::F64 => 'F',
        ValType::V128 | ValType::Ref => '?',
    };
    let result = results.first().map_or('v', letter);
    format!("{result}({})", params.iter().map(letter).collect::<String>())
}

/// Binds every import of the ABI the module imports.
pub(crate) fn define_imports(runtime: &mut Runtime, info: &ModuleInfo) -> Result<(), M3Error> {
    for import in Import::ALL {
        if info.imports_function(IMPORT_MODULE, import.name()) {
            let signature = signature(import.params(), import.results());
            runtime.link(IMPORT_MODULE, import.name(), &signature, Some(import), body(import))?;
        }
    }
    Ok(())
}

/// Binds the two functions that `memory.copy` and `memory.fill` were lowered to, if the module
/// was ([`harness::rewrite::lower`]): each checks its range against the memory as it is and traps
/// as the instruction would (an out-of-bounds access, nothing written), else copies (overlapping
/// ranges as `memmove`) or fills. They are the guest's own instructions, so they work while the
/// start function runs, as the instructions do.
pub(crate) fn define_bulk_memory(runtime: &mut Runtime, info: &ModuleInfo) -> Result<(), M3Error> {
    let Some(module) = &info.bulk_memory_module else {
        return Ok(());
    };
    let signature = signature(&[ValType::I32; 3], &[]);
    let copy: HostFn = Box::new(|call| {
        let (dst, src, len) = (call.arg(0), call.arg(1), call.arg(2));
        let (memory, _) = call.memory_and_state();
        let (Some(dst), Some(src)) = (range(memory, dst, len), range(memory, src, len)) else {
            return Err(HostFailure::Guest(M3Error::out_of_bounds()));
        };
        memory.copy_within(src, dst.start);
        Ok(None)
    });
    let fill: HostFn = Box::new(|call| {
        let (dst, value, len) = (call.arg(0), call.arg(1), call.arg(2));
        let (memory, _) = call.memory_and_state();
        let target = range(memory, dst, len).and_then(|dst| memory.get_mut(dst));
        let Some(target) = target else {
            return Err(HostFailure::Guest(M3Error::out_of_bounds()));
        };
        // `memory.fill` stores the value's low byte.
        target.fill(value.to_le_bytes()[0]);
        Ok(None)
    });
    runtime.link(module, COPY_IMPORT, &signature, None, copy)?;
    runtime.link(module, FILL_IMPORT, &signature, None, fill)
}

/// The byte range `[start, start + len)` (both unsigned, as wasm reads them) if it lies within
/// `memory`.
fn range(memory: &[u8], start: i32, len: i32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(start.cast_unsigned()).ok()?;
    let end = start.checked_add(usize::try_from(len.cast_unsigned()).ok()?)?;
    (end <= memory.len()).then_some(start..end)
}

/// The body of `import`.
fn body(import: Import) -> HostFn {
    match import {
        Import::LogInt => Box::new(|call| {
            let value = call.arg(0);
            call.state().recorder.log_int(value)?;
            Ok(None)
        }),
        Import::LogStr | Import::LogAb | Import::LogCd => Box::new(move |call| {
            let (ptr, len) = (call.arg(0), call.arg(1));
            let (memory, state) = memory_and_state(call, import)?;
            state.recorder.log_from_memory(import, memory, ptr, len)?;
            Ok(None)
        }),
        Import::AnswerStr | Import::AnswerAb | Import::AnswerCd | Import::KvGet => Box::new(move |call| {
            let (ptr, len, out_ptr, out_cap, out_len_ptr) =
                (call.arg(0), call.arg(1), call.arg(2), call.arg(3), call.arg(4));
            let (memory, state) = memory_and_state(call, import)?;
            Ok(Some(state.recorder.answer_into(import, memory, ptr, len, out_ptr, out_cap, out_len_ptr)?))
        }),
        Import::AnswerStrAlloc | Import::AnswerAbAlloc | Import::AnswerCdAlloc => {
            Box::new(move |call| answer_with_allocator(call, import))
        }
        Import::RequestRead => Box::new(|call| {
            let (out_ptr, out_cap, out_len_ptr) = (call.arg(0), call.arg(1), call.arg(2));
            let (memory, state) = memory_and_state(call, Import::RequestRead)?;
            Ok(Some(state.recorder.request_read(memory, out_ptr, out_cap, out_len_ptr)?))
        }),
        Import::RespondStr | Import::RespondAb | Import::RespondCd => Box::new(move |call| {
            let (ptr, len) = (call.arg(0), call.arg(1));
            let (memory, state) = memory_and_state(call, import)?;
            state.recorder.respond(import, memory, ptr, len)?;
            Ok(None)
        }),
    }
}

/// The guest's whole memory, as it is now, and the host state, borrowed together for the length
/// of one import body. Fails while the start function runs.
fn memory_and_state<'a>(
    call: &'a mut HostCall<'_>,
    import: Import,
) -> Result<(&'a mut [u8], &'a mut State), HostError> {
    let (memory, state) = call.memory_and_state();
    if !state.memory_ready {
        return Err(HostError { import, kind: HostErrorKind::MemoryUnavailable });
    }
    Ok((memory, state))
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap or grow (and so move)
/// memory, so no view of memory is held across the call (the memory is looked up again after
/// it), and every import it makes is refused ([`Recorder::begin_alloc`]), which bounds re-entry
/// to this one call.
fn answer_with_allocator(call: &mut HostCall<'_>, import: Import) -> Result<Option<i32>, HostFailure> {
    let (ptr, len, ret_ptr) = (call.arg(0), call.arg(1), call.arg(2));
    memory_and_state(call, import)?;
    let allocator = call.state().allocator.get(import)?;
    let pending = {
        let (memory, state) = memory_and_state(call, import)?;
        state.recorder.begin_alloc(import, memory, ptr, len, ret_ptr)?
    };
    let allocated = call.call_guest(allocator, &[pending.size(), pending.align()]);
    call.state().recorder.allocator_returned();
    let allocated =
        allocated.map_err(HostFailure::Guest)?.ok_or(HostError { import, kind: HostErrorKind::AllocatorType })?;
    let (memory, state) = memory_and_state(call, import)?;
    state.recorder.finish_alloc(import, memory, pending, allocated)?;
    Ok(None)
}
