//! What this host needs to know about a module before wasm3 loads it, read with `wasmparser`.
//!
//! wasm3 validates little (it compiles each function lazily, on its first call) and exposes no
//! import or export types, so this module does both jobs up front: it validates the module
//! against the WebAssembly features wasm3 implements, and it lists the imports, exports, tables
//! and element segments. This is introspection of the module's structure, not decoding of guest
//! data: that stays with the `Recorder`.

use std::collections::HashMap;

use harness::rewrite::lower::{Bulk, lower};
use harness::{Failure, Fault, ModuleShape};
use wasmparser::{
    ConstExpr, ElementItems, ElementKind, ExternalKind, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

/// The WebAssembly features wasm3 0.4.7 (the version the `wasm3` crate bundles) implements:
/// WebAssembly 1.0 (with mutable globals), sign-extension operators and non-trapping float-to-int
/// conversions. No bulk memory, reference types, multi-value or SIMD.
const WASM3_FEATURES: WasmFeatures =
    WasmFeatures::WASM1.union(WasmFeatures::SIGN_EXTENSION).union(WasmFeatures::SATURATING_FLOAT_TO_INT);

/// The deepest nesting of blocks, loops and ifs a function may have. wasm3 recurses natively for
/// each nested block, both when it compiles a function and (for loops) when it runs one, so a
/// deep enough nesting would overflow the host's native stack: refused before wasm3 sees it.
pub(crate) const MAX_BLOCK_NESTING: usize = 1_000;

/// An active element segment of table 0: where it starts and how many entries it writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementSegment {
    /// The offset, from its `i32.const` expression (`None` for a `global.get`).
    pub(crate) offset: Option<u32>,
    /// The number of functions it holds.
    pub(crate) count: u32,
}

/// A module's structure, as far as this host uses it.
#[derive(Debug, Clone)]
pub(crate) struct ModuleInfo {
    /// The imports and exports, with their types.
    pub(crate) shape: ModuleShape,
    /// The exported functions: name → index in the function index space (imports first, which is
    /// also the order of wasm3's `M3Module::functions`).
    pub(crate) exported_functions: HashMap<String, u32>,
    /// The function imports, in index order: (module, name).
    pub(crate) function_imports: Vec<(String, String)>,
    /// The initial size of every table (MVP: at most one), in elements.
    pub(crate) table_sizes: Vec<u64>,
    /// The active element segments, in order.
    pub(crate) element_segments: Vec<ElementSegment>,
    /// The module the host's `memory.copy` and `memory.fill` are imported from, if the module
    /// was lowered to them ([`Bulk::Imports`]).
    pub(crate) bulk_memory_module: Option<String>,
}

impl ModuleInfo {
    /// Whether the module imports the function `module`.`name`.
    pub(crate) fn imports_function(&self, module: &str, name: &str) -> bool {
        self.function_imports.iter().any(|(m, n)| m == module && n == name)
    }
}

/// Validates `wasm` and reads its structure; returns it with the bytes wasm3 is to load: `None`
/// for `wasm` itself, or the module lowered for wasm3 ([`harness::rewrite::lower`], as `bulk`
/// says) when it uses `memory.copy`, `memory.fill` or the newer encodings, which wasm3 0.4.7
/// lacks. The structure is the lowered module's (its function indices are the ones wasm3 sees),
/// its shape the original's (the lowering's imports are the host's business, not the guest's).
///
/// Fails with [`Fault::InvalidModule`]: for a module that is not valid WebAssembly, and for one
/// that needs another feature wasm3 lacks even once lowered (as any runtime refuses a module
/// using a proposal it has disabled), the detail saying which.
pub(crate) fn inspect(wasm: &[u8], bulk: Bulk) -> Result<(ModuleInfo, Option<Vec<u8>>), Failure> {
    let invalid = |e: String| Failure::with_detail(Fault::InvalidModule, e);
    let types = Validator::new().validate_all(wasm).map_err(|e| invalid(e.to_string()))?;
    let shape = ModuleShape::from_wasm(wasm, &types).map_err(invalid)?;
    let for_wasm3 = |bytes: &[u8]| Validator::new_with_features(WASM3_FEATURES).validate_all(bytes);
    let Err(error) = for_wasm3(wasm) else {
        return Ok((read_structure(wasm, shape, None).map_err(invalid)?, None));
    };
    match lower(wasm, bulk) {
        Some(lowered) if for_wasm3(&lowered.wasm).is_ok() => {
            let info = read_structure(&lowered.wasm, shape, lowered.import_module).map_err(invalid)?;
            Ok((info, Some(lowered.wasm)))
        }
        _ => Err(invalid(format!(
            "wasm3 implements WebAssembly 1.0 with sign-extension, non-trapping float-to-int \
             conversions, and (lowered by this host) memory.copy and memory.fill only: {error}"
        ))),
    }
}

/// `wasm` (valid) without its custom sections, or `None` if it has none. wasm3 parses a module
/// once per runtime, and every instance is a runtime of its own: it would copy the `name`
/// section's function names into each (9 KB per instance of the built-in guest, 6 % of its
/// memory), and it uses no other custom section. Names only label functions in wasm3's own
/// diagnostics, which this host does not print.
pub(crate) fn without_custom_sections(wasm: &[u8]) -> Option<Vec<u8>> {
    let mut sections = Vec::new();
    let mut custom = false;
    for payload in Parser::new(0).parse_all(wasm) {
        // Valid: every payload parses (`inspect` validated it).
        match payload.ok()?.as_section() {
            Some((0, _)) => custom = true,
            Some((id, range)) => {
                let (start, end) = (usize::try_from(range.start).ok()?, usize::try_from(range.end).ok()?);
                sections.push((id, wasm.get(start..end)?));
            }
            None => {}
        }
    }
    if !custom {
        return None;
    }
    let mut module = wasm_encoder::Module::new();
    for (id, data) in sections {
        module.section(&wasm_encoder::RawSection { id, data });
    }
    Some(module.finish())
}

/// The structure of `wasm` (valid), with `shape` (its own or, for a lowered module, the
/// original's) and the module its bulk-memory imports come from, if it was lowered to them.
fn read_structure(wasm: &[u8], shape: ModuleShape, bulk_memory_module: Option<String>) -> Result<ModuleInfo, String> {
    let mut exported_functions = HashMap::new();
    let mut function_imports = Vec::new();
    let mut table_sizes = Vec::new();
    let mut element_segments = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            function_imports.push((import.module.to_owned(), import.name.to_owned()));
                        }
                        TypeRef::Table(table) => table_sizes.push(table.initial),
                        _ => {}
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    table_sizes.push(table.map_err(|e| e.to_string())?.ty.initial);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        exported_functions.insert(export.name.to_owned(), export.index);
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    let element = element.map_err(|e| e.to_string())?;
                    if let ElementKind::Active { offset_expr, .. } = element.kind {
                        let count = match element.items {
                            ElementItems::Functions(items) => items.count(),
                            ElementItems::Expressions(_, items) => items.count(),
                        };
                        element_segments.push(ElementSegment { offset: const_i32(&offset_expr)?, count });
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut depth = 0usize;
                let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
                while !reader.eof() {
                    match reader.read().map_err(|e| e.to_string())? {
                        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                            depth += 1;
                            if depth > MAX_BLOCK_NESTING {
                                return Err(format!(
                                    "a function nests blocks more than {MAX_BLOCK_NESTING} deep, which wasm3 \
                                     (recursing natively per block) cannot run safely"
                                ));
                            }
                        }
                        Operator::End => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(ModuleInfo { shape, exported_functions, function_imports, table_sizes, element_segments, bulk_memory_module })
}

/// The value of a WebAssembly 1.0 offset expression `i32.const N`, as an unsigned offset; `None`
/// for the only other one, `global.get` of an imported global (which the ABI checks refuse).
fn const_i32(expr: &ConstExpr<'_>) -> Result<Option<u32>, String> {
    let mut reader = expr.get_operators_reader();
    match reader.read().map_err(|e| e.to_string())? {
        Operator::I32Const { value } => Ok(Some(value.cast_unsigned())),
        _ => Ok(None),
    }
}
