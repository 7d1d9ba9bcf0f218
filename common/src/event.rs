//! What an import logs: one [`Event`] per successful call, and its one-line rendering.

use alloc::borrow::Cow;
use core::fmt;

use crate::types::{AbRef, CD};

/// One successful import call, decoded. A `Str` or an `Ab` borrows guest memory until it is made
/// owned with [`Event::into_owned`]: an event that is dropped (not kept) allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `log_int(value)`.
    Int(i32),
    /// `log_str(ptr, len)`.
    Str(Cow<'a, str>),
    /// `log_ab(ptr, len)`.
    Ab(AbRef<'a>),
    /// `log_cd(ptr, len)`.
    Cd(CD),
}

impl Event<'_> {
    /// The event with no borrow of guest memory.
    pub fn into_owned(self) -> Event<'static> {
        match self {
            Event::Int(v) => Event::Int(v),
            Event::Str(s) => Event::Str(Cow::Owned(s.into_owned())),
            Event::Ab(ab) => Event::Ab(ab.into_owned()),
            Event::Cd(cd) => Event::Cd(cd),
        }
    }
}

/// The event's output line: `int 1234`, `str "Hello World!"`, `ab AB { a: 1234, b: "abcd" }`,
/// `cd CD { c: 1234, d: "hello world" }`. Text is printed as a Rust string literal (quotes,
/// backslashes and control characters escaped), so guest text cannot drive a terminal.
impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Int(v) => write!(f, "int {v}"),
            Event::Str(s) => write!(f, "str {s:?}"),
            Event::Ab(ab) => write!(f, "ab {ab}"),
            Event::Cd(cd) => write!(f, "cd {cd}"),
        }
    }
}
