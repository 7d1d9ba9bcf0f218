//! The import table: names and signatures, in one place.

use core::fmt;

/// The module name every import of the ABI lives in.
pub const IMPORT_MODULE: &str = "env";

/// The name under which a guest must export its linear memory.
pub const MEMORY_EXPORT: &str = "memory";

/// A WebAssembly value type, as far as the ABI needs to name one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// Any reference type (`funcref`, `externref`, ...).
    Ref,
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::Ref => "ref",
        })
    }
}

/// The kind of value an argument carries, and how it is encoded in guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A plain `i32`, passed as a wasm value.
    Int,
    /// UTF-8 text, `(ptr, len)`.
    Str,
    /// A bincode-encoded [`crate::AB`], `(ptr, len)`.
    Ab,
    /// A 40-byte [`crate::CdWire`] image, `(ptr, len)`.
    Cd,
}

/// One host import of the ABI: its name, signature and the kind of value it carries.
///
/// Four groups:
/// - **log** (`log_*`): the guest hands the host a value;
/// - **answer into a buffer** (`answer_str`, `answer_ab`, `answer_cd`): the guest passes a value
///   and an output buffer `(out_ptr, out_cap, out_len_ptr)`; the host writes its answer there,
///   or only the length it needs if the buffer is too small, and returns a [`crate::Status`];
/// - **answer through the guest's allocator** (`answer_*_alloc`): the guest passes a value and a
///   return area `ret_ptr`; the host calls the guest's [`ALLOCATOR_EXPORT`] for the answer's
///   memory, writes the answer there and `(ptr, len)` at `ret_ptr`;
/// - **request → response** (`request_read`, `respond_*`): inside a call the host makes with
///   input, the guest copies the request into its own buffer and hands back one response;
/// - **lookup** (`kv_get`): the guest passes a key and an output buffer, as to `answer_str`; the
///   host looks the key up in its key-value store (I/O, on a real host) and writes the value there,
///   or returns [`crate::Status::NotFound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Import {
    /// `log_int(value: i32)`: a plain value.
    LogInt,
    /// `log_str(ptr: i32, len: i32)`: UTF-8 text in guest memory.
    LogStr,
    /// `log_ab(ptr: i32, len: i32)`: a bincode-encoded [`crate::AB`].
    LogAb,
    /// `log_cd(ptr: i32, len: i32)`: a [`crate::CdWire`] image.
    LogCd,
    /// `answer_str(ptr, len, out_ptr, out_cap, out_len_ptr) -> status`: a greeting for the text.
    AnswerStr,
    /// `answer_ab(ptr, len, out_ptr, out_cap, out_len_ptr) -> status`: the `AB` with `a + 1` and
    /// `b` upper-cased.
    AnswerAb,
    /// `answer_cd(ptr, len, out_ptr, out_cap, out_len_ptr) -> status`: the `CD` with `c` negated.
    AnswerCd,
    /// `answer_str_alloc(ptr, len, ret_ptr)`: [`Import::AnswerStr`]'s answer, in memory from the
    /// guest's allocator.
    AnswerStrAlloc,
    /// `answer_ab_alloc(ptr, len, ret_ptr)`: [`Import::AnswerAb`]'s answer, likewise.
    AnswerAbAlloc,
    /// `answer_cd_alloc(ptr, len, ret_ptr)`: [`Import::AnswerCd`]'s answer, likewise.
    AnswerCdAlloc,
    /// `request_read(out_ptr, out_cap, out_len_ptr) -> status`: the current call's request.
    RequestRead,
    /// `respond_str(ptr, len)`: the current call's response, text.
    RespondStr,
    /// `respond_ab(ptr, len)`: the current call's response, an `AB`.
    RespondAb,
    /// `respond_cd(ptr, len)`: the current call's response, a `CD`.
    RespondCd,
    /// `kv_get(key_ptr, key_len, out_ptr, out_cap, out_len_ptr) -> status`: the value of a key
    /// (UTF-8 text of at most [`KV_KEY_MAX`] bytes) in the host's key-value store, into a buffer
    /// the guest provides.
    KvGet,
}

/// The longest key `kv_get` takes, in bytes: the host copies the key for its lookup, so a guest
/// must not make it copy without bound.
pub const KV_KEY_MAX: u32 = 256;

/// The name under which a guest exports its allocator, `guest_alloc(size: i32, align: i32) ->
/// ptr: i32`, for the `answer_*_alloc` imports.
pub const ALLOCATOR_EXPORT: &str = "guest_alloc";

/// The allocator's parameters.
pub const ALLOCATOR_PARAMS: [ValType; 2] = [ValType::I32, ValType::I32];

/// The allocator's result.
pub const ALLOCATOR_RESULTS: [ValType; 1] = [ValType::I32];

/// The parameters of an export the host calls with input (`handle(request_len: i32)`).
pub const HANDLER_PARAMS: [ValType; 1] = [ValType::I32];

/// The result of an export the host calls with input (its status: 0 for success).
pub const HANDLER_RESULTS: [ValType; 1] = [ValType::I32];

const PTR_LEN: &[ValType] = &[ValType::I32, ValType::I32];
const ONE: &[ValType] = &[ValType::I32];

impl Import {
    /// Every import, in ABI order.
    pub const ALL: [Import; 15] = [
        Import::LogInt,
        Import::LogStr,
        Import::LogAb,
        Import::LogCd,
        Import::AnswerStr,
        Import::AnswerAb,
        Import::AnswerCd,
        Import::AnswerStrAlloc,
        Import::AnswerAbAlloc,
        Import::AnswerCdAlloc,
        Import::RequestRead,
        Import::RespondStr,
        Import::RespondAb,
        Import::RespondCd,
        Import::KvGet,
    ];

    /// The import's field name in [`IMPORT_MODULE`].
    pub const fn name(self) -> &'static str {
        match self {
            Import::LogInt => "log_int",
            Import::LogStr => "log_str",
            Import::LogAb => "log_ab",
            Import::LogCd => "log_cd",
            Import::AnswerStr => "answer_str",
            Import::AnswerAb => "answer_ab",
            Import::AnswerCd => "answer_cd",
            Import::AnswerStrAlloc => "answer_str_alloc",
            Import::AnswerAbAlloc => "answer_ab_alloc",
            Import::AnswerCdAlloc => "answer_cd_alloc",
            Import::RequestRead => "request_read",
            Import::RespondStr => "respond_str",
            Import::RespondAb => "respond_ab",
            Import::RespondCd => "respond_cd",
            Import::KvGet => "kv_get",
        }
    }

    /// The import's parameter types.
    pub const fn params(self) -> &'static [ValType] {
        match self {
            Import::LogInt => ONE,
            Import::LogStr
            | Import::LogAb
            | Import::LogCd
            | Import::RespondStr
            | Import::RespondAb
            | Import::RespondCd => PTR_LEN,
            Import::AnswerStr | Import::AnswerAb | Import::AnswerCd | Import::KvGet => &[ValType::I32; 5],
            Import::AnswerStrAlloc | Import::AnswerAbAlloc | Import::AnswerCdAlloc | Import::RequestRead => {
                &[ValType::I32; 3]
            }
        }
    }

    /// The import's result types: a [`crate::Status`] for the imports that write into a buffer
    /// the guest provides, nothing for the others.
    pub const fn results(self) -> &'static [ValType] {
        match self {
            Import::AnswerStr | Import::AnswerAb | Import::AnswerCd | Import::RequestRead | Import::KvGet => ONE,
            _ => &[],
        }
    }

    /// The kind of value the import's first argument carries (`None` for `request_read`, which
    /// takes only an output buffer).
    pub const fn value_kind(self) -> Option<ValueKind> {
        match self {
            Import::LogInt => Some(ValueKind::Int),
            Import::LogStr | Import::AnswerStr | Import::AnswerStrAlloc | Import::RespondStr | Import::KvGet => {
                Some(ValueKind::Str)
            }
            Import::LogAb | Import::AnswerAb | Import::AnswerAbAlloc | Import::RespondAb => Some(ValueKind::Ab),
            Import::LogCd | Import::AnswerCd | Import::AnswerCdAlloc | Import::RespondCd => Some(ValueKind::Cd),
            Import::RequestRead => None,
        }
    }

    /// Looks an import up by its field name.
    pub fn from_name(name: &str) -> Option<Import> {
        Import::ALL.into_iter().find(|i| i.name() == name)
    }
}

impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for import in Import::ALL {
            assert_eq!(Import::from_name(import.name()), Some(import));
        }
        assert_eq!(Import::from_name("log_float"), None);
    }
}
