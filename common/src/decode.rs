//! Checked decoding of guest memory: (memory bytes, offset, length) in, a value or an
//! [`AbiError`] out.
//!
//! Every function here is total: for any memory, offset and length it returns, without panicking,
//! overflowing, reading out of bounds, or allocating more than [`AB_DECODE_LIMIT`] bytes.
//!
//! Text is validated with SIMD ([`simdutf8`], its `compat` flavour, which reports where the valid
//! UTF-8 ends like [`core::str::from_utf8`] does). On x86_64 the fastest implementation (AVX2 or
//! SSE4.2) is picked at run time when `common`'s `std` feature is on, as it is in every host;
//! inputs under 64 bytes are validated by `core` either way.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use core::fmt;

use serde::Deserialize;

use crate::types::{AB_BINCODE_LIMIT, AB_DECODE_LIMIT, AbRef, CD, CD_TEXT_MAX, CD_WIRE_SIZE, CdWire, ab_config};
use crate::{Event, ValueKind};

/// Why a guest's argument to an import was refused. Every variant names the offset and length
/// the guest passed, so that the message says what went wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbiError {
    /// `offset + len` does not fit the 32-bit address space.
    AddressOverflow {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
    },
    /// The range `offset..offset + len` is not inside the guest's memory.
    OutOfBounds {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
        /// The memory's size in bytes at the time of the call.
        memory_size: usize,
    },
    /// `log_str` bytes are not UTF-8.
    InvalidUtf8 {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
        /// How many leading bytes are valid UTF-8.
        valid_up_to: usize,
    },
    /// A `log_ab` argument is larger than [`AB_DECODE_LIMIT`].
    AbTooLarge {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
    },
    /// A `log_ab` argument is not a bincode-encoded [`AB`](crate::AB) (truncated, bad varint, bad
    /// UTF-8, or a length prefix past the decode limit).
    AbDecode {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
        /// bincode's description of the failure.
        reason: String,
    },
    /// A `log_ab` argument holds bytes after a complete [`AB`](crate::AB).
    AbTrailingBytes {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
        /// How many bytes the [`AB`](crate::AB) took.
        used: usize,
    },
    /// A `log_cd` argument is not [`CD_WIRE_SIZE`] bytes long.
    CdSize {
        /// The guest's offset.
        offset: u32,
        /// The guest's length.
        len: u32,
    },
    /// A `log_cd` text length is over [`CD_TEXT_MAX`].
    CdTextTooLong {
        /// The guest's offset.
        offset: u32,
        /// The text length the `CD` claims.
        text_len: u32,
    },
    /// A `log_cd` text is not UTF-8.
    CdInvalidUtf8 {
        /// The guest's offset.
        offset: u32,
        /// The text length the `CD` claims.
        text_len: u32,
        /// How many leading text bytes are valid UTF-8.
        valid_up_to: usize,
    },
}

impl AbiError {
    /// A short, stable name for the kind of failure, for tests and machine-readable output.
    pub const fn kind(&self) -> &'static str {
        match self {
            AbiError::AddressOverflow { .. } => "address-overflow",
            AbiError::OutOfBounds { .. } => "out-of-bounds",
            AbiError::InvalidUtf8 { .. } => "invalid-utf8",
            AbiError::AbTooLarge { .. } => "ab-too-large",
            AbiError::AbDecode { .. } => "ab-decode",
            AbiError::AbTrailingBytes { .. } => "ab-trailing-bytes",
            AbiError::CdSize { .. } => "cd-size",
            AbiError::CdTextTooLong { .. } => "cd-text-too-long",
            AbiError::CdInvalidUtf8 { .. } => "cd-invalid-utf8",
        }
    }
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::AddressOverflow { offset, len } => {
                write!(f, "offset {offset} + length {len} overflows the 32-bit address space")
            }
            AbiError::OutOfBounds { offset, len, memory_size } => {
                write!(f, "offset {offset} + length {len} is out of bounds of memory ({memory_size} bytes)")
            }
            AbiError::InvalidUtf8 { offset, len, valid_up_to } => {
                write!(f, "string at offset {offset}, length {len} is not UTF-8 (valid up to byte {valid_up_to})")
            }
            AbiError::AbTooLarge { offset, len } => {
                write!(f, "AB at offset {offset}, length {len} exceeds the decode limit of {AB_DECODE_LIMIT} bytes")
            }
            AbiError::AbDecode { offset, len, reason } => {
                write!(f, "AB at offset {offset}, length {len} does not decode: {reason}")
            }
            AbiError::AbTrailingBytes { offset, len, used } => {
                write!(f, "AB at offset {offset}, length {len} has trailing bytes (the AB ends after {used})")
            }
            AbiError::CdSize { offset, len } => {
                write!(f, "CD at offset {offset} has length {len}, expected {CD_WIRE_SIZE}")
            }
            AbiError::CdTextTooLong { offset, text_len } => {
                write!(f, "CD at offset {offset} claims a text of {text_len} bytes, at most {CD_TEXT_MAX} fit")
            }
            AbiError::CdInvalidUtf8 { offset, text_len, valid_up_to } => write!(
                f,
                "CD at offset {offset} has a text of {text_len} bytes that is not UTF-8 (valid up to byte {valid_up_to})"
            ),
        }
    }
}

impl core::error::Error for AbiError {}

/// The bytes `offset..offset + len` of `memory`, bounds-checked.
pub fn guest_bytes(memory: &[u8], offset: u32, len: u32) -> Result<&[u8], AbiError> {
    let end = offset.checked_add(len).ok_or(AbiError::AddressOverflow { offset, len })?;
    let out_of_bounds = || AbiError::OutOfBounds { offset, len, memory_size: memory.len() };
    // On a 16-bit host a u32 might not fit a usize: that is out of bounds too.
    let start = usize::try_from(offset).map_err(|_| out_of_bounds())?;
    let end = usize::try_from(end).map_err(|_| out_of_bounds())?;
    memory.get(start..end).ok_or_else(out_of_bounds)
}

/// `bytes` as UTF-8, validated with SIMD; on failure, how many leading bytes are valid.
fn utf8(bytes: &[u8]) -> Result<&str, usize> {
    simdutf8::compat::from_utf8(bytes).map_err(|e| e.valid_up_to())
}

/// The UTF-8 string at `offset..offset + len`, borrowed from `memory` (zero-copy).
pub fn decode_str(memory: &[u8], offset: u32, len: u32) -> Result<&str, AbiError> {
    let bytes = guest_bytes(memory, offset, len)?;
    utf8(bytes).map_err(|valid_up_to| AbiError::InvalidUtf8 { offset, len, valid_up_to })
}

/// The wire form of an [`AB`](crate::AB) with its string left in place: the same serde shape (a
/// `u32`, then a length-prefixed byte string, which bincode encodes like a `str`), so bincode's
/// borrowing decoder reads the varints and hands back the string's bytes without copying them.
#[derive(Deserialize)]
struct AbWire<'a> {
    a: u32,
    b: &'a [u8],
}

/// The [`AB`](crate::AB) encoded at `offset..offset + len`, its text borrowed from `memory`
/// (zero-copy: nothing is allocated unless it fails): exactly one value, no trailing bytes, at
/// most [`AB_DECODE_LIMIT`] bytes. [`AbRef::into_owned`] or `AB::from` copies it out.
pub fn decode_ab(memory: &[u8], offset: u32, len: u32) -> Result<AbRef<'_>, AbiError> {
    let bytes = guest_bytes(memory, offset, len)?;
    if bytes.len() > AB_DECODE_LIMIT {
        return Err(AbiError::AbTooLarge { offset, len });
    }
    let refused = |reason| AbiError::AbDecode { offset, len, reason };
    let (wire, used): (AbWire<'_>, usize) =
        bincode::serde::borrow_decode_from_slice(bytes, ab_config()).map_err(|e| refused(describe(&e)))?;
    let b = utf8(wire.b).map_err(|valid_up_to| refused(not_utf8(valid_up_to)))?;
    if used != bytes.len() {
        return Err(AbiError::AbTrailingBytes { offset, len, used });
    }
    Ok(AbRef { a: wire.a, b: Cow::Borrowed(b) })
}

/// bincode's error in words (its `Display` is its `Debug`).
fn describe(error: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    match error {
        E::UnexpectedEnd { additional } => {
            alloc::format!("truncated ({additional} more byte(s) needed)")
        }
        E::LimitExceeded => {
            alloc::format!("a length prefix claims more than the decode limit of {AB_BINCODE_LIMIT} bytes")
        }
        // `decode_ab` validates the string itself; this is for a decode into an owned `AB`.
        E::Utf8 { inner } => not_utf8(inner.valid_up_to()),
        E::InvalidIntegerType { .. } => "an integer has an invalid varint tag".to_string(),
        other => other.to_string(),
    }
}

/// The reason given for an `AB` string that is not UTF-8.
fn not_utf8(valid_up_to: usize) -> String {
    alloc::format!("the string is not UTF-8 (valid up to byte {valid_up_to})")
}

/// The [`CD`] whose [`CdWire`] image is at `offset..offset + len`.
///
/// The image is viewed in place with [`bytemuck`] (it has alignment 1, so any offset works), then
/// validated: `len` must be [`CD_WIRE_SIZE`], the text length at most [`CD_TEXT_MAX`], the text
/// UTF-8.
pub fn decode_cd(memory: &[u8], offset: u32, len: u32) -> Result<CD, AbiError> {
    let bytes = guest_bytes(memory, offset, len)?;
    let wire: &CdWire = bytemuck::try_from_bytes(bytes).map_err(|_| AbiError::CdSize { offset, len })?;
    let text_len = u32::from_le_bytes(wire.len);
    let text = usize::try_from(text_len)
        .ok()
        .and_then(|n| wire.text.get(..n))
        .ok_or(AbiError::CdTextTooLong { offset, text_len })?;
    let text = utf8(text).map_err(|valid_up_to| AbiError::CdInvalidUtf8 { offset, text_len, valid_up_to })?;
    CD::new(i32::from_le_bytes(wire.c), text).map_err(|_| AbiError::CdTextTooLong { offset, text_len })
}

/// A value argument `(ptr, len)` (or the plain value `ptr` for [`ValueKind::Int`]), decoded into
/// the [`Event`] that records it.
///
/// `ptr` and `len` are the `i32`s the runtime hands over; they are reinterpreted as unsigned
/// offsets here. This is the one function a host's import bodies decode arguments with.
pub fn decode_value(kind: ValueKind, memory: &[u8], ptr: i32, len: i32) -> Result<Event<'_>, AbiError> {
    let (offset, len) = (ptr.cast_unsigned(), len.cast_unsigned());
    Ok(match kind {
        ValueKind::Int => Event::Int(ptr),
        ValueKind::Str => Event::Str(Cow::Borrowed(decode_str(memory, offset, len)?)),
        ValueKind::Ab => Event::Ab(decode_ab(memory, offset, len)?),
        ValueKind::Cd => Event::Cd(decode_cd(memory, offset, len)?),
    })
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "test sizes are small")]
mod tests {
    use super::*;
    use crate::types::AB;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn ab_bytes(ab: &AB) -> Vec<u8> {
        bincode::serde::encode_to_vec(ab, ab_config()).unwrap()
    }

    /// `decode_ab` made owned, to compare with an [`AB`].
    fn decode_ab_owned(memory: &[u8], offset: u32, len: u32) -> Result<AB, AbiError> {
        decode_ab(memory, offset, len).map(AB::from)
    }

    /// What `decode_ab` was before it borrowed: bincode's owned serde decode into an [`AB`], which
    /// validates the string with `core`. The reference the borrowing SIMD decoder must match,
    /// error messages included (golden files check them).
    fn decode_ab_reference(memory: &[u8], offset: u32, len: u32) -> Result<AB, AbiError> {
        let bytes = guest_bytes(memory, offset, len)?;
        if bytes.len() > AB_DECODE_LIMIT {
            return Err(AbiError::AbTooLarge { offset, len });
        }
        let (ab, used): (AB, usize) = bincode::serde::decode_from_slice(bytes, ab_config())
            .map_err(|e| AbiError::AbDecode { offset, len, reason: describe(&e) })?;
        if used != bytes.len() {
            return Err(AbiError::AbTrailingBytes { offset, len, used });
        }
        Ok(ab)
    }

    fn place(bytes: &[u8], at: usize, size: usize) -> Vec<u8> {
        let mut memory = vec![0xAA; size];
        memory[at..at + bytes.len()].copy_from_slice(bytes);
        memory
    }

    #[test]
    fn bytes_in_bounds() {
        let memory = [1, 2, 3, 4];
        assert_eq!(guest_bytes(&memory, 1, 2), Ok(&[2, 3][..]));
        assert_eq!(guest_bytes(&memory, 4, 0), Ok(&[][..]));
        assert_eq!(guest_bytes(&memory, 0, 4), Ok(&memory[..]));
    }

    #[test]
    fn bytes_out_of_bounds() {
        let memory = [0; 4];
        assert_eq!(guest_bytes(&memory, 3, 2), Err(AbiError::OutOfBounds { offset: 3, len: 2, memory_size: 4 }));
        assert_eq!(guest_bytes(&memory, 5, 0), Err(AbiError::OutOfBounds { offset: 5, len: 0, memory_size: 4 }));
        assert_eq!(guest_bytes(&memory, u32::MAX, 2), Err(AbiError::AddressOverflow { offset: u32::MAX, len: 2 }));
        assert_eq!(guest_bytes(&memory, 1, u32::MAX), Err(AbiError::AddressOverflow { offset: 1, len: u32::MAX }));
    }

    #[test]
    fn messages_name_offset_length_and_memory_size() {
        let e = guest_bytes(&[0; 16], 10, 20).unwrap_err();
        assert_eq!(e.to_string(), "offset 10 + length 20 is out of bounds of memory (16 bytes)");
        assert_eq!(e.kind(), "out-of-bounds");
    }

    #[test]
    fn str_zero_copy_and_utf8() {
        let memory = place("héllo".as_bytes(), 8, 32);
        let s = decode_str(&memory, 8, 6).unwrap();
        assert_eq!(s, "héllo");
        assert_eq!(s.as_ptr(), memory[8..].as_ptr(), "read in place");
        assert_eq!(decode_str(&memory, 10, 2), Err(AbiError::InvalidUtf8 { offset: 10, len: 2, valid_up_to: 0 }));
        assert_eq!(decode_str(&memory, 0, 0), Ok(""));
    }

    #[test]
    fn ab_round_trip() {
        let ab = AB { a: 1234, b: "abcd".into() };
        let bytes = ab_bytes(&ab);
        assert_eq!(bytes, [0xFB, 0xD2, 0x04, 4, b'a', b'b', b'c', b'd'], "varint, LE");
        let memory = place(&bytes, 3, 64);
        assert_eq!(decode_ab_owned(&memory, 3, bytes.len() as u32), Ok(ab));
    }

    #[test]
    fn ab_text_is_borrowed_until_made_owned() {
        let ab = AB { a: 7, b: "aé€😀 ".repeat(40) };
        let bytes = ab_bytes(&ab);
        let memory = place(&bytes, 5, 512);
        let decoded = decode_ab(&memory, 5, bytes.len() as u32).unwrap();
        assert!(matches!(decoded.b, Cow::Borrowed(_)), "zero-copy");
        assert_eq!(decoded.b.as_ptr(), memory[5 + bytes.len() - ab.b.len()..].as_ptr(), "read in place");
        assert_eq!(decoded, ab);
        let event = decode_value(ValueKind::Ab, &memory, 5, bytes.len() as i32).unwrap().into_owned();
        assert!(matches!(&event, Event::Ab(AbRef { b: Cow::Owned(_), .. })));
        assert_eq!(event.to_string(), alloc::format!("ab {ab}"));
    }

    #[test]
    fn ab_error_messages() {
        let message = |bytes: &[u8]| decode_ab(bytes, 0, bytes.len() as u32).unwrap_err().to_string();
        assert_eq!(
            message(&[0, 3, b'a']),
            "AB at offset 0, length 3 does not decode: truncated (2 more byte(s) needed)"
        );
        assert_eq!(message(&[0xFB, 1]), "AB at offset 0, length 2 does not decode: truncated (1 more byte(s) needed)");
        assert_eq!(
            message(&[0, 3, b'a', 0xFF, b'b']),
            "AB at offset 0, length 5 does not decode: the string is not UTF-8 (valid up to byte 1)"
        );
        assert_eq!(
            message(&[0xFF, 0]),
            "AB at offset 0, length 2 does not decode: an integer has an invalid varint tag"
        );
        assert_eq!(
            message(&[0, 0xFC, 0, 0, 2, 0]),
            "AB at offset 0, length 6 does not decode: a length prefix claims more than the decode limit of 65552 bytes"
        );
        assert_eq!(message(&[0, 0, 9]), "AB at offset 0, length 3 has trailing bytes (the AB ends after 2)");
    }

    #[test]
    fn ab_trailing_and_truncated() {
        let bytes = ab_bytes(&AB { a: 7, b: "xy".into() });
        let memory = place(&bytes, 0, 64);
        let n = bytes.len() as u32;
        assert_eq!(
            decode_ab(&memory, 0, n + 1),
            Err(AbiError::AbTrailingBytes { offset: 0, len: n + 1, used: bytes.len() })
        );
        assert_eq!(decode_ab(&memory, 0, n - 1).unwrap_err().kind(), "ab-decode");
        assert_eq!(decode_ab(&memory, 0, 0).unwrap_err().kind(), "ab-decode");
    }

    #[test]
    fn ab_huge_length_prefix_is_refused_without_allocating() {
        // a = 0, then a string length varint claiming u64::MAX bytes.
        let bytes = [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let e = decode_ab(&bytes, 0, bytes.len() as u32).unwrap_err();
        assert_eq!(e.kind(), "ab-decode", "{e}");
        // And one claiming just over the limit.
        let mut bytes = vec![0, 0xFC];
        bytes.extend_from_slice(&(AB_DECODE_LIMIT as u32 + 1).to_le_bytes());
        assert_eq!(decode_ab(&bytes, 0, bytes.len() as u32).unwrap_err().kind(), "ab-decode");
    }

    #[test]
    fn ab_near_the_limit() {
        // The string's varint length prefix is 3 bytes and `a = 0` takes 1.
        let fits = AB { a: 0, b: "x".repeat(AB_DECODE_LIMIT - 4) };
        let bytes = ab_bytes(&fits);
        assert_eq!(bytes.len(), AB_DECODE_LIMIT);
        assert!(
            decode_ab(&bytes, 0, bytes.len() as u32).is_ok_and(|ab| ab == fits),
            "an AB of exactly the limit decodes"
        );
        let over = ab_bytes(&AB { a: 0, b: "x".repeat(AB_DECODE_LIMIT - 3) });
        let e = decode_ab(&over, 0, over.len() as u32).unwrap_err();
        assert_eq!(e, AbiError::AbTooLarge { offset: 0, len: over.len() as u32 });
    }

    #[test]
    fn cd_round_trip_at_any_alignment() {
        let cd = CD::new(1234, "hello world").unwrap();
        let wire = cd.to_wire();
        for at in 0..8 {
            let memory = place(bytemuck::bytes_of(&wire), at, 64);
            assert_eq!(decode_cd(&memory, at as u32, 40), Ok(cd), "offset {at}");
        }
    }

    #[test]
    fn cd_refusals() {
        let mut wire = CD::new(-5, "ok").unwrap().to_wire();
        let memory = place(bytemuck::bytes_of(&wire), 0, 64);
        assert_eq!(decode_cd(&memory, 0, 39), Err(AbiError::CdSize { offset: 0, len: 39 }));
        assert_eq!(decode_cd(&memory, 0, 41), Err(AbiError::CdSize { offset: 0, len: 41 }));

        wire.len = 33u32.to_le_bytes();
        let memory = place(bytemuck::bytes_of(&wire), 0, 64);
        assert_eq!(decode_cd(&memory, 0, 40), Err(AbiError::CdTextTooLong { offset: 0, text_len: 33 }));

        wire.len = u32::MAX.to_le_bytes();
        let memory = place(bytemuck::bytes_of(&wire), 0, 64);
        assert_eq!(decode_cd(&memory, 0, 40), Err(AbiError::CdTextTooLong { offset: 0, text_len: u32::MAX }));

        wire.len = 2u32.to_le_bytes();
        wire.text[1] = 0xFF;
        let memory = place(bytemuck::bytes_of(&wire), 0, 64);
        assert_eq!(decode_cd(&memory, 0, 40), Err(AbiError::CdInvalidUtf8 { offset: 0, text_len: 2, valid_up_to: 1 }));
    }

    #[test]
    fn cd_multibyte_char_ending_at_byte_32() {
        let text = alloc::format!("{}é", "a".repeat(30));
        let cd = CD::new(0, &text).unwrap();
        let memory = place(bytemuck::bytes_of(&cd.to_wire()), 0, 40);
        assert_eq!(decode_cd(&memory, 0, 40).unwrap().d(), text);
    }

    #[test]
    fn decode_value_reinterprets_negative_arguments_as_offsets() {
        let memory = [0u8; 16];
        assert_eq!(
            decode_value(ValueKind::Str, &memory, -1, 1),
            Err(AbiError::AddressOverflow { offset: u32::MAX, len: 1 })
        );
        assert_eq!(
            decode_value(ValueKind::Str, &memory, 0, -1),
            Err(AbiError::OutOfBounds { offset: 0, len: u32::MAX, memory_size: 16 })
        );
        assert_eq!(decode_value(ValueKind::Int, &memory, -7, 0), Ok(Event::Int(-7)));
    }

    /// Byte sequences where a UTF-8 validator can go wrong, inserted into valid text by the tests
    /// below: invalid ones first (overlong encodings, surrogates, above U+10FFFF, bytes never in
    /// UTF-8, lone continuation bytes, sequences cut short), then valid ones at the edges of each
    /// width, which also shift what follows across block boundaries.
    const SEQUENCES: &[&[u8]] = &[
        &[0xC0, 0x80],
        &[0xC1, 0xBF],
        &[0xE0, 0x80, 0x80],
        &[0xE0, 0x9F, 0xBF],
        &[0xF0, 0x80, 0x80, 0x80],
        &[0xF0, 0x8F, 0xBF, 0xBF],
        &[0xED, 0xA0, 0x80],
        &[0xED, 0xBF, 0xBF],
        &[0xF4, 0x90, 0x80, 0x80],
        &[0xF5, 0x80, 0x80, 0x80],
        &[0xF8, 0x88, 0x80, 0x80, 0x80],
        &[0xFE],
        &[0xFF],
        &[0x80],
        &[0xBF],
        &[0xC2],
        &[0xE2, 0x82],
        &[0xF0, 0x9F, 0x98],
        &[0xC2, 0x80],
        &[0xDF, 0xBF],
        &[0xE0, 0xA0, 0x80],
        &[0xED, 0x9F, 0xBF],
        &[0xEE, 0x80, 0x80],
        &[0xEF, 0xBF, 0xBF],
        &[0xF0, 0x90, 0x80, 0x80],
        &[0xF4, 0x8F, 0xBF, 0xBF],
    ];

    /// `decode_str` accepts exactly what `core::str::from_utf8` accepts and, when it refuses,
    /// reports the same `valid_up_to`.
    fn check_str(bytes: &[u8], at: usize) -> Result<(), TestCaseError> {
        let memory = place(bytes, at, at + bytes.len() + 3);
        let (offset, len) = (at as u32, bytes.len() as u32);
        let expected = core::str::from_utf8(bytes).map_err(|e| AbiError::InvalidUtf8 {
            offset,
            len,
            valid_up_to: e.valid_up_to(),
        });
        prop_assert_eq!(decode_str(&memory, offset, len), expected);
        Ok(())
    }

    /// Every [`SEQUENCES`] entry at every position of 192 bytes of ASCII and of mixed-width text
    /// (three 64-byte blocks), and those texts cut at every length.
    #[test]
    fn str_sequences_at_every_position() {
        let ascii = "The quick brown fox jumps over the lazy dog. ".repeat(5);
        let mixed = "aé€😀 ".repeat(20);
        for text in [&ascii.as_bytes()[..192], &mixed.as_bytes()[..192]] {
            for at in 0..=text.len() {
                check_str(&text[..at], 0).unwrap();
                for sequence in SEQUENCES {
                    let mut bytes = text.to_vec();
                    bytes.splice(at..at, sequence.iter().copied());
                    check_str(&bytes, 0).unwrap();
                }
            }
        }
    }

    /// Where a mutation applies.
    #[derive(Debug, Clone)]
    enum Position {
        /// Anywhere in the input, or just past its end.
        Any(proptest::sample::Index),
        /// Within 4 bytes of a 16-byte block boundary (so also of the 32- and 64-byte ones):
        /// `16 * block + delta`, clamped to the input's end.
        Boundary(usize, i8),
    }

    impl Position {
        fn resolve(&self, len: usize) -> usize {
            match self {
                Position::Any(index) => index.index(len + 1),
                Position::Boundary(block, delta) => (block * 16).saturating_add_signed(isize::from(*delta)).min(len),
            }
        }
    }

    /// A change to valid input.
    #[derive(Debug, Clone)]
    enum Mutation {
        /// Overwrite (or, at the end, append) one byte.
        Set(Position, u8),
        /// Insert one of [`SEQUENCES`].
        Insert(Position, usize),
        /// Cut the input there (possibly inside a character).
        Truncate(Position),
    }

    impl Mutation {
        fn apply(&self, bytes: &mut Vec<u8>) {
            match self {
                Mutation::Set(at, byte) => {
                    let at = at.resolve(bytes.len());
                    match bytes.get_mut(at) {
                        Some(b) => *b = *byte,
                        None => bytes.push(*byte),
                    }
                }
                Mutation::Insert(at, which) => {
                    let at = at.resolve(bytes.len());
                    bytes.splice(at..at, SEQUENCES[*which].iter().copied());
                }
                Mutation::Truncate(at) => bytes.truncate(at.resolve(bytes.len())),
            }
        }
    }

    fn position() -> impl Strategy<Value = Position> {
        prop_oneof![
            any::<proptest::sample::Index>().prop_map(Position::Any),
            (0usize..160, -4i8..=4).prop_map(|(block, delta)| Position::Boundary(block, delta)),
        ]
    }

    fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
        let byte = prop_oneof![any::<u8>(), 0x80u8..=0xBF, 0xC0u8..=0xFF];
        let mutation = prop_oneof![
            (position(), byte).prop_map(|(at, byte)| Mutation::Set(at, byte)),
            (position(), 0..SEQUENCES.len()).prop_map(|(at, which)| Mutation::Insert(at, which)),
            position().prop_map(Mutation::Truncate),
        ];
        proptest::collection::vec(mutation, 0..4)
    }

    /// Valid UTF-8 of every width: ASCII runs (SIMD's fast path) of random lengths, each followed
    /// by any character; up to about 1.7 KiB, so that it spans many 64-byte blocks.
    fn mixed_text() -> impl Strategy<Value = String> {
        let chunk = (proptest::char::range(' ', '~'), 0usize..40, any::<char>());
        proptest::collection::vec(chunk, 0..40).prop_map(|chunks| {
            chunks.into_iter().flat_map(|(ascii, run, c)| core::iter::repeat_n(ascii, run).chain([c])).collect()
        })
    }

    fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        for mutation in mutations {
            mutation.apply(&mut bytes);
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// SIMD validation against `core`, on valid text with up to three mutations (none: valid).
        #[test]
        fn str_agrees_with_core_on_mutated_text(text in mixed_text(), mutations in mutations(), at in 0usize..16) {
            check_str(&apply(text.into_bytes(), &mutations), at)?;
        }

        /// SIMD validation against `core`, on arbitrary bytes and on ASCII runs (up to 2 KiB in
        /// all) each followed by an arbitrary byte.
        #[test]
        fn str_agrees_with_core_on_arbitrary_bytes(
            bytes in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..256),
                proptest::collection::vec((0x20u8..0x7F, 0usize..200, any::<u8>()), 0..10).prop_map(|runs| {
                    runs.into_iter().flat_map(|(ascii, run, byte)| core::iter::repeat_n(ascii, run).chain([byte])).collect()
                }),
            ],
            at in 0usize..16,
        ) {
            check_str(&bytes, at)?;
        }

        /// The borrowing SIMD `decode_ab` gives exactly what the owned bincode decode gave (value,
        /// error kind, message), on valid encodings with up to three mutations (in the varints,
        /// in the text, past the end) and on arbitrary bytes.
        #[test]
        fn ab_agrees_with_the_owned_decode(
            bytes in prop_oneof![
                (any::<u32>(), mixed_text(), mutations())
                    .prop_map(|(a, b, mutations)| apply(ab_bytes(&AB { a, b }), &mutations)),
                proptest::collection::vec(any::<u8>(), 0..256),
            ],
            at in 0usize..16,
        ) {
            let memory = place(&bytes, at, at + bytes.len() + 3);
            let (offset, len) = (at as u32, bytes.len() as u32);
            prop_assert_eq!(decode_ab_owned(&memory, offset, len), decode_ab_reference(&memory, offset, len));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any memory, any offset, any length: every decoder returns, and agrees with a plain
        /// 64-bit bounds check.
        #[test]
        fn decoders_are_total(
            memory in proptest::collection::vec(any::<u8>(), 0..256),
            offset in prop_oneof![0u32..300, any::<u32>()],
            len in prop_oneof![0u32..300, any::<u32>()],
        ) {
            let in_bounds = u64::from(offset) + u64::from(len) <= memory.len() as u64;
            prop_assert_eq!(guest_bytes(&memory, offset, len).is_ok(), in_bounds);
            for kind in [ValueKind::Int, ValueKind::Str, ValueKind::Ab, ValueKind::Cd] {
                let result = decode_value(kind, &memory, offset.cast_signed(), len.cast_signed());
                if !in_bounds && kind != ValueKind::Int {
                    let e = result.unwrap_err();
                    prop_assert!(matches!(e.kind(), "out-of-bounds" | "address-overflow"));
                }
            }
        }

        /// Arbitrary bytes given to `log_ab` never panic, and decode only what encodes back to them.
        #[test]
        fn ab_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(ab) = decode_ab_owned(&bytes, 0, bytes.len() as u32) {
                prop_assert_eq!(ab_bytes(&ab), bytes);
            }
        }

        #[test]
        fn ab_round_trips(a in any::<u32>(), b in ".{0,40}", at in 0usize..16) {
            let ab = AB { a, b };
            let bytes = ab_bytes(&ab);
            let memory = place(&bytes, at, at + bytes.len() + 8);
            prop_assert_eq!(decode_ab_owned(&memory, at as u32, bytes.len() as u32), Ok(ab));
        }

        /// Arbitrary 40-byte images: a CD decodes exactly when its length and text are valid.
        #[test]
        fn cd_arbitrary_images(bytes in proptest::array::uniform32(any::<u8>()), c in any::<i32>(), text_len in 0u32..40, at in 0usize..8) {
            let mut image = [0u8; 40];
            image[..4].copy_from_slice(&c.to_le_bytes());
            image[4..8].copy_from_slice(&text_len.to_le_bytes());
            image[8..].copy_from_slice(&bytes);
            let memory = place(&image, at, 64);
            let result = decode_cd(&memory, at as u32, 40);
            let expected_text = bytes.get(..text_len as usize).map(core::str::from_utf8);
            match (result, expected_text) {
                (Ok(cd), Some(Ok(text))) => { prop_assert_eq!(cd.c(), c); prop_assert_eq!(cd.d(), text); }
                (Err(AbiError::CdTextTooLong { .. }), None) => {}
                (Err(AbiError::CdInvalidUtf8 { valid_up_to, .. }), Some(Err(e))) => {
                    prop_assert_eq!(valid_up_to, e.valid_up_to());
                }
                (other, expected) => prop_assert!(false, "{other:?} vs {expected:?}"),
            }
        }

        #[test]
        fn str_round_trips(s in "\\PC{0,64}", at in 0usize..16) {
            let memory = place(s.as_bytes(), at, at + s.len() + 4);
            prop_assert_eq!(decode_str(&memory, at as u32, s.len() as u32), Ok(s.as_str()));
        }
    }
}
