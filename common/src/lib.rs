//! The wasm-hostcall ABI, defined once for the guest and for every host.
//!
//! A guest module imports functions from the module [`IMPORT_MODULE`] and exports its linear
//! memory as [`MEMORY_EXPORT`]. The four `log_*` imports each take a different kind of argument
//! (see [`Import`] for the whole table, including the return path):
//!
//! | import    | wasm signature         | argument                                                  |
//! |-----------|------------------------|-----------------------------------------------------------|
//! | `log_int` | `(i32) -> ()`          | a plain value                                             |
//! | `log_str` | `(ptr: i32, len: i32)` | UTF-8 bytes, read in place                                |
//! | `log_ab`  | `(ptr: i32, len: i32)` | an [`AB`] encoded with bincode 2 ([`ab_config`])          |
//! | `log_cd`  | `(ptr: i32, len: i32)` | a 40-byte [`CdWire`] image, validated into a [`CD`]       |
//!
//! Pointers and lengths are unsigned 32-bit offsets into the guest's memory: a host reinterprets
//! the `i32` it receives as `u32` ([`i32::cast_unsigned`]).
//!
//! The return path ([`answer`]): the host answers into a buffer the guest provides
//! (`answer_*`, `request_read`: a [`Status`], the length written or needed at an out-pointer), or
//! into memory from the guest's allocator (`answer_*_alloc`, [`ALLOCATOR_EXPORT`]); and the host
//! calls an export with a request, which the guest reads with `request_read` and answers with
//! `respond_*`.
//!
//! The [`decode`] module turns (memory bytes, offset, length) into a value or an [`AbiError`]
//! that names the offset, the length and the memory size. It never panics, never overflows, never
//! reads out of bounds and never allocates more than [`AB_DECODE_LIMIT`] bytes for one value, whatever
//! the guest passes: hosts call it and never parse guest bytes themselves.
//!
//! The crate is `no_std` + `alloc` so that the guest uses the very same types, and it depends on no
//! runtime.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

extern crate alloc;

mod abi;
pub mod answer;
pub mod decode;
mod event;
pub mod kernel;
mod types;
pub mod value;

pub use abi::{
    ALLOCATOR_EXPORT, ALLOCATOR_PARAMS, ALLOCATOR_RESULTS, HANDLER_PARAMS, HANDLER_RESULTS, IMPORT_MODULE, Import,
    KV_KEY_MAX, MEMORY_EXPORT, ValType, ValueKind,
};
pub use answer::{AnswerError, OutputBuffer, PendingAnswer, RETURN_AREA_SIZE, Status, answer_to, greeting};
pub use decode::{AbiError, decode_ab, decode_cd, decode_str, decode_value, guest_bytes};
pub use event::Event;
pub use types::AbRef;
pub use types::{AB, AB_BINCODE_LIMIT, AB_DECODE_LIMIT, CD, CD_TEXT_MAX, CD_WIRE_SIZE, CdTextError, CdWire, ab_config};
pub use value::ValueError;
