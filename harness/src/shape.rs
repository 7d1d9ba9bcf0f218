//! A module's imports and exports, as every runtime reports them, checked against the ABI.
//!
//! Each host lists what its runtime sees in a compiled module ([`crate::Engine::shape`]); the checks
//! here are shared, so that a module that does not fit the ABI is refused with the same error on
//! every runtime, before it is instantiated.

use std::fmt;

use common::{IMPORT_MODULE, Import, MEMORY_EXPORT, ValType};

use crate::{Fault, Limits};

/// The size of a WebAssembly page.
pub const WASM_PAGE_SIZE: u32 = 65_536;

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func {
        /// Parameter types.
        params: Vec<ValType>,
        /// Result types.
        results: Vec<ValType>,
    },
    /// A linear memory.
    Memory {
        /// Its initial size in 64 KiB pages.
        minimum_pages: u64,
    },
    /// A table.
    Table,
    /// A global.
    Global,
    /// Anything else (a tag, ...).
    Other,
}

impl ExternType {
    /// The kind, in words.
    pub const fn describe(&self) -> &'static str {
        match self {
            ExternType::Func { .. } => "a function",
            ExternType::Memory { .. } => "a memory",
            ExternType::Table => "a table",
            ExternType::Global => "a global",
            ExternType::Other => "another kind of item",
        }
    }
}

/// Writes `(i32, i32) -> ()`.
pub(crate) fn signature(params: &[ValType], results: &[ValType]) -> String {
    let join = |types: &[ValType]| types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    format!("({}) -> ({})", join(params), join(results))
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func { params, results } => {
                write!(f, "function {}", signature(params, results))
            }
            other => f.write_str(other.describe()),
        }
    }
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDesc {
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// One export of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportDesc {
    /// The export's name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// A module's imports and exports, in a canonical order.
///
/// Runtimes list a module's items in different orders: wasmtime and wasmer in declaration order,
/// wasmi exports sorted by name and imports grouped by kind. Everything this crate derives from a
/// shape (the first import refused, the list of exports in an error message) must not depend on
/// which runtime listed it, so [`ModuleShape::new`] sorts both lists, by name, and the lists can
/// only be read back in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleShape {
    imports: Vec<ImportDesc>,
    exports: Vec<ExportDesc>,
}

/// How a module fails to fit the ABI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// An import the ABI does not provide.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// An ABI import declared with another type.
    ImportType {
        /// The import.
        import: Import,
        /// How the module declares it.
        found: ExternType,
    },
    /// A component import that the world (`wit/wasm-hostcall.wit`) does not have.
    UnknownComponentImport {
        /// The import's name.
        name: String,
        /// The world's imports.
        world: Vec<String>,
    },
    /// A component import of the world, declared with another type: the runtime's words.
    ComponentImportType {
        /// What the runtime says.
        detail: String,
    },
    /// No memory exported as `memory`.
    NoMemory {
        /// What the module does export.
        exports: Vec<String>,
    },
}

impl LinkError {
    /// A short, stable name.
    pub const fn kind(&self) -> &'static str {
        match self {
            LinkError::UnknownImport { .. } | LinkError::UnknownComponentImport { .. } => "unknown-import",
            LinkError::ImportType { .. } | LinkError::ComponentImportType { .. } => "import-type",
            LinkError::NoMemory { .. } => "no-memory",
        }
    }
}

/// The ABI's import names, short: a family of imports sharing a prefix as `prefix_*` (`log_*`,
/// `answer_*`), a name alone in its family as it is (`request_read`).
fn import_families() -> Vec<String> {
    let family = |name: &'static str| name.split('_').next().unwrap_or(name);
    let mut families: Vec<String> = Vec::new();
    for import in Import::ALL {
        let prefix = family(import.name());
        let members = Import::ALL.iter().filter(|i| family(i.name()) == prefix).count();
        let short = if members > 1 { format!("{prefix}_*") } else { import.name().to_owned() };
        if !families.contains(&short) {
            families.push(short);
        }
    }
    families
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnknownImport { module, name } => write!(
                f,
                "unknown import {module:?}.{name:?}: the host provides only functions in \"{IMPORT_MODULE}\": {}",
                import_families().join(", ")
            ),
            LinkError::ImportType { import, found } => write!(
                f,
                "import \"{IMPORT_MODULE}\".\"{import}\" is declared as {found}, expected function {}",
                signature(import.params(), import.results())
            ),
            LinkError::UnknownComponentImport { name, world } => {
                write!(f, "unknown import {name:?}: the host provides the world's imports ")?;
                crate::fault::write_list(f, world)
            }
            LinkError::ComponentImportType { detail } => {
                write!(f, "an import of the world is declared with another type: {detail}")
            }
            LinkError::NoMemory { exports } => {
                write!(f, "the module exports no memory named \"{MEMORY_EXPORT}\"; its exports are ")?;
                crate::fault::write_list(f, exports)
            }
        }
    }
}

impl ModuleShape {
    /// The shape of a module with these imports and exports, in whatever order the runtime lists
    /// them: imports are sorted by module name, then field name, exports by name (ties, which only
    /// duplicate imports can have, by type).
    pub fn new(mut imports: Vec<ImportDesc>, mut exports: Vec<ExportDesc>) -> ModuleShape {
        imports.sort_by_cached_key(|i| (i.module.clone(), i.name.clone(), i.ty.to_string()));
        exports.sort_by(|a, b| a.name.cmp(&b.name));
        ModuleShape { imports, exports }
    }

    /// The shape of a module `wasm` that has been validated into `types`, read with `wasmparser`:
    /// for the hosts whose runtime does not list the types of a module's imports and exports
    /// (WAMR, wasm3). Fails, rather than panics, on a module `types` does not describe.
    pub fn from_wasm(wasm: &[u8], types: &wasmparser::types::Types) -> Result<ModuleShape, String> {
        use wasmparser::{ExternalKind, Parser, Payload, TypeRef};
        let types = types.as_ref();
        let func = |ty: &wasmparser::FuncType| ExternType::Func {
            params: ty.params().iter().map(val_type).collect(),
            results: ty.results().iter().map(val_type).collect(),
        };
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| e.to_string())? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(|e| e.to_string())?;
                        let ty = match import.ty {
                            TypeRef::Func(index) | TypeRef::FuncExact(index) => {
                                if index >= types.core_type_count_in_module() {
                                    return Err(format!("import of type {index}, out of range"));
                                }
                                match &types[types.core_type_at_in_module(index)].composite_type.inner {
                                    wasmparser::CompositeInnerType::Func(ty) => func(ty),
                                    _ => return Err(format!("import of type {index}, not a function type")),
                                }
                            }
                            TypeRef::Memory(memory) => ExternType::Memory { minimum_pages: memory.initial },
                            TypeRef::Table(_) => ExternType::Table,
                            TypeRef::Global(_) => ExternType::Global,
                            TypeRef::Tag(_) => ExternType::Other,
                        };
                        imports.push(ImportDesc { module: import.module.into(), name: import.name.into(), ty });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| e.to_string())?;
                        let ty = match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => {
                                if export.index >= types.function_count() {
                                    return Err(format!("export of function {}, out of range", export.index));
                                }
                                match &types[types.core_function_at(export.index)].composite_type.inner {
                                    wasmparser::CompositeInnerType::Func(ty) => func(ty),
                                    _ => return Err(format!("export of function {}, not a function", export.index)),
                                }
                            }
                            ExternalKind::Memory => {
                                if export.index >= types.memory_count() {
                                    return Err(format!("export of memory {}, out of range", export.index));
                                }
                                ExternType::Memory { minimum_pages: types.memory_at(export.index).initial }
                            }
                            ExternalKind::Table => ExternType::Table,
                            ExternalKind::Global => ExternType::Global,
                            ExternalKind::Tag => ExternType::Other,
                        };
                        exports.push(ExportDesc { name: export.name.into(), ty });
                    }
                }
                _ => {}
            }
        }
        Ok(ModuleShape::new(imports, exports))
    }

    /// The imports, sorted by module name, then field name.
    pub fn imports(&self) -> &[ImportDesc] {
        &self.imports
    }

    /// The exports, sorted by name.
    pub fn exports(&self) -> &[ExportDesc] {
        &self.exports
    }

    /// Checks that every import is one the ABI provides (or, with `bench_imports`, one of
    /// [`crate::bench::IMPORTS`]), with its signature, and that the module exports its memory as
    /// `memory`.
    pub fn check_abi(&self, bench_imports: bool) -> Result<(), LinkError> {
        for desc in &self.imports {
            if bench_imports && desc.module == crate::bench::MODULE {
                let params = crate::bench::IMPORTS.iter().find(|(name, _)| *name == desc.name).map(|(_, p)| *p);
                let fits = matches!((&desc.ty, params), (ExternType::Func { params, results }, Some(want))
                    if params == want && results.is_empty());
                if fits {
                    continue;
                }
            }
            let import = (desc.module == IMPORT_MODULE)
                .then(|| Import::from_name(&desc.name))
                .flatten()
                .ok_or_else(|| LinkError::UnknownImport { module: desc.module.clone(), name: desc.name.clone() })?;
            let fits = matches!(&desc.ty, ExternType::Func { params, results }
                if params == import.params() && results == import.results());
            if !fits {
                return Err(LinkError::ImportType { import, found: desc.ty.clone() });
            }
        }
        let has_memory =
            self.exports.iter().any(|e| e.name == MEMORY_EXPORT && matches!(e.ty, ExternType::Memory { .. }));
        if !has_memory {
            return Err(self.no_memory());
        }
        Ok(())
    }

    /// The error for a module without a memory exported as `memory`, listing what it exports.
    pub fn no_memory(&self) -> LinkError {
        LinkError::NoMemory { exports: self.exports.iter().map(|e| e.name.clone()).collect() }
    }

    /// Checks that the exported memory's initial size is within `limits`: a module that starts
    /// above the maximum cannot be instantiated, and every runtime says so in the same words.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), Fault> {
        for export in &self.exports {
            if let ExternType::Memory { minimum_pages } = export.ty {
                let bytes = u128::from(minimum_pages) * u128::from(WASM_PAGE_SIZE);
                if bytes > limits.max_memory_bytes as u128 {
                    return Err(Fault::Limit(format!(
                        "memory {:?} starts at {minimum_pages} pages ({bytes} bytes), above the maximum of {} bytes",
                        export.name, limits.max_memory_bytes
                    )));
                }
            }
        }
        Ok(())
    }

    /// The exported functions' names, sorted.
    pub fn functions(&self) -> Vec<String> {
        self.exports.iter().filter(|e| matches!(e.ty, ExternType::Func { .. })).map(|e| e.name.clone()).collect()
    }

    /// The signature of the exported function `name`, if there is one.
    pub fn function(&self, name: &str) -> Option<(&[ValType], &[ValType])> {
        self.exports.iter().find(|e| e.name == name).and_then(|e| match &e.ty {
            ExternType::Func { params, results } => Some((params.as_slice(), results.as_slice())),
            _ => None,
        })
    }
}

/// A `wasmparser` value type as the ABI names it.
fn val_type(ty: &wasmparser::ValType) -> ValType {
    match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(_) => ValType::Ref,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(params: &[ValType]) -> ExternType {
        ExternType::Func { params: params.to_vec(), results: vec![] }
    }

    fn shape(imports: Vec<ImportDesc>, memory: bool) -> ModuleShape {
        let mut exports = vec![ExportDesc { name: "run".into(), ty: func(&[]) }];
        if memory {
            exports.push(ExportDesc { name: "memory".into(), ty: ExternType::Memory { minimum_pages: 1 } });
        }
        ModuleShape::new(imports, exports)
    }

    fn import(module: &str, name: &str, ty: ExternType) -> ImportDesc {
        ImportDesc { module: module.into(), name: name.into(), ty }
    }

    #[test]
    fn accepts_the_abi() {
        let imports = Import::ALL
            .iter()
            .map(|i| {
                import("env", i.name(), ExternType::Func { params: i.params().to_vec(), results: i.results().to_vec() })
            })
            .collect();
        assert_eq!(shape(imports, true).check_abi(false), Ok(()));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let unknown = shape(vec![import("env", "log_float", func(&[ValType::F32]))], true);
        assert_eq!(unknown.check_abi(false).unwrap_err().kind(), "unknown-import");
        let other_module = shape(vec![import("wasi", "log_int", func(&[ValType::I32]))], true);
        assert_eq!(other_module.check_abi(false).unwrap_err().kind(), "unknown-import");
        let wrong = shape(vec![import("env", "log_str", func(&[ValType::I32]))], true);
        let e = wrong.check_abi(false).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"import "env"."log_str" is declared as function (i32) -> (), expected function (i32, i32) -> ()"#
        );
        let no_memory = shape(vec![], false);
        assert_eq!(
            no_memory.check_abi(false).unwrap_err().to_string(),
            r#"the module exports no memory named "memory"; its exports are "run""#
        );
    }

    #[test]
    fn a_shape_read_from_the_bytes_lists_every_kind_with_its_type() {
        let wasm = wat::parse_str(
            r#"(module
                (import "env" "log_str" (func (param i32 i32)))
                (import "env" "mem" (memory 2))
                (import "env" "g" (global i32))
                (memory (export "memory") 3)
                (table (export "table") 1 funcref)
                (global (export "answer") i32 (i32.const 42))
                (func (export "run") (param i64) (result f32) (f32.const 0)))"#,
        )
        .expect("wat");
        let types = wasmparser::Validator::new().validate_all(&wasm).expect("valid");
        let shape = ModuleShape::from_wasm(&wasm, &types).expect("shape");
        assert_eq!(
            shape.imports(),
            [
                import("env", "g", ExternType::Global),
                import("env", "log_str", func(&[ValType::I32, ValType::I32])),
                import("env", "mem", ExternType::Memory { minimum_pages: 2 }),
            ]
        );
        // "memory" is memory 1, the module's own (3 pages), after the imported one.
        let exports: Vec<(&str, &ExternType)> = shape.exports().iter().map(|e| (&*e.name, &e.ty)).collect();
        assert_eq!(
            exports,
            [
                ("answer", &ExternType::Global),
                ("memory", &ExternType::Memory { minimum_pages: 3 }),
                ("run", &ExternType::Func { params: vec![ValType::I64], results: vec![ValType::F32] }),
                ("table", &ExternType::Table),
            ]
        );
    }

    #[test]
    fn the_order_a_runtime_lists_items_in_does_not_matter() {
        let exports = |names: &[&str]| -> Vec<ExportDesc> {
            names.iter().map(|n| ExportDesc { name: (*n).into(), ty: func(&[]) }).collect()
        };
        let imports = |names: &[&str]| -> Vec<ImportDesc> {
            names.iter().map(|n| import("env", n, func(&[ValType::F32]))).collect()
        };
        let declared = ModuleShape::new(imports(&["log_zz", "log_aa"]), exports(&["zeta", "alpha", "mid"]));
        let sorted = ModuleShape::new(imports(&["log_aa", "log_zz"]), exports(&["alpha", "mid", "zeta"]));
        assert_eq!(declared, sorted);
        assert_eq!(declared.functions(), ["alpha", "mid", "zeta"]);
        assert_eq!(declared.no_memory().to_string(), sorted.no_memory().to_string());
        assert_eq!(declared.check_abi(false), sorted.check_abi(false));
        assert_eq!(
            declared.check_abi(false).unwrap_err(),
            LinkError::UnknownImport { module: "env".into(), name: "log_aa".into() }
        );
    }
}
