//! Values that arrive whole, checked against what the ABI allows.
//!
//! The component model lifts a guest's `ab` or `cd` record into a value before the host sees it,
//! so the decoders of [`crate::decode`] never run; the limits they enforce on bytes are enforced
//! here on values, with the same kinds: an `AB` must encode within [`AB_DECODE_LIMIT`] bytes
//! (`ab-too-large`), a `CD` text must fit [`CD_TEXT_MAX`] bytes (`cd-text-too-long`).

use alloc::borrow::Cow;
use core::fmt;

use crate::types::{AB_DECODE_LIMIT, AbRef, CD, CD_TEXT_MAX};

/// A value over a limit of the ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// An `AB` that would encode (bincode, [`crate::ab_config`]) to more than [`AB_DECODE_LIMIT`]
    /// bytes.
    AbTooLarge {
        /// Its encoded size in bytes (saturating).
        size: usize,
    },
    /// A `CD` text longer than [`CD_TEXT_MAX`] bytes.
    CdTextTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A text that is not UTF-8 (a runtime that hands the host a view of guest memory leaves the
    /// check to it).
    InvalidUtf8 {
        /// How many leading bytes are valid UTF-8.
        valid_up_to: usize,
    },
}

impl ValueError {
    /// A short, stable name: the same as the [`crate::AbiError`] of the same condition.
    pub const fn kind(&self) -> &'static str {
        match self {
            ValueError::AbTooLarge { .. } => "ab-too-large",
            ValueError::CdTextTooLong { .. } => "cd-text-too-long",
            ValueError::InvalidUtf8 { .. } => "invalid-utf8",
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::AbTooLarge { size } => {
                write!(f, "AB encodes to {size} bytes, over the limit of {AB_DECODE_LIMIT} bytes")
            }
            ValueError::CdTextTooLong { len } => write!(f, "CD text of {len} bytes exceeds {CD_TEXT_MAX} bytes"),
            ValueError::InvalidUtf8 { valid_up_to } => {
                write!(f, "text is not valid UTF-8 (valid up to byte {valid_up_to})")
            }
        }
    }
}

impl core::error::Error for ValueError {}

/// The size of a bincode varint ([`crate::ab_config`]) holding `value`.
const fn varint_len(value: u64) -> usize {
    if value < 251 {
        1
    } else if value <= u16::MAX as u64 {
        3
    } else if value <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// An `AB` of `a` and `b`, if it encodes within [`AB_DECODE_LIMIT`] bytes.
pub fn ab(a: u32, b: &str) -> Result<AbRef<'_>, ValueError> {
    let size = varint_len(u64::from(a))
        .saturating_add(varint_len(u64::try_from(b.len()).unwrap_or(u64::MAX)))
        .saturating_add(b.len());
    if size > AB_DECODE_LIMIT {
        return Err(ValueError::AbTooLarge { size });
    }
    Ok(AbRef { a, b: Cow::Borrowed(b) })
}

/// A `CD` of `c` and `d`, if `d` fits [`CD_TEXT_MAX`] bytes.
pub fn cd(c: i32, d: &str) -> Result<CD, ValueError> {
    CD::new(c, d).map_err(|e| ValueError::CdTextTooLong { len: e.len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AB, ab_config};
    use alloc::string::String;

    /// The size computed here is bincode's, at each varint boundary and at the limit.
    #[test]
    fn ab_size_is_the_encoded_size() {
        for a in [0, 250, 251, 65_535, 65_536, u32::MAX] {
            for len in [0, 250, 251, 65_535 - 12, AB_DECODE_LIMIT - 10, AB_DECODE_LIMIT - 2, AB_DECODE_LIMIT] {
                let b: String = "x".repeat(len);
                let encoded = bincode::serde::encode_to_vec(AB { a, b: b.clone() }, ab_config()).unwrap().len();
                match ab(a, &b) {
                    Ok(_) => assert!(encoded <= AB_DECODE_LIMIT, "a {a}, len {len}: {encoded}"),
                    Err(ValueError::AbTooLarge { size }) => assert_eq!(size, encoded, "a {a}, len {len}"),
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }

    #[test]
    fn cd_text_over_32_bytes_is_refused() {
        assert!(cd(1, &"x".repeat(32)).is_ok());
        assert_eq!(cd(1, &"x".repeat(33)), Err(ValueError::CdTextTooLong { len: 33 }));
        assert_eq!(ValueError::CdTextTooLong { len: 33 }.kind(), "cd-text-too-long");
    }
}
