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

use harness::ModuleShape;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{Parser, Payload, Validator};

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
    let types = Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let shape = ModuleShape::from_wasm(wasm, &types)?;
    let mut memory_minimums = Vec::new();
    let mut table_minimums = Vec::new();
    let mut start = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
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
            Payload::StartSection { func, .. } => start = Some(func),
            _ => {}
        }
    }

    let start_export = start
        .map(|_| harness::rewrite::unique_export_name("host-wamr start", shape.exports().iter().map(|e| &*e.name)));
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
