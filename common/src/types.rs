//! The values the guest sends: [`AB`] (bincode) and [`CD`] (a fixed 40-byte image).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// The largest number of bytes one `log_ab` argument may hold, and so the most that keeping its
/// event may allocate (decoding allocates nothing: see [`AbRef`]). A length prefix that claims
/// more is refused.
pub const AB_DECODE_LIMIT: usize = 64 * 1024;

/// The limit bincode enforces while decoding an [`AB`]. bincode counts decoded sizes (4 bytes for
/// `a`, 8 for the string's length, then its bytes) and checks a length prefix against the limit
/// before reading (or, for an owned decode, allocating) the string. It is a little above
/// [`AB_DECODE_LIMIT`] so that every input of at most [`AB_DECODE_LIMIT`] bytes fits.
pub const AB_BINCODE_LIMIT: usize = AB_DECODE_LIMIT + 16;

/// The bincode configuration of `log_ab`: little-endian, variable-length integers
/// (`config::standard()`), and a decode limit of [`AB_BINCODE_LIMIT`] bytes.
pub const fn ab_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<AB_BINCODE_LIMIT>,
> {
    bincode::config::standard().with_limit::<AB_BINCODE_LIMIT>()
}

/// The struct `log_ab` carries, serialized with serde + bincode 2 ([`ab_config`]).
///
/// Encoding: `a` as a varint, then `b` as a varint byte length followed by its UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AB {
    /// A number.
    pub a: u32,
    /// Some text.
    pub b: String,
}

impl fmt::Display for AB {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ab(f, self.a, &self.b)
    }
}

/// `AB { a: 1, b: "text" }`. `{:?}` on a str escapes quotes and control characters, so guest text
/// cannot drive a terminal.
fn write_ab(f: &mut fmt::Formatter<'_>, a: u32, b: &str) -> fmt::Result {
    write!(f, "AB {{ a: {a}, b: {b:?} }}")
}

/// An [`AB`] as the host decodes it ([`crate::decode_ab`]): `b` borrows the guest's memory
/// (zero-copy) until the value is made owned with [`AbRef::into_owned`] or turned into an [`AB`].
/// Displayed exactly like the [`AB`] it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbRef<'a> {
    /// A number.
    pub a: u32,
    /// Some text, borrowed from guest memory or owned.
    pub b: Cow<'a, str>,
}

impl AbRef<'_> {
    /// The value with no borrow of guest memory (allocates the text if it was borrowed).
    pub fn into_owned(self) -> AbRef<'static> {
        AbRef { a: self.a, b: Cow::Owned(self.b.into_owned()) }
    }
}

impl From<AbRef<'_>> for AB {
    fn from(ab: AbRef<'_>) -> AB {
        AB { a: ab.a, b: ab.b.into_owned() }
    }
}

impl From<AB> for AbRef<'static> {
    fn from(ab: AB) -> AbRef<'static> {
        AbRef { a: ab.a, b: Cow::Owned(ab.b) }
    }
}

impl PartialEq<AB> for AbRef<'_> {
    fn eq(&self, other: &AB) -> bool {
        self.a == other.a && *self.b == *other.b
    }
}

impl fmt::Display for AbRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ab(f, self.a, &self.b)
    }
}

/// The most UTF-8 bytes a [`CD`]'s text can hold.
pub const CD_TEXT_MAX: usize = 32;

/// The size of a [`CdWire`] image: the only length `log_cd` accepts.
pub const CD_WIRE_SIZE: usize = core::mem::size_of::<CdWire>();

/// The byte image of a [`CD`] in guest memory, as `log_cd` receives it.
///
/// | offset | size | field                                   |
/// |--------|------|-----------------------------------------|
/// | 0      | 4    | `c`: i32, little-endian                 |
/// | 4      | 4    | `len`: u32, little-endian, at most 32   |
/// | 8      | 32   | `text`: `len` bytes of UTF-8, then any  |
///
/// Every field is a byte array, so the struct has alignment 1: a host can view it in place
/// (zero-copy, with [`bytemuck`]) at any guest offset, on any host endianness. A `CD` at an offset
/// that is not a multiple of 4 is therefore read like any other. Bytes of `text` past `len` are
/// ignored.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct CdWire {
    /// `c`, little-endian.
    pub c: [u8; 4],
    /// The text length in bytes, little-endian.
    pub len: [u8; 4],
    /// The text bytes, zero-padded by [`CD::to_wire`].
    pub text: [u8; CD_TEXT_MAX],
}

const _: () = assert!(CD_WIRE_SIZE == 40 && core::mem::align_of::<CdWire>() == 1);

/// Why a text does not fit a [`CD`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdTextError {
    /// The text's length in bytes.
    pub len: usize,
}

impl fmt::Display for CdTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CD text of {} bytes exceeds {CD_TEXT_MAX} bytes", self.len)
    }
}

impl core::error::Error for CdTextError {}

/// The fixed-size `Copy` struct `log_cd` carries: a number and up to 32 bytes of UTF-8 text.
///
/// A `CD` always holds valid text: build one with [`CD::new`], or decode one with
/// [`crate::decode_cd`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CD {
    c: i32,
    len: u8,
    text: [u8; CD_TEXT_MAX],
}

impl CD {
    /// A `CD` with number `c` and text `d`, or an error if `d` is longer than 32 bytes.
    pub fn new(c: i32, d: &str) -> Result<CD, CdTextError> {
        let bytes = d.as_bytes();
        let mut text = [0; CD_TEXT_MAX];
        let (Some(dst), Ok(len)) = (text.get_mut(..bytes.len()), u8::try_from(bytes.len())) else {
            return Err(CdTextError { len: bytes.len() });
        };
        dst.copy_from_slice(bytes);
        Ok(CD { c, len, text })
    }

    /// The number.
    pub const fn c(&self) -> i32 {
        self.c
    }

    /// The same `CD` with number `c`.
    #[must_use]
    pub const fn with_c(self, c: i32) -> CD {
        CD { c, ..self }
    }

    /// The text.
    pub fn d(&self) -> &str {
        // Every constructor checked that these bytes are UTF-8 and in range, so the fallback
        // is never taken; it is here so that this accessor cannot panic.
        self.text.get(..usize::from(self.len)).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or_default()
    }

    /// The wire image the guest passes to `log_cd`.
    pub fn to_wire(&self) -> CdWire {
        CdWire { c: self.c.to_le_bytes(), len: u32::from(self.len).to_le_bytes(), text: self.text }
    }
}

impl fmt::Debug for CD {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CD {{ c: {}, d: {:?} }}", self.c, self.d())
    }
}

impl fmt::Display for CD {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cd_layout_is_the_documented_one() {
        let wire = CD::new(-2, "hé").unwrap().to_wire();
        let bytes = bytemuck::bytes_of(&wire);
        assert_eq!(bytes.len(), 40);
        assert_eq!(&bytes[0..4], &(-2i32).to_le_bytes());
        assert_eq!(&bytes[4..8], &3u32.to_le_bytes());
        assert_eq!(&bytes[8..11], "hé".as_bytes());
        assert!(bytes[11..].iter().all(|&b| b == 0));
    }

    #[test]
    fn cd_text_limit() {
        let max = "x".repeat(CD_TEXT_MAX);
        assert_eq!(CD::new(1, &max).unwrap().d(), max);
        assert_eq!(CD::new(1, &(max + "y")), Err(CdTextError { len: 33 }));
    }

    #[test]
    fn display_escapes_control_characters() {
        let ab = AB { a: 1, b: "\u{1b}[31mred\n\"".into() };
        assert_eq!(alloc::format!("{ab}"), r#"AB { a: 1, b: "\u{1b}[31mred\n\"" }"#);
        assert_eq!(alloc::format!("{}", AbRef::from(ab.clone())), alloc::format!("{ab}"), "AbRef prints as AB");
        let cd = CD::new(-1, "\u{7}bell").unwrap();
        assert_eq!(alloc::format!("{cd}"), r#"CD { c: -1, d: "\u{7}bell" }"#);
    }
}
