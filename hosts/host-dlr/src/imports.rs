//! The wasm-hostcall imports bound on dlr-wasm-interpreter: the file to copy into your own host.
//!
//! dlr's host functions are not callbacks: when the guest calls one, the interpreter returns
//! control to the embedder ([`StoredRunState::HostCalled`]) with the function's arguments, and the
//! embedder runs the body and resumes the guest with the results
//! ([`Store::finish_host_call`]). So the imports are not registered closures but one function,
//! [`call`], which drives a guest call to its end and runs each import body when the guest asks for
//! it ([`run_import`]). Each body borrows the guest's memory from the store and makes one call to
//! [`Recorder`], which lives beside the store ([`Host`]), not in it, so the two are borrowed
//! together for free (zero-copy, and no view of memory outlives the body).
//!
//! ```text
//! log_int(value)                          log_str / log_ab / log_cd(ptr, len)
//! answer_str / _ab / _cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status
//! kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status  (a lookup in the store; blocks)
//! answer_str_alloc / _ab_alloc / _cd_alloc(ptr, len, ret_ptr)       (calls guest_alloc)
//! request_read(out_ptr, out_cap, out_len_ptr) -> status             respond_str / _ab / _cd(ptr, len)
//! ```
//!
//! Every address is a `Stored<…>` of the safe `dlr-wasm-interpreter-checked` API, which checks that
//! it belongs to the store it is used with (the plain API leaves that to `unsafe` callers).

use std::time::Instant;

use common::{ALLOCATOR_EXPORT, Import};
use dlr_wasm_interpreter::{FuncAddr, FuncType, MemAddr, ModuleAddr, NumType, ResultType, RuntimeError, ValType};
use dlr_wasm_interpreter_checked::{Store, Stored, StoredRunState, StoredValue};
use host_imports::{GuestAllocator, HostError, HostErrorKind, Recorder};

/// The interpreter's configuration (the type parameter of every store): dlr's default stacks (a
/// call stack of 4,096 frames and a value stack of 65,536 values, both on the heap), and what its
/// fuel charges. dlr's fuel only measures out the [`SLICE`]s between two looks at the clock, so it
/// must follow time: one unit per instruction, and, for the instructions whose time grows with an
/// operand, one more per byte or element (`memory.fill`, `memory.copy`, `memory.init`, and the
/// table's `grow`, `fill`, `copy`, `init`) and 1,024 more per page `memory.grow` adds (zeroing
/// 64 KiB takes about as long as a thousand instructions). Without that, a slice could hold
/// 100,000 bulk instructions of megabytes each: a loop of 16 MiB `memory.fill`s and `memory.copy`s
/// ended 12 s after its 100 ms deadline (`tests/engine.rs`), and ends on time with it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Interpreter;

impl dlr_wasm_interpreter::Config for Interpreter {
    fn get_cost_per_element(instr: u8) -> u64 {
        if instr == dlr_wasm_interpreter::instructions::MEMORY_GROW { 1024 } else { 0 }
    }

    fn get_fc_extension_cost_per_element(_instr: u32) -> u64 {
        // dlr applies it to the bulk memory and table instructions only (see above).
        1
    }
}

/// A store of this host: every instance has one, holding that instance alone.
pub(crate) type DlrStore<'wasm> = Store<'wasm, Interpreter>;

/// What a host function is: the `hostcode` dlr hands back when the guest calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// An import of the ABI.
    Abi(Import),
    /// A no-op benchmark import (`harness::bench`), for the comparison tool only.
    NoOp,
}

impl Binding {
    /// The `hostcode` of this binding.
    pub(crate) fn code(self) -> usize {
        match self {
            Binding::Abi(import) => Import::ALL.iter().position(|i| *i == import).unwrap_or(usize::MAX),
            Binding::NoOp => Import::ALL.len(),
        }
    }

    /// The binding of a `hostcode` [`Binding::code`] gave.
    fn from_code(code: usize) -> Option<Binding> {
        match Import::ALL.get(code) {
            Some(&import) => Some(Binding::Abi(import)),
            None => (code == Import::ALL.len()).then_some(Binding::NoOp),
        }
    }
}

/// The host side of an instance: what its imports use.
pub(crate) struct Host {
    /// The guest's exported memory, looked up once after instantiation (none while the start
    /// function runs).
    pub(crate) memory: Option<Stored<MemAddr>>,
    /// The guest's allocator, looked up once after instantiation.
    pub(crate) allocator: GuestAllocator<Stored<FuncAddr>>,
    /// Events, and the call in progress.
    pub(crate) recorder: Recorder,
    /// With a timeout: the guest runs in fuel slices, and the clock is read between them.
    pub(crate) deadline: Option<Instant>,
}

/// The fuel of one slice with a timeout: 100,000 instructions, about 0.35 ms of guest code on the
/// 2-core VM this was written on (dlr runs about 3.5 ns per instruction there), how late a
/// deadline may be noticed. (dlr's fuel counts one unit per instruction; here it only measures
/// slices out: the instance's fuel budget is a counter in the module, see the crate
/// documentation.)
pub const SLICE: u64 = 100_000;

/// Why a call into the guest stopped before it returned.
#[derive(Debug)]
pub(crate) enum Stop {
    /// An import refused the guest's call.
    Host(HostError),
    /// dlr stopped the guest: a trap, a stack overflow, or another error.
    Runtime(RuntimeError),
    /// The guest was still running at its deadline.
    Deadline,
}

impl From<RuntimeError> for Stop {
    fn from(error: RuntimeError) -> Self {
        Stop::Runtime(error)
    }
}

impl From<HostError> for Stop {
    fn from(error: HostError) -> Self {
        Stop::Host(error)
    }
}

/// Calls `func` with `params` and runs it to its end: each time the guest calls an import, its
/// body runs here ([`run_import`]) and the guest is resumed with its result; with a deadline, the
/// guest runs [`SLICE`] instructions at a time and the clock is read between two slices. Used for
/// every call into the guest, the allocator's included.
pub(crate) fn call(
    store: &mut DlrStore<'_>,
    host: &mut Host,
    func: Stored<FuncAddr>,
    params: Vec<StoredValue>,
) -> Result<Vec<StoredValue>, Stop> {
    // A call that starts after the deadline (a later call on the same instance) is refused.
    if passed(host) {
        return Err(Stop::Deadline);
    }
    let slice = host.deadline.map(|_| SLICE);
    let mut state = store.invoke(func, params, slice)?;
    loop {
        state = match state {
            StoredRunState::Finished { values, .. } => return Ok(values),
            // Back from an import (`required_fuel` is `None`): go on with the slice's fuel left.
            StoredRunState::Resumable { resumable, required_fuel: None } => store.resume_wasm(resumable)?,
            // The slice is used up: the next one, unless the deadline has passed. `required` is
            // what the next instruction costs beyond the fuel left (not its whole cost), so the
            // next slice is the fuel left plus that, at least: a `memory.fill` costing more than a
            // slice otherwise never gets enough and the call spins to its deadline.
            StoredRunState::Resumable { mut resumable, required_fuel: Some(required) } => {
                if passed(host) {
                    return Err(Stop::Deadline);
                }
                let fuel = resumable.fuel_mut();
                *fuel = Some(SLICE.max(fuel.unwrap_or(0).saturating_add(required.get())));
                store.resume_wasm(resumable)?
            }
            StoredRunState::HostCalled { host_call, resumable } => {
                let binding = Binding::from_code(host_call.hostcode).ok_or(RuntimeError::FunctionNotFound)?;
                let args: Vec<i32> = host_call.params.iter().map(i32_of).collect::<Option<_>>().ok_or(
                    // The ABI's imports take `i32`s only; instantiation bound each with its type.
                    RuntimeError::HostFunctionSignatureMismatch,
                )?;
                let result = run_import(store, host, binding, &args)?;
                let results = result.map(|r| StoredValue::I32(r.cast_unsigned())).into_iter().collect();
                store.finish_host_call(resumable, results)?
            }
        };
    }
}

/// Whether the deadline has passed.
fn passed(host: &Host) -> bool {
    host.deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// A value as the `i32` it holds.
fn i32_of(value: &StoredValue) -> Option<i32> {
    match value {
        StoredValue::I32(v) => Some(v.cast_signed()),
        _ => None,
    }
}

/// The type of an import of the ABI (or a no-op benchmark import, with `params`).
pub(crate) fn func_type(params: &[common::ValType], results: &[common::ValType]) -> FuncType {
    let val_type = |ty: &common::ValType| match ty {
        common::ValType::I64 => ValType::NumType(NumType::I64),
        common::ValType::F32 => ValType::NumType(NumType::F32),
        common::ValType::F64 => ValType::NumType(NumType::F64),
        // Only `i32` is used by the ABI and the benchmark imports.
        _ => ValType::NumType(NumType::I32),
    };
    FuncType {
        params: ResultType { valtypes: params.iter().map(val_type).collect() },
        returns: ResultType { valtypes: results.iter().map(val_type).collect() },
    }
}

/// Runs the body of the import `binding` called with `args` (checked against its type when the
/// instance was made): one call to [`Recorder`]. Returns the import's result, if it has one.
fn run_import(store: &mut DlrStore<'_>, host: &mut Host, binding: Binding, args: &[i32]) -> Result<Option<i32>, Stop> {
    let Binding::Abi(import) = binding else { return Ok(None) };
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let result = match import {
        Import::LogInt => host.recorder.log_int(arg(0)).map(|()| None),
        Import::LogStr | Import::LogAb | Import::LogCd => {
            let memory = memory(store, host, import)?;
            host.recorder.log_from_memory(import, memory, arg(0), arg(1)).map(|()| None)
        }
        Import::AnswerStr | Import::AnswerAb | Import::AnswerCd | Import::KvGet => {
            let memory = memory(store, host, import)?;
            host.recorder.answer_into(import, memory, arg(0), arg(1), arg(2), arg(3), arg(4)).map(Some)
        }
        Import::AnswerStrAlloc | Import::AnswerAbAlloc | Import::AnswerCdAlloc => {
            return answer_with_allocator(store, host, import, arg(0), arg(1), arg(2)).map(|()| None);
        }
        Import::RequestRead => {
            let memory = memory(store, host, import)?;
            host.recorder.request_read(memory, arg(0), arg(1), arg(2)).map(Some)
        }
        Import::RespondStr | Import::RespondAb | Import::RespondCd => {
            let memory = memory(store, host, import)?;
            host.recorder.respond(import, memory, arg(0), arg(1)).map(|()| None)
        }
    };
    Ok(result?)
}

/// The guest's whole memory, for the length of one import body. Fails when the memory is not
/// bound yet (an import called from the start function).
fn memory<'a>(store: &'a mut DlrStore<'_>, host: &Host, import: Import) -> Result<&'a mut [u8], HostError> {
    let memory = host.memory.ok_or(HostError { import, kind: HostErrorKind::MemoryUnavailable })?;
    Ok(store.mem_data_mut(memory))
}

/// The body of `answer_*_alloc`: compute the answer, ask the guest's allocator for memory, check
/// what it returns, write. The allocator is guest code: it may trap, run out of fuel, or grow
/// memory, so no view of memory is held across the call, and every import it makes is refused
/// ([`Recorder::begin_alloc`]), which bounds re-entry to this one call. The outer call waits,
/// suspended in dlr's `HostResumable`, while the allocator runs as a call of its own in the same
/// store ([`call`], with the same deadline; its fuel is the instance's counter, shared).
fn answer_with_allocator(
    store: &mut DlrStore<'_>,
    host: &mut Host,
    import: Import,
    ptr: i32,
    len: i32,
    ret_ptr: i32,
) -> Result<(), Stop> {
    memory(store, host, import)?;
    let allocator = host.allocator.get(import)?;
    let pending = {
        let memory = memory(store, host, import)?;
        host.recorder.begin_alloc(import, memory, ptr, len, ret_ptr)?
    };
    let params =
        vec![StoredValue::I32(pending.size().cast_unsigned()), StoredValue::I32(pending.align().cast_unsigned())];
    let allocated = call(store, host, allocator, params);
    host.recorder.allocator_returned();
    let allocated = match allocated?.as_slice() {
        [StoredValue::I32(ptr)] => ptr.cast_signed(),
        _ => return Err(Stop::Runtime(RuntimeError::FunctionInvocationSignatureMismatch)),
    };
    let memory = memory(store, host, import)?;
    Ok(host.recorder.finish_alloc(import, memory, pending, allocated)?)
}

/// Looks up the guest's allocator export once, after instantiation.
pub(crate) fn find_allocator(store: &DlrStore<'_>, module: Stored<ModuleAddr>) -> GuestAllocator<Stored<FuncAddr>> {
    let Ok(export) = store.instance_export(module, ALLOCATOR_EXPORT) else { return GuestAllocator::Missing };
    let wanted = func_type(&common::ALLOCATOR_PARAMS, &common::ALLOCATOR_RESULTS);
    match export.as_func() {
        Some(func) if store.func_type(func) == wanted => GuestAllocator::Found(func),
        _ => GuestAllocator::Mistyped,
    }
}
