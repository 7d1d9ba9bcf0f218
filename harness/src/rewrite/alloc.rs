//! The `answer_*_alloc` imports split in two around a call to the guest's allocator made by the
//! guest itself, for runtimes whose host functions cannot call into the guest once they have read
//! its memory (Silverfir-nano: a host function's view of memory blocks every call into that
//! instance until the host function returns).
//!
//! Everywhere else, the host function of `answer_str_alloc(ptr, len, ret_ptr)` reads the argument,
//! calls the guest's `guest_alloc` itself and writes the answer into the memory it got. Here the
//! import stays in the module, but every use of it (calls, `ref.func`, element segments, exports,
//! the start function) is redirected to a function added to the module, of the same type:
//!
//! ```wat
//! (func $answer_str_alloc (param i32 i32 i32)        ;; in place of the import
//!   (call $guest_alloc                                ;; the guest calls its own allocator
//!     (call $begin (local.get 0) (local.get 1) (local.get 2)))  ;; -> (size, align)
//!   (call $finish))                                   ;; (ptr) -> ()
//! ```
//!
//! `$begin` and `$finish` are two imports added to the module ([`HALVES_MODULE`],
//! [`begin_name`], [`finish_name`]): the host does in `$begin` what it does before calling the
//! allocator (`Recorder::begin_alloc`: decode the argument, compute the answer, check the return
//! area; every import is refused from then on) and in `$finish` what it does after
//! (`Recorder::finish_alloc`, on the memory as it is then). Between the two, the allocator runs as
//! ordinary guest code: metered, bounded by the stack like any call, an import it makes refused by
//! the recorder (`host.reentered`), a trap in it the call's trap. A host must reset the recorder
//! after a call that ended between the halves (`Recorder::allocator_returned`).
//!
//! Only the `answer_*_alloc` imports of the ABI's type are redirected, and only when the module
//! exports a `guest_alloc` of the allocator's type: without one, the import is left as it is, and
//! the host's function for it fails with `host.alloc-missing` or `host.alloc-type`, as on every
//! runtime. The module's shape (what it imports and exports, and their types) is unchanged but for
//! the two imports per redirected import, which a host hides.
//!
//! The module is validated first, and the result again: a rewrite never turns an invalid module
//! into a valid one.

use std::convert::Infallible;

use common::{ALLOCATOR_EXPORT, IMPORT_MODULE, Import};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{EntityType, Instruction, SectionId, ValType};
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, Validator};

use super::goes_between;

/// The module the two halves of each redirected import are imported from.
pub const HALVES_MODULE: &str = "wasm-hostcall:alloc";

/// The imports this rewrite can split.
pub const ALLOC_IMPORTS: [Import; 3] = [Import::AnswerStrAlloc, Import::AnswerAbAlloc, Import::AnswerCdAlloc];

/// The name of `import`'s first half in [`HALVES_MODULE`]: `(ptr, len, ret_ptr) -> (size, align)`.
pub fn begin_name(import: Import) -> String {
    format!("{}:begin", import.name())
}

/// The name of `import`'s second half in [`HALVES_MODULE`]: `(allocated_ptr) -> ()`.
pub fn finish_name(import: Import) -> String {
    format!("{}:finish", import.name())
}

/// A module whose `answer_*_alloc` imports were split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The rewritten binary module.
    pub wasm: Vec<u8>,
    /// The imports split, each once, in ABI order: the host binds both halves of each.
    pub imports: Vec<Import>,
}

/// `wasm` with its `answer_*_alloc` imports split around a call to the guest's allocator (see the
/// module documentation), or `None` if there is nothing to split: no such import, or no
/// `guest_alloc` of the allocator's type. Fails on a module that does not validate.
pub fn split(wasm: &[u8]) -> Result<Option<Split>, String> {
    let types = Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let types = types.as_ref();
    let is_func = |index: u32, params: &[wasmparser::ValType], results: &[wasmparser::ValType]| {
        index < types.core_type_count_in_module()
            && matches!(&types[types.core_type_at_in_module(index)].composite_type.inner,
                CompositeInnerType::Func(ty) if ty.params() == params && ty.results() == results)
    };
    let i32 = wasmparser::ValType::I32;
    let mut imported_functions = 0u32;
    let mut redirected = Vec::new();
    let mut allocator = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    let TypeRef::Func(ty) = import.ty else { continue };
                    let abi = Import::from_name(import.name).filter(|i| ALLOC_IMPORTS.contains(i));
                    if let Some(abi) = abi.filter(|_| import.module == IMPORT_MODULE)
                        && is_func(ty, &[i32, i32, i32], &[])
                    {
                        redirected.push(Redirected { index: imported_functions, import: abi, ty });
                    }
                    imported_functions += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.name == ALLOCATOR_EXPORT && export.kind == ExternalKind::Func {
                        let typed = export.index < types.function_count()
                            && matches!(&types[types.core_function_at(export.index)].composite_type.inner,
                                CompositeInnerType::Func(ty) if ty.params() == [i32, i32] && ty.results() == [i32]);
                        allocator = typed.then_some(export.index);
                    }
                }
            }
            _ => {}
        }
    }
    let Some(allocator) = allocator else { return Ok(None) };
    if redirected.is_empty() {
        return Ok(None);
    }
    let defined_functions = types.function_count() - imported_functions;
    let mut imports: Vec<Import> = redirected.iter().map(|r| r.import).collect();
    imports.sort_by_key(|i| ALLOC_IMPORTS.iter().position(|a| a == i));
    imports.dedup();
    let mut splitter = Splitter {
        imported_functions,
        defined_functions,
        type_count: types.core_type_count_in_module(),
        allocator,
        redirected,
        functions_done: false,
        code_done: false,
    };
    let wasm = super::reencode(&mut splitter, wasm)?;
    Validator::new().validate_all(&wasm).map_err(|e| format!("the split module does not validate: {e}"))?;
    Ok(Some(Split { wasm, imports }))
}

/// An import redirected to a function of its own.
struct Redirected {
    /// Its index in the function index space of the original module.
    index: u32,
    /// Which import of the ABI it is.
    import: Import,
    /// Its type index.
    ty: u32,
}

/// The re-encoder that splits the imports.
struct Splitter {
    imported_functions: u32,
    defined_functions: u32,
    type_count: u32,
    /// The allocator's index in the original module.
    allocator: u32,
    redirected: Vec<Redirected>,
    functions_done: bool,
    code_done: bool,
}

impl Splitter {
    /// How many imports are added: two per redirected import.
    fn added(&self) -> u32 {
        2 * u32::try_from(self.redirected.len()).unwrap_or(u32::MAX / 2)
    }

    /// The index of the first half of the `j`th redirected import (the second half is next).
    fn half(&self, j: u32) -> u32 {
        self.imported_functions + 2 * j
    }

    /// The new index of original function `func`.
    fn map(&self, func: u32) -> u32 {
        if let Some(j) = self.redirected.iter().position(|r| r.index == func) {
            let j = u32::try_from(j).unwrap_or(u32::MAX);
            return self.imported_functions + self.added() + self.defined_functions + j;
        }
        if func < self.imported_functions { func } else { func + self.added() }
    }

    fn add_functions(&mut self, functions: &mut wasm_encoder::FunctionSection) {
        for redirected in &self.redirected {
            functions.function(redirected.ty);
        }
        self.functions_done = true;
    }

    fn add_code(&mut self, code: &mut wasm_encoder::CodeSection) {
        let allocator = self.map(self.allocator);
        for j in 0..u32::try_from(self.redirected.len()).unwrap_or(0) {
            let mut f = wasm_encoder::Function::new(Vec::new());
            for instruction in [
                Instruction::LocalGet(0),
                Instruction::LocalGet(1),
                Instruction::LocalGet(2),
                Instruction::Call(self.half(j)),
                Instruction::Call(allocator),
                Instruction::Call(self.half(j) + 1),
                Instruction::End,
            ] {
                f.instruction(&instruction);
            }
            code.function(&f);
        }
        self.code_done = true;
    }
}

impl Reencode for Splitter {
    type Error = Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.map(func))
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32, ValType::I32, ValType::I32], [ValType::I32, ValType::I32]);
        types.ty().function([ValType::I32], []);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        for redirected in &self.redirected {
            imports.import(HALVES_MODULE, &begin_name(redirected.import), EntityType::Function(self.type_count));
            imports.import(HALVES_MODULE, &finish_name(redirected.import), EntityType::Function(self.type_count + 1));
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        self.add_functions(functions);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        self.add_code(code);
        Ok(())
    }

    /// Custom sections are copied as they are (a `name` section's indices are not updated: it only
    /// names things for debuggers).
    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        module.section(&wasm_encoder::CustomSection { name: section.name().into(), data: section.data().into() });
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        if !self.functions_done && goes_between(SectionId::Function, after, before) {
            let mut functions = wasm_encoder::FunctionSection::new();
            self.add_functions(&mut functions);
            module.section(&functions);
        }
        if !self.code_done && goes_between(SectionId::Code, after, before) {
            let mut code = wasm_encoder::CodeSection::new();
            self.add_code(&mut code);
            module.section(&code);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        crate::module_bytes(text.as_bytes()).expect("valid text").into_owned()
    }

    /// (module, name) of each import; (name, index) of each export.
    type Names = (Vec<(String, String)>, Vec<(String, u32)>);

    /// The imports of `wasm`, as (module, name), and the function each export names.
    fn imports_and_exports(wasm: &[u8]) -> Names {
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.unwrap();
                        imports.push((import.module.to_owned(), import.name.to_owned()));
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.unwrap();
                        exports.push((export.name.to_owned(), export.index));
                    }
                }
                _ => {}
            }
        }
        (imports, exports)
    }

    const GUEST: &str = r#"(module
      (import "env" "log_int" (func $log_int (param i32)))
      (import "env" "answer_str_alloc" (func $answer (param i32 i32 i32)))
      (memory (export "memory") 1)
      (table 1 funcref) (elem (i32.const 0) $answer)
      (func (export "guest_alloc") (param i32 i32) (result i32) (i32.const 64))
      (func $run (export "run") (call $answer (i32.const 0) (i32.const 4) (i32.const 8)))
      (func (export "again") (export "answer") (call $run))
      (start $run))"#;

    #[test]
    fn calls_go_to_a_function_that_calls_both_halves_and_the_allocator() {
        let split = split(&wat(GUEST)).unwrap().expect("something to split");
        assert_eq!(split.imports, [Import::AnswerStrAlloc]);
        let (imports, exports) = imports_and_exports(&split.wasm);
        let begin = begin_name(Import::AnswerStrAlloc);
        let finish = finish_name(Import::AnswerStrAlloc);
        let expected_imports = [
            ("env", "log_int"),
            ("env", "answer_str_alloc"),
            (HALVES_MODULE, begin.as_str()),
            (HALVES_MODULE, finish.as_str()),
        ];
        let imports: Vec<(&str, &str)> = imports.iter().map(|(m, n)| (m.as_str(), n.as_str())).collect();
        assert_eq!(imports, expected_imports);
        // Imports 0..4, then guest_alloc (4), run (5), again (6), then the new function (7).
        assert_eq!(
            exports,
            [
                ("memory".to_owned(), 0),
                ("guest_alloc".to_owned(), 4),
                ("run".to_owned(), 5),
                ("again".to_owned(), 6),
                ("answer".to_owned(), 6)
            ]
        );
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(&split.wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops: Vec<String> =
                    body.get_operators_reader().unwrap().into_iter().map(|op| format!("{:?}", op.unwrap())).collect();
                bodies.push(ops.join(" "));
            }
        }
        assert_eq!(
            bodies[1],
            "I32Const { value: 0 } I32Const { value: 4 } I32Const { value: 8 } Call { function_index: 7 } End",
            "run calls the new function"
        );
        assert_eq!(bodies[2], "Call { function_index: 5 } End", "again calls run, moved up by the added imports");
        assert_eq!(
            bodies[3],
            "LocalGet { local_index: 0 } LocalGet { local_index: 1 } LocalGet { local_index: 2 } \
             Call { function_index: 2 } Call { function_index: 4 } Call { function_index: 3 } End"
        );
    }

    #[test]
    fn nothing_to_split_without_an_allocator_of_the_right_type() {
        let without = GUEST.replace(r#"(export "guest_alloc") (param i32 i32) (result i32)"#, "(result i32)");
        assert_eq!(split(&wat(&without)), Ok(None));
        let mistyped = GUEST.replace("(param i32 i32) (result i32)", "(param i32) (result i32)");
        assert_eq!(split(&wat(&mistyped.replace("(i32.const 64)", "(local.get 0)"))), Ok(None));
        assert_eq!(
            split(&wat(r#"(module (func (export "guest_alloc") (param i32 i32) (result i32) (i32.const 0)))"#)),
            Ok(None)
        );
    }

    #[test]
    fn a_module_with_no_defined_function_gets_function_and_code_sections() {
        let module = r#"(module
          (import "env" "answer_cd_alloc" (func $answer (param i32 i32 i32)))
          (import "env" "answer_ab_alloc" (func $ab (param i32 i32 i32)))
          (import "x" "guest_alloc" (func $alloc (param i32 i32) (result i32)))
          (export "guest_alloc" (func $alloc))
          (export "answer" (func $answer)))"#;
        let split = split(&wat(module)).unwrap().expect("something to split");
        assert_eq!(split.imports, [Import::AnswerAbAlloc, Import::AnswerCdAlloc]);
        let (_, exports) = imports_and_exports(&split.wasm);
        assert_eq!(exports, [("guest_alloc".to_owned(), 2), ("answer".to_owned(), 7)]);
    }

    #[test]
    fn invalid_modules_are_refused() {
        assert!(split(b"\0asm\x01\0\0\0\x01\xff").is_err());
    }
}
