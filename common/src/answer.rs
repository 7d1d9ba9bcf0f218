//! The return path: what the host answers, and how an answer is written into guest memory.
//!
//! Two ways to hand a value back to the guest, both defined here once for every host:
//!
//! - **Into a buffer the guest provides** ([`answer_into`], [`OutputBuffer`]): the guest passes
//!   `(out_ptr, out_cap, out_len_ptr)`. The host checks the whole buffer and the 4-byte length
//!   out-pointer before it writes anything, then writes the answer and its length, or, when the
//!   answer does not fit, only the length it needs ([`Status::BufferTooSmall`]), so that the
//!   guest can retry with a bigger buffer. `out_cap = 0` is a size query. Nothing is ever written
//!   outside the buffer and the out-pointer.
//! - **Into memory from the guest's allocator** ([`PendingAnswer`]): the host computes the answer,
//!   calls the guest's `guest_alloc(size, align)`, validates the pointer it gets back (not 0, in
//!   bounds, no wrap-around, aligned, not overlapping memory the guest is using), then writes the
//!   answer there and `(ptr, len)` into the guest's 8-byte return area.
//!
//! The answers themselves ([`answer_to`]) are real transformations, so that a test can tell an
//! answer from an echo: a greeting for a text, an `AB` with `a + 1` and `b` upper-cased, a `CD`
//! with `c` negated. They are encoded exactly like the guest's arguments ([`encode`]): UTF-8,
//! bincode 2 with [`crate::ab_config`] and at most [`AB_DECODE_LIMIT`] bytes, the 40-byte
//! [`crate::CdWire`].

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::decode::{AbiError, decode_value};
use crate::types::{AB_DECODE_LIMIT, AbRef, ab_config};
use crate::{Event, ValueKind};

/// What an import that writes into a guest buffer returns (`answer_*`, `request_read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// The answer was written; its length is at `out_len_ptr`.
    Ok = 0,
    /// The answer does not fit `out_cap` bytes: nothing was written but the length it needs, at
    /// `out_len_ptr`.
    BufferTooSmall = 1,
    /// `kv_get` only: the key is not in the store; nothing was written.
    NotFound = 2,
}

impl Status {
    /// The `i32` the import returns.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status with this code, if there is one.
    pub const fn from_code(code: i32) -> Option<Status> {
        match code {
            0 => Some(Status::Ok),
            1 => Some(Status::BufferTooSmall),
            2 => Some(Status::NotFound),
            _ => None,
        }
    }
}

/// The size of the return area of the `answer_*_alloc` imports: the answer's pointer, then its
/// length, each a little-endian `u32`.
pub const RETURN_AREA_SIZE: u32 = 8;

/// The host's answer to a value: `Hello, TEXT!` for a text, `AB { a: a + 1, b: B }` with `b`
/// upper-cased (Unicode), `CD { c: -c, d }` (both wrapping at the `i32`/`u32` limits), and
/// `value + 1` for a plain value.
pub fn answer_to(value: &Event<'_>) -> Event<'static> {
    match value {
        Event::Int(v) => Event::Int(v.wrapping_add(1)),
        Event::Str(s) => Event::Str(Cow::Owned(greeting(s))),
        Event::Ab(ab) => Event::Ab(AbRef { a: ab.a.wrapping_add(1), b: Cow::Owned(ab.b.to_uppercase()) }),
        Event::Cd(cd) => Event::Cd(cd.with_c(cd.c().wrapping_neg())),
    }
}

/// The wire image of a value, as the guest decodes it: UTF-8 bytes, a bincode [`crate::AB`] of at most
/// [`AB_DECODE_LIMIT`] bytes, the 40-byte `CdWire`, or 4 little-endian bytes for a plain value.
pub fn encode(value: &Event<'_>) -> Result<Vec<u8>, AnswerError> {
    Ok(match value {
        Event::Int(v) => v.to_le_bytes().to_vec(),
        Event::Str(s) => s.as_bytes().to_vec(),
        Event::Ab(ab) => {
            let wire = AbWire { a: ab.a, b: &ab.b };
            let bytes = bincode::serde::encode_to_vec(wire, ab_config())
                .map_err(|_| AnswerError::TooLarge { size: usize::MAX, limit: AB_DECODE_LIMIT })?;
            if bytes.len() > AB_DECODE_LIMIT {
                return Err(AnswerError::TooLarge { size: bytes.len(), limit: AB_DECODE_LIMIT });
            }
            bytes
        }
        Event::Cd(cd) => bytemuck::bytes_of(&cd.to_wire()).to_vec(),
    })
}

/// An [`crate::AB`] as serde sees it, borrowing its text: encodes to the same bytes.
#[derive(serde::Serialize)]
struct AbWire<'a> {
    a: u32,
    b: &'a str,
}

/// The alignment the host asks the guest's allocator for an answer of this kind: 4 for a `CD`
/// (so that a guest can view it as a struct with `i32` fields), 1 for bytes.
pub const fn answer_align(kind: ValueKind) -> u32 {
    match kind {
        ValueKind::Int | ValueKind::Cd => 4,
        ValueKind::Str | ValueKind::Ab => 1,
    }
}

/// Decodes the argument `(ptr, len)` of kind `kind` in `memory`, and encodes the answer to it.
pub fn answer_bytes(kind: ValueKind, memory: &[u8], ptr: i32, len: i32) -> Result<Vec<u8>, AnswerError> {
    let value = decode_value(kind, memory, ptr, len).map_err(AnswerError::Argument)?;
    encode(&answer_to(&value))
}

/// The body of `answer_str`, `answer_ab` and `answer_cd`: decodes the argument, checks the output
/// buffer, writes the answer (or only its length, if it does not fit).
pub fn answer_into(
    kind: ValueKind,
    memory: &mut [u8],
    ptr: i32,
    len: i32,
    out: OutputBuffer,
) -> Result<Status, AnswerError> {
    out.check(memory.len())?;
    let answer = answer_bytes(kind, memory, ptr, len)?;
    out.write(memory, &answer)
}

/// The key of a `kv_get` call: checks the output buffer first (as `answer_*` do), then decodes
/// the key `(ptr, len)`, UTF-8 text of at most [`crate::KV_KEY_MAX`] bytes, borrowed from `memory`.
/// The host looks it up, then writes with [`kv_answer`]: the lookup may wait for I/O, so no view of
/// memory is held across it (a caller that awaits copies the key first).
pub fn kv_key(memory: &[u8], ptr: i32, len: i32, out: OutputBuffer) -> Result<&str, AnswerError> {
    out.check(memory.len())?;
    let len = len.cast_unsigned();
    if len > crate::KV_KEY_MAX {
        return Err(AnswerError::KeyTooLong { len });
    }
    crate::decode_str(memory, ptr.cast_unsigned(), len).map_err(AnswerError::Argument)
}

/// The end of a `kv_get` call: the value written into the output buffer (or only its length, if
/// it does not fit), or [`Status::NotFound`] with nothing written.
pub fn kv_answer(memory: &mut [u8], value: Option<&[u8]>, out: OutputBuffer) -> Result<Status, AnswerError> {
    match value {
        Some(value) => out.write(memory, value),
        None => {
            out.check(memory.len())?;
            Ok(Status::NotFound)
        }
    }
}

/// Which range of guest memory an [`AnswerError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The output buffer `[out_ptr, out_ptr + out_cap)`.
    Buffer,
    /// The 4-byte length out-pointer `out_len_ptr`.
    LengthPointer,
    /// The 8-byte return area `ret_ptr` of an `answer_*_alloc` import.
    ReturnArea,
    /// The argument `(ptr, len)`.
    Argument,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Buffer => "output buffer",
            Part::LengthPointer => "length out-pointer",
            Part::ReturnArea => "return area",
            Part::Argument => "argument",
        })
    }
}

/// Why the host could not answer: a bad argument, a bad output range, a bad allocator answer.
/// Each ends the guest's call with a trap (a recoverable condition, a buffer too small, is a
/// [`Status`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The argument did not decode.
    Argument(AbiError),
    /// `offset + len` of an output range does not fit 32 bits.
    AddressOverflow {
        /// Which range.
        part: Part,
        /// Its offset.
        offset: u32,
        /// Its length.
        len: u32,
    },
    /// An output range is not inside the guest's memory.
    OutOfBounds {
        /// Which range.
        part: Part,
        /// Its offset.
        offset: u32,
        /// Its length.
        len: u32,
        /// The memory's size in bytes.
        memory_size: usize,
    },
    /// The length out-pointer overlaps the output buffer: the length would overwrite the answer.
    Overlap {
        /// The buffer's offset.
        buffer: u32,
        /// The buffer's capacity.
        cap: u32,
        /// The length out-pointer.
        len_ptr: u32,
    },
    /// The encoded answer is larger than an argument of its kind may be.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The allocator returned 0.
    AllocNull {
        /// The size asked for.
        size: u32,
    },
    /// `ptr + size` of the allocation does not fit 32 bits.
    AllocAddressOverflow {
        /// The allocator's pointer.
        ptr: u32,
        /// The size asked for.
        size: u32,
    },
    /// The allocation is not inside the guest's memory.
    AllocOutOfBounds {
        /// The allocator's pointer.
        ptr: u32,
        /// The size asked for.
        size: u32,
        /// The memory's size in bytes, after the allocator ran.
        memory_size: usize,
    },
    /// The allocation is not aligned as asked.
    AllocMisaligned {
        /// The allocator's pointer.
        ptr: u32,
        /// The alignment asked for.
        align: u32,
    },
    /// The allocation overlaps memory the guest is using in this call (the argument or the
    /// return area): the allocator handed out memory that is not free.
    AllocOverlap {
        /// The allocator's pointer.
        ptr: u32,
        /// The size asked for.
        size: u32,
        /// What it overlaps.
        part: Part,
    },
    /// A `kv_get` key longer than [`crate::KV_KEY_MAX`].
    KeyTooLong {
        /// Its length.
        len: u32,
    },
}

impl AnswerError {
    /// A short, stable name for the kind of failure (an argument's own kind for
    /// [`AnswerError::Argument`]).
    pub const fn kind(&self) -> &'static str {
        match self {
            AnswerError::Argument(e) => e.kind(),
            AnswerError::AddressOverflow { .. } => "output-address-overflow",
            AnswerError::OutOfBounds { .. } => "output-out-of-bounds",
            AnswerError::Overlap { .. } => "output-overlap",
            AnswerError::TooLarge { .. } => "answer-too-large",
            AnswerError::AllocNull { .. } => "alloc-null",
            AnswerError::AllocAddressOverflow { .. } => "alloc-address-overflow",
            AnswerError::AllocOutOfBounds { .. } => "alloc-out-of-bounds",
            AnswerError::AllocMisaligned { .. } => "alloc-misaligned",
            AnswerError::AllocOverlap { .. } => "alloc-overlap",
            AnswerError::KeyTooLong { .. } => "kv-key-too-long",
        }
    }
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::Argument(e) => write!(f, "{e}"),
            AnswerError::AddressOverflow { part, offset, len } => {
                write!(f, "{part} at offset {offset} + length {len} overflows the 32-bit address space")
            }
            AnswerError::OutOfBounds { part, offset, len, memory_size } => {
                write!(f, "{part} at offset {offset} + length {len} is out of bounds of memory ({memory_size} bytes)")
            }
            AnswerError::Overlap { buffer, cap, len_ptr } => write!(
                f,
                "length out-pointer at offset {len_ptr} overlaps the output buffer at offset {buffer}, capacity {cap}"
            ),
            AnswerError::TooLarge { size, limit } => {
                write!(f, "the answer takes {size} bytes, more than the limit of {limit}")
            }
            AnswerError::AllocNull { size } => {
                write!(f, "the guest's allocator returned 0 for {size} bytes")
            }
            AnswerError::AllocAddressOverflow { ptr, size } => write!(
                f,
                "the guest's allocator returned {ptr} for {size} bytes, which overflows the 32-bit address space"
            ),
            AnswerError::AllocOutOfBounds { ptr, size, memory_size } => write!(
                f,
                "the guest's allocator returned {ptr} for {size} bytes, out of bounds of memory ({memory_size} bytes)"
            ),
            AnswerError::AllocMisaligned { ptr, align } => {
                write!(f, "the guest's allocator returned {ptr}, not aligned to {align} bytes")
            }
            AnswerError::AllocOverlap { ptr, size, part } => {
                write!(f, "the guest's allocator returned {ptr} for {size} bytes, overlapping the {part} of this call")
            }
            AnswerError::KeyTooLong { len } => {
                write!(f, "a key of {len} bytes is longer than the {} a key may have", crate::KV_KEY_MAX)
            }
        }
    }
}

impl core::error::Error for AnswerError {}

/// The range `offset..offset + len` of a memory of `memory_size` bytes, checked.
fn checked_range(memory_size: usize, part: Part, offset: u32, len: u32) -> Result<Range<usize>, AnswerError> {
    let end = offset.checked_add(len).ok_or(AnswerError::AddressOverflow { part, offset, len })?;
    let out_of_bounds = || AnswerError::OutOfBounds { part, offset, len, memory_size };
    let start = usize::try_from(offset).map_err(|_| out_of_bounds())?;
    let end = usize::try_from(end).map_err(|_| out_of_bounds())?;
    if end > memory_size {
        return Err(out_of_bounds());
    }
    Ok(start..end)
}

/// Whether the non-empty ranges `a` and `b` share a byte.
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}

/// Writes `bytes` at `range` of `memory`, which the caller checked; a range that does not fit
/// writes nothing (never panics).
fn put(memory: &mut [u8], range: Range<usize>, bytes: &[u8]) {
    if let Some(dst) = memory.get_mut(range)
        && dst.len() == bytes.len()
    {
        dst.copy_from_slice(bytes);
    }
}

/// An output buffer the guest provides: `[ptr, ptr + cap)`, and the 4-byte little-endian length
/// out-pointer `len_ptr` (no alignment required). `len_ptr` must not overlap the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBuffer {
    /// The buffer's offset.
    pub ptr: u32,
    /// The buffer's capacity in bytes.
    pub cap: u32,
    /// Where the host writes the length written or needed.
    pub len_ptr: u32,
}

impl OutputBuffer {
    /// The buffer from the import's `i32` arguments, reinterpreted as unsigned offsets.
    pub const fn new(out_ptr: i32, out_cap: i32, out_len_ptr: i32) -> Self {
        OutputBuffer {
            ptr: out_ptr.cast_unsigned(),
            cap: out_cap.cast_unsigned(),
            len_ptr: out_len_ptr.cast_unsigned(),
        }
    }

    /// Checks the buffer and the length out-pointer against a memory of `memory_size` bytes,
    /// and that they do not overlap. Returns their ranges.
    pub fn check(&self, memory_size: usize) -> Result<(Range<usize>, Range<usize>), AnswerError> {
        let buffer = checked_range(memory_size, Part::Buffer, self.ptr, self.cap)?;
        let len_at = checked_range(memory_size, Part::LengthPointer, self.len_ptr, 4)?;
        if overlaps(&buffer, &len_at) {
            return Err(AnswerError::Overlap { buffer: self.ptr, cap: self.cap, len_ptr: self.len_ptr });
        }
        Ok((buffer, len_at))
    }

    /// Writes `answer` into the buffer and its length at `len_ptr` ([`Status::Ok`]), or, if it
    /// does not fit, only its length ([`Status::BufferTooSmall`]). Both ranges are checked first
    /// (against the memory as it is now); nothing is written outside them.
    pub fn write(&self, memory: &mut [u8], answer: &[u8]) -> Result<Status, AnswerError> {
        let (buffer, len_at) = self.check(memory.len())?;
        let needed = u32::try_from(answer.len())
            .map_err(|_| AnswerError::TooLarge { size: answer.len(), limit: u32::MAX as usize })?;
        let status = if needed <= self.cap {
            let end = buffer.start.saturating_add(answer.len());
            put(memory, buffer.start..end, answer);
            Status::Ok
        } else {
            Status::BufferTooSmall
        };
        put(memory, len_at, &needed.to_le_bytes());
        Ok(status)
    }
}

/// An answer computed for an `answer_*_alloc` import, waiting for memory from the guest's
/// allocator. Between [`PendingAnswer::new`] and [`PendingAnswer::finish`] the host calls the
/// allocator, which may grow (and so move) memory: `finish` takes the memory as it is then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAnswer {
    bytes: Vec<u8>,
    align: u32,
    argument: (u32, u32),
    ret_ptr: u32,
}

impl PendingAnswer {
    /// Decodes the argument `(ptr, len)` of kind `kind`, computes the answer and checks the
    /// 8-byte return area at `ret_ptr`. Answers are never empty, so the allocator is never asked
    /// for 0 bytes.
    pub fn new(kind: ValueKind, memory: &[u8], ptr: i32, len: i32, ret_ptr: i32) -> Result<Self, AnswerError> {
        let ret_ptr = ret_ptr.cast_unsigned();
        checked_range(memory.len(), Part::ReturnArea, ret_ptr, RETURN_AREA_SIZE)?;
        let bytes = answer_bytes(kind, memory, ptr, len)?;
        // A text of nearly 4 GiB would have an answer longer than a 32-bit length can say.
        if u32::try_from(bytes.len()).is_err() {
            return Err(AnswerError::TooLarge { size: bytes.len(), limit: u32::MAX as usize });
        }
        Ok(PendingAnswer {
            bytes,
            align: answer_align(kind),
            argument: (ptr.cast_unsigned(), len.cast_unsigned()),
            ret_ptr,
        })
    }

    /// The size to ask the allocator for, as its `i32` parameter (at most `u32::MAX`, checked by
    /// [`PendingAnswer::new`]).
    pub fn size(&self) -> i32 {
        u32::try_from(self.bytes.len()).unwrap_or(u32::MAX).cast_signed()
    }

    /// The alignment to ask the allocator for, as its `i32` parameter.
    pub const fn align(&self) -> i32 {
        self.align.cast_signed()
    }

    /// The answer's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Validates the allocator's answer `allocated` like the component model validates
    /// `cabi_realloc`'s (not 0, no wrap-around, in bounds of the memory as it is now, aligned, and
    /// not overlapping the argument or the return area), then writes the answer there and
    /// `(ptr, len)` into the return area.
    pub fn finish(self, memory: &mut [u8], allocated: i32) -> Result<(), AnswerError> {
        let ptr = allocated.cast_unsigned();
        let size = self.size().cast_unsigned();
        if ptr == 0 {
            return Err(AnswerError::AllocNull { size });
        }
        let end = ptr.checked_add(size).ok_or(AnswerError::AllocAddressOverflow { ptr, size })?;
        let target = match (usize::try_from(ptr), usize::try_from(end)) {
            (Ok(start), Ok(end)) if end <= memory.len() => start..end,
            _ => return Err(AnswerError::AllocOutOfBounds { ptr, size, memory_size: memory.len() }),
        };
        if !ptr.is_multiple_of(self.align) {
            return Err(AnswerError::AllocMisaligned { ptr, align: self.align });
        }
        let ret = checked_range(memory.len(), Part::ReturnArea, self.ret_ptr, RETURN_AREA_SIZE)?;
        if overlaps(&target, &ret) {
            return Err(AnswerError::AllocOverlap { ptr, size, part: Part::ReturnArea });
        }
        let (arg_ptr, arg_len) = self.argument;
        if let Ok(argument) = checked_range(memory.len(), Part::Argument, arg_ptr, arg_len)
            && overlaps(&target, &argument)
        {
            return Err(AnswerError::AllocOverlap { ptr, size, part: Part::Argument });
        }
        put(memory, target, &self.bytes);
        let mut area = [0; 8];
        let (p, l) = area.split_at_mut(4);
        p.copy_from_slice(&ptr.to_le_bytes());
        l.copy_from_slice(&size.to_le_bytes());
        put(memory, ret, &area);
        Ok(())
    }
}

/// The answer to a text: `Hello, NAME!`.
pub fn greeting(name: &str) -> String {
    alloc::format!("Hello, {name}!")
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "test sizes are small")]
mod tests {
    use super::*;
    use crate::{AB, CD};
    use alloc::vec;
    use proptest::prelude::*;

    const CANARY: u8 = 0xC5;

    fn memory_with(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut memory = vec![CANARY; 256];
        memory[at..at + bytes.len()].copy_from_slice(bytes);
        memory
    }

    #[test]
    fn answers_transform() {
        assert_eq!(answer_to(&Event::Str("Wasm".into())), Event::Str("Hello, Wasm!".into()));
        let ab = AB { a: u32::MAX, b: "straße".into() };
        assert_eq!(answer_to(&Event::Ab(ab.into())), Event::Ab(AB { a: 0, b: "STRASSE".into() }.into()));
        let cd = CD::new(i32::MIN, "x").unwrap();
        assert_eq!(answer_to(&Event::Cd(cd)), Event::Cd(cd));
        let cd = CD::new(5, "x").unwrap();
        assert_eq!(answer_to(&Event::Cd(cd)), Event::Cd(CD::new(-5, "x").unwrap()));
    }

    #[test]
    fn writes_when_it_fits_and_only_the_length_when_not() {
        let mut memory = memory_with(b"Wasm", 0);
        let answer = b"Hello, Wasm!";
        // Exactly fitting.
        let out = OutputBuffer { ptr: 16, cap: 12, len_ptr: 40 };
        assert_eq!(answer_into(ValueKind::Str, &mut memory, 0, 4, out), Ok(Status::Ok));
        assert_eq!(&memory[16..28], answer);
        assert_eq!(memory[28], CANARY);
        assert_eq!(memory[15], CANARY);
        assert_eq!(&memory[40..44], &12u32.to_le_bytes());
        // One byte too small: only the length.
        let mut memory = memory_with(b"Wasm", 0);
        let out = OutputBuffer { ptr: 16, cap: 11, len_ptr: 40 };
        assert_eq!(answer_into(ValueKind::Str, &mut memory, 0, 4, out), Ok(Status::BufferTooSmall));
        assert!(memory[16..40].iter().all(|&b| b == CANARY));
        assert_eq!(&memory[40..44], &12u32.to_le_bytes());
        // A size query.
        let out = OutputBuffer { ptr: 0, cap: 0, len_ptr: 100 };
        assert_eq!(answer_into(ValueKind::Str, &mut memory, 0, 4, out), Ok(Status::BufferTooSmall));
        assert_eq!(&memory[100..104], &12u32.to_le_bytes());
    }

    #[test]
    fn bad_output_ranges_write_nothing() {
        let cases = [
            (OutputBuffer { ptr: 250, cap: 12, len_ptr: 0 }, "output-out-of-bounds"),
            (OutputBuffer { ptr: u32::MAX, cap: 2, len_ptr: 0 }, "output-address-overflow"),
            (OutputBuffer { ptr: 16, cap: 16, len_ptr: 253 }, "output-out-of-bounds"),
            (OutputBuffer { ptr: 16, cap: 16, len_ptr: u32::MAX - 1 }, "output-address-overflow"),
            (OutputBuffer { ptr: 16, cap: 16, len_ptr: 28 }, "output-overlap"),
            (OutputBuffer { ptr: 16, cap: 16, len_ptr: 13 }, "output-overlap"),
        ];
        for (out, kind) in cases {
            let mut memory = memory_with(b"Wasm", 0);
            let before = memory.clone();
            let e = answer_into(ValueKind::Str, &mut memory, 0, 4, out).unwrap_err();
            assert_eq!(e.kind(), kind, "{out:?}: {e}");
            assert_eq!(memory, before, "{out:?}");
        }
        // Adjacent is fine.
        let mut memory = memory_with(b"Wasm", 0);
        let out = OutputBuffer { ptr: 16, cap: 16, len_ptr: 32 };
        assert_eq!(answer_into(ValueKind::Str, &mut memory, 0, 4, out), Ok(Status::Ok));
    }

    #[test]
    fn allocator_answers_are_validated() {
        let memory = memory_with(b"Wasm", 0);
        let pending = PendingAnswer::new(ValueKind::Str, &memory, 0, 4, 200).unwrap();
        assert_eq!((pending.size(), pending.align()), (12, 1));
        let cases = [
            (0, "alloc-null"),
            (-4, "alloc-address-overflow"),
            (250, "alloc-out-of-bounds"),
            (196, "alloc-overlap"),
            (2, "alloc-overlap"),
        ];
        for (ptr, kind) in cases {
            let mut memory = memory.clone();
            let e = pending.clone().finish(&mut memory, ptr).unwrap_err();
            assert_eq!(e.kind(), kind, "{ptr}: {e}");
        }
        let mut grown = memory.clone();
        grown.resize(512, CANARY);
        pending.finish(&mut grown, 300).unwrap();
        assert_eq!(&grown[300..312], b"Hello, Wasm!");
        assert_eq!(&grown[200..204], &300u32.to_le_bytes());
        assert_eq!(&grown[204..208], &12u32.to_le_bytes());
        assert_eq!(grown[312], CANARY);

        let cd = CD::new(3, "x").unwrap().to_wire();
        let memory = memory_with(bytemuck::bytes_of(&cd), 0);
        let pending = PendingAnswer::new(ValueKind::Cd, &memory, 0, 40, 200).unwrap();
        assert_eq!(pending.clone().finish(&mut memory.clone(), 101).unwrap_err().kind(), "alloc-misaligned");
        pending.finish(&mut memory.clone(), 100).unwrap();
    }

    #[test]
    fn ab_answers_over_the_limit_are_refused() {
        // 'ΐ' is 2 bytes and upper-cases to 3 characters, 6 bytes.
        let ab = AB { a: 0, b: "ΐ".repeat(20_000) };
        assert_eq!(encode(&answer_to(&Event::Ab(ab.into()))).unwrap_err().kind(), "answer-too-large");
    }

    proptest! {
        /// Any output buffer: either an error and memory untouched, or the documented writes and
        /// nothing else.
        #[test]
        fn writes_stay_inside_the_buffer_and_the_length(
            ptr in prop_oneof![0u32..300, any::<u32>()],
            cap in prop_oneof![0u32..40, any::<u32>()],
            len_ptr in prop_oneof![0u32..300, any::<u32>()],
            answer in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let mut memory = vec![CANARY; 256];
            let out = OutputBuffer { ptr, cap, len_ptr };
            let result = out.write(&mut memory, &answer);
            let mut expected = vec![CANARY; 256];
            if let Ok(status) = result {
                if status == Status::Ok {
                    expected[ptr as usize..ptr as usize + answer.len()].copy_from_slice(&answer);
                }
                expected[len_ptr as usize..len_ptr as usize + 4].copy_from_slice(&(answer.len() as u32).to_le_bytes());
                prop_assert_eq!(status == Status::Ok, answer.len() as u32 <= cap);
            }
            prop_assert_eq!(memory, expected);
        }
    }
}
