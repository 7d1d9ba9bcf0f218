//! What host-wamr reads from and changes in a module before WAMR loads it.
//!
//! WAMR's embedding API does not give an import's or an export's full type, so the module's shape
//! is read with `wasmparser`. Two things WAMR cannot be told at instantiation are written into the
//! module instead, which is then what WAMR loads:
//!
//! - The start function: WAMR runs it inside `wasm_runtime_instantiate`, on an execution
//!   environment of its own with no instruction limit, so a start function that never returns
//!   would hang the host. The start section is dropped and the function exported under a name no
//!   other export has; the instance calls it itself, metered, right after instantiation.
//! - Table maximums: WAMR caps a table's growth at its declared maximum (or at its own default,
//!   twice the initial size and at least 1024), not at the host's limit. Each table's maximum is
//!   set to at most [`harness::Limits::max_table_elements`].

use harness::{ExportDesc, ExternType, ImportDesc, ModuleShape};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator};

/// A module as host-wamr loads it: its shape, and the bytes WAMR loads.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The module's imports and exports, as written (not as rewritten).
    pub(crate) shape: ModuleShape,
    /// The bytes to load: the module, rewritten if it has a start function or tables.
    pub(crate) wasm: Box<[u8]>,
    /// The export the start function is called through, if there is one.
    pub(crate) start_export: Option<String>,
    /// The initial size of each table the module defines.
    pub(crate) table_minimums: Vec<u64>,
    /// The initial size in pages of each memory the module defines.
    pub(crate) memory_minimums: Vec<u64>,
}

/// Validates `wasm`, reads its shape, and rewrites it as described above.
pub(crate) fn prepare(wasm: &[u8], max_table_elements: u32) -> Result<Prepared, String> {
    Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut func_types: Vec<(Vec<common::ValType>, Vec<common::ValType>)> = Vec::new();
    let mut type_of_func: Vec<u32> = Vec::new();
    let mut memory_minimums = Vec::new();
    let mut imported_memories = Vec::new();
    let mut table_minimums = Vec::new();
    let mut imports = Vec::new();
    let mut raw_exports = Vec::new();
    let mut start = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(|e| e.to_string())?;
                    func_types.push((
                        ty.params().iter().map(val_type).collect(),
                        ty.results().iter().map(val_type).collect(),
                    ));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    let ty = match import.ty {
                        TypeRef::Func(index) => {
                            type_of_func.push(index);
                            func_type(&func_types, index)
                        }
                        TypeRef::Memory(memory) => {
                            imported_memories.push(memory.initial);
                            ExternType::Memory { minimum_pages: memory.initial }
                        }
                        TypeRef::Table(_) => ExternType::Table,
                        TypeRef::Global(_) => ExternType::Global,
                        _ => ExternType::Other,
                    };
                    imports.push(ImportDesc { module: import.module.into(), name: import.name.into(), ty });
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    type_of_func.push(index.map_err(|e| e.to_string())?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    table_minimums.push(table.map_err(|e| e.to_string())?.ty.initial);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    memory_minimums.push(memory.map_err(|e| e.to_string())?.initial);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    raw_exports.push((export.name.to_owned(), export.kind, export.index));
                }
            }
            Payload::StartSection { func, .. } => start = Some(func),
            _ => {}
        }
    }
    let all_memories: Vec<u64> = imported_memories.iter().chain(&memory_minimums).copied().collect();
    let exports = raw_exports
        .iter()
        .filter_map(|(name, kind, index)| {
            let ty = match kind {
                ExternalKind::Func | ExternalKind::FuncExact => {
                    func_type(&func_types, *type_of_func.get(usize::try_from(*index).ok()?)?)
                }
                ExternalKind::Memory => {
                    ExternType::Memory { minimum_pages: *all_memories.get(usize::try_from(*index).ok()?)? }
                }
                ExternalKind::Table => ExternType::Table,
                ExternalKind::Global => ExternType::Global,
                ExternalKind::Tag => ExternType::Other,
            };
            Some(ExportDesc { name: name.clone(), ty })
        })
        .collect();
    let shape = ModuleShape::new(imports, exports);

    let start_export = start
        .map(|_| harness::rewrite::unique_export_name("host-wamr start", raw_exports.iter().map(|(n, _, _)| &**n)));
    let wasm = if start.is_some() || !table_minimums.is_empty() {
        let mut tables = TableCap(u64::from(max_table_elements));
        harness::rewrite::rewrite(wasm, start.zip(start_export.as_deref()), &mut tables)?.into_boxed_slice()
    } else {
        wasm.into()
    };
    Ok(Prepared { shape, wasm, start_export, table_minimums, memory_minimums })
}

/// Re-encodes table types with their maximum capped.
struct TableCap(u64);

impl Reencode for TableCap {
    type Error = std::convert::Infallible;

    fn table_type(
        &mut self,
        table_ty: wasmparser::TableType,
    ) -> Result<wasm_encoder::TableType, wasm_encoder::reencode::Error<Self::Error>> {
        let mut ty = RoundtripReencoder.table_type(table_ty)?;
        // Never below the initial size (the module would not validate); a table that starts above
        // the limit is refused before instantiation.
        ty.maximum = Some(ty.maximum.unwrap_or(u64::MAX).min(self.0).max(ty.minimum));
        Ok(ty)
    }
}

fn func_type(types: &[(Vec<common::ValType>, Vec<common::ValType>)], index: u32) -> ExternType {
    let (params, results) = usize::try_from(index).ok().and_then(|i| types.get(i)).cloned().unwrap_or_default();
    ExternType::Func { params, results }
}

fn val_type(ty: &wasmparser::ValType) -> common::ValType {
    match ty {
        wasmparser::ValType::I32 => common::ValType::I32,
        wasmparser::ValType::I64 => common::ValType::I64,
        wasmparser::ValType::F32 => common::ValType::F32,
        wasmparser::ValType::F64 => common::ValType::F64,
        wasmparser::ValType::V128 => common::ValType::V128,
        wasmparser::ValType::Ref(_) => common::ValType::Ref,
    }
}
