//! The comparison report's real workloads (the `workloads` crate) as a module that imports
//! nothing, so that the report can time them on every runtime beside the same code run natively.
//!
//! Built by `guest-wasm`'s build script for `wasm32-unknown-unknown` with the `workloads` profile
//! (optimised for speed, as the native build it is compared with). On any other target this
//! crate is empty.
//!
//! Exports:
//! - `workload_prepare(code, size) -> i32`: generates the input of workload `code`
//!   (`workloads::Workload::code`) of `size` bytes and keeps it; returns its length, or -1 for
//!   an unknown code or a negative size. Not timed.
//! - `workload_run(code) -> i32`: runs workload `code` on the kept input and returns its digest
//!   (`workloads::Workload::run`); traps if that input was not prepared for `code`, or does not
//!   parse.
#![cfg(target_arch = "wasm32")]
// `no_mangle` is what exports a function; nothing else here is unsafe.
#![allow(unsafe_code)]

use std::cell::RefCell;

use workloads::Workload;

thread_local! {
    /// The prepared input, and the workload it is for.
    static INPUT: RefCell<Option<(Workload, Vec<u8>)>> = const { RefCell::new(None) };
}

/// Generates and keeps the input of workload `code`: returns its length, or -1.
#[unsafe(no_mangle)]
pub extern "C" fn workload_prepare(code: i32, size: i32) -> i32 {
    let (Some(workload), Ok(size)) = (Workload::from_code(code), usize::try_from(size)) else {
        return -1;
    };
    let input = workload.input(size);
    let len = i32::try_from(input.len()).unwrap_or(-1);
    INPUT.with_borrow_mut(|kept| *kept = Some((workload, input)));
    len
}

/// Runs workload `code` on the kept input and returns its digest.
#[unsafe(no_mangle)]
pub extern "C" fn workload_run(code: i32) -> i32 {
    let digest = INPUT.with_borrow(|kept| match kept {
        Some((workload, input)) if workload.code() == code => workload.run(input),
        // A caller's bug: trap (`panic = "abort"` is `unreachable`).
        _ => panic!("workload_run({code}): no input prepared for it"),
    });
    match digest {
        Ok(digest) => digest.cast_signed(),
        Err(e) => panic!("workload_run({code}): {e}"),
    }
}
