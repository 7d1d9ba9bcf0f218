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

/// One host import of the ABI.
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
}

impl Import {
    /// Every import, in ABI order.
    pub const ALL: [Import; 4] = [Import::LogInt, Import::LogStr, Import::LogAb, Import::LogCd];

    /// The import's field name in [`IMPORT_MODULE`].
    pub const fn name(self) -> &'static str {
        match self {
            Import::LogInt => "log_int",
            Import::LogStr => "log_str",
            Import::LogAb => "log_ab",
            Import::LogCd => "log_cd",
        }
    }

    /// The import's parameter types. No import returns a value.
    pub const fn params(self) -> &'static [ValType] {
        match self {
            Import::LogInt => &[ValType::I32],
            Import::LogStr | Import::LogAb | Import::LogCd => &[ValType::I32, ValType::I32],
        }
    }

    /// The import's result types (none).
    pub const fn results(self) -> &'static [ValType] {
        &[]
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
