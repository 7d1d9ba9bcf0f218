//! Lowering to WebAssembly 1.0: rewrites a module that uses `memory.copy` and `memory.fill` (bulk
//! memory) into one a 1.0 runtime can run (used by host-wasm3).
//!
//! wasm3 0.4.7, for one, implements WebAssembly 1.0 (with sign-extension and saturating conversions), but
//! Rust and LLVM now target more by default: `memcpy` and `memset` become `memory.copy` and
//! `memory.fill`, and `call_indirect` encodes its table index as a padded 5-byte LEB (the
//! reference-types encoding; 1.0 wants a single zero byte). This module re-encodes the module
//! (which writes every index in its shortest form) and replaces each `memory.copy` and
//! `memory.fill` with a call, in one of two ways ([`Bulk`]):
//!
//! - [`Bulk::Functions`], as `wasm-opt --llvm-memory-copy-fill-lowering` does: calls of two
//!   functions it appends, written in WebAssembly 1.0 with the same semantics. The whole range is
//!   checked first (an out-of-bounds range traps with an out-of-bounds memory access, having
//!   written nothing), then the bytes are copied (as by `memmove`, overlapping ranges included)
//!   or filled, eight at a time, then one at a time. Appending them leaves every function index
//!   as it was, and the module needs nothing from its host: any 1.0 runtime runs it, but an
//!   interpreter runs the loops an instruction at a time.
//! - [`Bulk::Imports`]: calls of two functions the host provides, imported from
//!   [`LoweredModule::import_module`] as [`COPY_IMPORT`] and [`FILL_IMPORT`], each `(i32, i32,
//!   i32) -> ()` with the instruction's operands. The host checks the range and traps with an
//!   out-of-bounds memory access as the instruction would, writing nothing, else copies with
//!   `memmove` or fills with `memset`. The two imports come after the module's own, so every
//!   defined function's index moves up by two: the calls, exports, element segments, start
//!   function and names are renumbered.
//!
//! Everything else in the module is kept as it is; a module that needs any other feature wasm3
//! lacks still fails its validation.

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{
    BlockType, CodeSection, EntityType, Function, FunctionSection, ImportSection, Instruction, InstructionSink, MemArg,
    MemArgTarget, SectionId, TypeSection, ValType,
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// The name [`Bulk::Imports`] gives the import that `memory.copy` becomes: `(dst, src, len)`.
pub const COPY_IMPORT: &str = "memory.copy";
/// The name [`Bulk::Imports`] gives the import that `memory.fill` becomes: `(dst, value, len)`.
pub const FILL_IMPORT: &str = "memory.fill";
/// The module [`Bulk::Imports`] imports the two from, unless the module already imports from a
/// module of that name (then primes are added until none does).
pub const IMPORT_MODULE: &str = "wasm-hostcall:bulk-memory";

/// What `memory.copy` and `memory.fill` become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// Calls of two WebAssembly 1.0 functions appended to the module.
    Functions,
    /// Calls of two functions imported from the host.
    Imports,
}

/// A module lowered by [`lower`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoweredModule {
    /// The binary module.
    pub wasm: Vec<u8>,
    /// With [`Bulk::Imports`], the module the two functions are imported from (for the host to
    /// provide them); `None` if the module has no code, so nothing to lower.
    pub import_module: Option<String>,
}

/// The lowering of one module: the indices of the type and the two functions it calls.
struct Lowering {
    helper_type: u32,
    copy: u32,
    fill: u32,
    /// With [`Bulk::Imports`]: the module's own function imports (the first index that moves)
    /// and the module to import from; `None` with [`Bulk::Functions`].
    imports: Option<ImportLowering>,
}

struct ImportLowering {
    imported_functions: u32,
    module: String,
    /// Whether the two imports are in the import section yet.
    written: bool,
}

impl Lowering {
    /// Adds the two imports to `section` (once).
    fn add_imports(&mut self, section: &mut ImportSection) {
        if let Some(imports) = &mut self.imports
            && !imports.written
        {
            section.import(&imports.module, COPY_IMPORT, EntityType::Function(self.helper_type));
            section.import(&imports.module, FILL_IMPORT, EntityType::Function(self.helper_type));
            imports.written = true;
        }
    }
}

impl Reencode for Lowering {
    type Error = std::convert::Infallible;

    fn instruction<'a>(&mut self, arg: Operator<'a>) -> Result<Instruction<'a>, Error<Self::Error>> {
        match arg {
            Operator::MemoryCopy { dst_mem: 0, src_mem: 0 } => Ok(Instruction::Call(self.copy)),
            Operator::MemoryFill { mem: 0 } => Ok(Instruction::Call(self.fill)),
            other => utils::instruction(self, other),
        }
    }

    fn function_index(&mut self, func: u32) -> Result<u32, Error<Self::Error>> {
        Ok(match &self.imports {
            // Cannot overflow: `lower` checked that the module's function count plus two fits.
            Some(imports) if func >= imports.imported_functions => func + 2,
            _ => func,
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32, ValType::I32, ValType::I32], []);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_import_section(self, imports, section)?;
        self.add_imports(imports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), Error<Self::Error>> {
        // A module without an import section gets one, between the type section and the next.
        let pending = self.imports.as_ref().is_some_and(|imports| !imports.written);
        if pending && super::goes_between(SectionId::Import, after, before) {
            let mut section = ImportSection::new();
            self.add_imports(&mut section);
            module.section(&section);
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        if self.imports.is_none() {
            functions.function(self.helper_type);
            functions.function(self.helper_type);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_code_section(self, code, section)?;
        if self.imports.is_none() {
            code.function(&copy_function());
            code.function(&fill_function());
        }
        Ok(())
    }
}

/// `wasm` re-encoded, with `memory.copy` and `memory.fill` lowered to WebAssembly 1.0 as `bulk`
/// says if it uses them. `None` if the module cannot be lowered (it is not a valid module, or it
/// lacks a type, function or code section, so it has no code to lower).
pub fn lower(wasm: &[u8], bulk: Bulk) -> Option<LoweredModule> {
    let (mut types, mut imported_functions, mut defined_functions, mut has_code) = (None, 0u32, 0u32, false);
    let mut import_modules = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::TypeSection(reader) => types = Some(reader.count()),
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.ok()?;
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_functions = imported_functions.checked_add(1)?;
                    }
                    import_modules.push(import.module);
                }
            }
            Payload::FunctionSection(reader) => defined_functions = reader.count(),
            Payload::CodeSectionStart { .. } => has_code = true,
            _ => {}
        }
    }
    if !has_code {
        // Nothing to lower: re-encoding alone (shortest LEBs) is enough.
        let wasm = super::reencode(&mut RoundtripReencoder, wasm).ok()?;
        return Some(LoweredModule { wasm, import_module: None });
    }
    // Two more functions, either way.
    let functions = imported_functions.checked_add(defined_functions)?;
    functions.checked_add(2)?;
    let helper_type = types?;
    let mut lowering = match bulk {
        Bulk::Functions => Lowering { helper_type, copy: functions, fill: functions + 1, imports: None },
        Bulk::Imports => Lowering {
            helper_type,
            copy: imported_functions,
            fill: imported_functions + 1,
            imports: Some(ImportLowering {
                imported_functions,
                module: super::unique_export_name(IMPORT_MODULE, import_modules.iter().copied()),
                written: false,
            }),
        },
    };
    let wasm = super::reencode(&mut lowering, wasm).ok()?;
    Some(LoweredModule { wasm, import_module: lowering.imports.map(|imports| imports.module) })
}

/// `memarg` for a byte (alignment 1) or an 8-byte word accessed at offset 0.
fn mem_arg(align: u32) -> MemArg {
    MemArg { offset: 0, align, target: MemArgTarget::Memory(0), ordering: None }
}

/// Traps with an out-of-bounds memory access (reads the last byte of the 4 GiB address space,
/// which wasm3, holding at most 65,535 pages, never has) if `base + len` (as unsigned 64-bit
/// numbers) is past the end of memory. Locals: `base`, `len`.
///
/// `memory.size` comes first: wasm3 0.4.7 fails to compile a `memory.size` while another value
/// waits in its register ("no operation found for opcode").
fn check_range(f: &mut Function, base: u32, len: u32) {
    f.instructions()
        .memory_size(0)
        .i64_extend_i32_u()
        .i64_const(16)
        .i64_shl()
        .local_get(base)
        .i64_extend_i32_u()
        .local_get(len)
        .i64_extend_i32_u()
        .i64_add()
        .i64_lt_u()
        .if_(BlockType::Empty)
        .i32_const(-1)
        .i32_load8_u(mem_arg(0))
        .drop()
        .end();
}

/// Emits a loop that runs `body` until `exit` leaves a true `i32` (checked before each pass):
/// `block loop <exit> br_if 1 <body> br 0 end end`.
fn until<'a>(
    ins: &mut InstructionSink<'a>,
    exit: impl FnOnce(&mut InstructionSink<'a>),
    body: impl FnOnce(&mut InstructionSink<'a>),
) {
    ins.block(BlockType::Empty).loop_(BlockType::Empty);
    exit(ins);
    ins.br_if(1);
    body(ins);
    ins.br(0).end().end();
}

/// The forward loops of `memory.copy` and `memory.fill`: `word` (8 bytes at `i`) while at least 8
/// remain before `len`, then `byte` (the one at `i`) while `i < len`, `i` advancing past each.
fn forwards<'a>(
    ins: &mut InstructionSink<'a>,
    i: u32,
    len: u32,
    word: impl FnOnce(&mut InstructionSink<'a>),
    byte: impl FnOnce(&mut InstructionSink<'a>),
) {
    until(
        ins,
        |ins| {
            ins.local_get(len).local_get(i).i32_sub().i32_const(8).i32_lt_u();
        },
        |ins| {
            word(ins);
            advance(ins, i, 8);
        },
    );
    until(
        ins,
        |ins| {
            ins.local_get(i).local_get(len).i32_ge_u();
        },
        |ins| {
            byte(ins);
            advance(ins, i, 1);
        },
    );
}

/// Pushes the address `base + i` (locals).
fn address(ins: &mut InstructionSink<'_>, base: u32, i: u32) {
    ins.local_get(base).local_get(i).i32_add();
}

/// `i += step` (a local; wrapping, as `i32.add` is).
fn advance(ins: &mut InstructionSink<'_>, i: u32, step: i32) {
    ins.local_get(i).i32_const(step).i32_add().local_set(i);
}

/// `memory.copy` as a function `(dst, src, len)`: checks both ranges, then copies forwards when
/// `dst <= src` and backwards otherwise (so that overlapping ranges copy as `memmove`), 8 bytes at
/// a time while at least 8 remain, then byte by byte. Local 3 is the count copied (forwards) or
/// left (backwards).
fn copy_function() -> Function {
    let (dst, src, len, i) = (0, 1, 2, 3);
    let mut f = Function::new([(1, ValType::I32)]);
    check_range(&mut f, src, len);
    check_range(&mut f, dst, len);
    // The word or the byte at `src + i` to `dst + i`.
    let word = |ins: &mut InstructionSink<'_>| {
        address(ins, dst, i);
        address(ins, src, i);
        ins.i64_load(mem_arg(0)).i64_store(mem_arg(0));
    };
    let byte = |ins: &mut InstructionSink<'_>| {
        address(ins, dst, i);
        address(ins, src, i);
        ins.i32_load8_u(mem_arg(0)).i32_store8(mem_arg(0));
    };
    let mut ins = f.instructions();
    ins.local_get(dst).local_get(src).i32_le_u().if_(BlockType::Empty);
    forwards(&mut ins, i, len, word, byte);
    ins.else_();
    // Backwards: i = len; words while i >= 8, then bytes while i > 0.
    ins.local_get(len).local_set(i);
    until(
        &mut ins,
        |ins| {
            ins.local_get(i).i32_const(8).i32_lt_u();
        },
        |ins| {
            advance(ins, i, -8);
            word(ins);
        },
    );
    until(
        &mut ins,
        |ins| {
            ins.local_get(i).i32_eqz();
        },
        |ins| {
            advance(ins, i, -1);
            byte(ins);
        },
    );
    ins.end().end();
    f
}

/// `memory.fill` as a function `(dst, value, len)`: checks the range, then stores the value's low
/// byte 8 at a time while at least 8 remain, then byte by byte. Local 3 is the count written,
/// local 4 the byte repeated in a 64-bit word.
fn fill_function() -> Function {
    let (dst, value, len, i, word) = (0, 1, 2, 3, 4);
    let mut f = Function::new([(1, ValType::I32), (1, ValType::I64)]);
    check_range(&mut f, dst, len);
    let mut ins = f.instructions();
    ins.local_get(value)
        .i32_const(0xff)
        .i32_and()
        .i64_extend_i32_u()
        .i64_const(0x0101_0101_0101_0101)
        .i64_mul()
        .local_set(word);
    forwards(
        &mut ins,
        i,
        len,
        |ins| {
            address(ins, dst, i);
            ins.local_get(word).i64_store(mem_arg(0));
        },
        |ins| {
            address(ins, dst, i);
            ins.local_get(value).i32_store8(mem_arg(0));
        },
    );
    ins.end();
    f
}

#[cfg(test)]
mod tests {
    use wasmparser::{ExternalKind, Validator, WasmFeatures};

    use super::*;

    /// Imports as (module, name), function exports as (name, index).
    type Imports = Vec<(String, String)>;
    type Exports = Vec<(String, u32)>;

    /// The imports and the function exports of `wasm`.
    fn imports_and_exports(wasm: &[u8]) -> (Imports, Exports) {
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.expect("valid") {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.expect("valid");
                        imports.push((import.module.to_owned(), import.name.to_owned()));
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.expect("valid");
                        if export.kind == ExternalKind::Func {
                            exports.push((export.name.to_owned(), export.index));
                        }
                    }
                }
                _ => {}
            }
        }
        (imports, exports)
    }

    fn lowered(wat: &str, bulk: Bulk) -> LoweredModule {
        let wasm = wat::parse_str(wat).expect("valid WAT");
        let lowered = lower(&wasm, bulk).expect("lowered");
        let wasm1 = WasmFeatures::WASM1.union(WasmFeatures::SIGN_EXTENSION);
        Validator::new_with_features(wasm1).validate_all(&lowered.wasm).expect("WebAssembly 1.0");
        lowered
    }

    #[test]
    fn imports_come_after_the_modules_own_and_its_functions_move_up() {
        let lowered = lowered(
            r#"(module
                (import "env" "log_int" (func (param i32)))
                (memory 1)
                (func (export "f") (memory.fill (i32.const 0) (i32.const 1) (i32.const 2)))
                (func (export "g") (call 1)))"#,
            Bulk::Imports,
        );
        assert_eq!(lowered.import_module.as_deref(), Some(IMPORT_MODULE));
        let (imports, exports) = imports_and_exports(&lowered.wasm);
        let import = |module: &str, name: &str| (module.to_owned(), name.to_owned());
        assert_eq!(
            imports,
            [import("env", "log_int"), import(IMPORT_MODULE, COPY_IMPORT), import(IMPORT_MODULE, FILL_IMPORT)]
        );
        assert_eq!(exports, [("f".to_owned(), 3), ("g".to_owned(), 4)]);
    }

    #[test]
    fn a_module_without_imports_gets_an_import_section() {
        let lowered = lowered(
            r#"(module (memory 1) (func (export "f") (memory.copy (i32.const 0) (i32.const 1) (i32.const 2))))"#,
            Bulk::Imports,
        );
        let (imports, exports) = imports_and_exports(&lowered.wasm);
        assert_eq!(imports.len(), 2);
        assert_eq!(exports, [("f".to_owned(), 2)]);
    }

    #[test]
    fn the_import_module_is_one_the_module_does_not_import_from() {
        let lowered = lowered(
            &format!(
                r#"(module (import "{IMPORT_MODULE}" "x" (func)) (memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))"#
            ),
            Bulk::Imports,
        );
        assert_eq!(lowered.import_module, Some(format!("{IMPORT_MODULE}'")));
    }

    #[test]
    fn functions_are_appended_and_nothing_moves() {
        let lowered = lowered(
            r#"(module (memory 1) (func (export "f") (memory.copy (i32.const 0) (i32.const 1) (i32.const 2))))"#,
            Bulk::Functions,
        );
        assert_eq!(lowered.import_module, None);
        let (imports, exports) = imports_and_exports(&lowered.wasm);
        assert!(imports.is_empty());
        assert_eq!(exports, [("f".to_owned(), 0)]);
    }
}
