//! Function imports replaced by functions that return zeros: how a module written for another
//! host (WASI, a plugin system, its own imports) runs on ours, for measuring it
//! (`compare --guest FILE --stub-imports`).
//!
//! Each function import that `keep` rejects becomes a function of the module, of the same type,
//! whose body returns the zero of each result type (`0`, `0.0`, a null reference, an all-zero
//! vector). Function indices are renumbered (kept imports first, then the stubs, then the
//! module's own functions) everywhere they occur: calls, `ref.func`, exports, elements, the
//! start function and the name section. Imports of memories, tables, globals and tags are left
//! as they are: a runtime refuses them as it would have.

use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{CodeSection, Function, FunctionSection, ImportSection, Instruction};
use wasmparser::{CompositeInnerType, Parser, Payload, TypeRef, ValType};

/// A module whose function imports outside `keep` are stubs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stubbed {
    /// The module, rewritten (the input itself when nothing was stubbed).
    pub wasm: Vec<u8>,
    /// The imports that became stubs, as `module::name`, in import order.
    pub stubs: Vec<String>,
}

/// `wasm` with every function import for which `keep(module, name)` is false replaced by a stub
/// returning zeros. Fails on a module that does not parse, or that would need a stub but defines
/// no function of its own (there is no code section to put it in).
pub fn stub_imports(wasm: &[u8], keep: impl Fn(&str, &str) -> bool) -> Result<Stubbed, String> {
    // First pass: the function imports, the types, and whether the module has code.
    let mut func_types: Vec<Vec<ValType>> = Vec::new();
    let mut imports: Vec<(String, u32, bool)> = Vec::new();
    let mut has_code = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(|e| e.to_string())?.into_types() {
                        func_types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(func) => func.results().to_vec(),
                            _ => Vec::new(),
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    if let TypeRef::Func(ty) = import.ty {
                        let kept = keep(import.module, import.name);
                        imports.push((format!("{}::{}", import.module, import.name), ty, kept));
                    }
                }
            }
            Payload::CodeSectionStart { .. } => has_code = true,
            _ => {}
        }
    }
    let stubs: Vec<String> = imports.iter().filter(|(_, _, kept)| !kept).map(|(name, ..)| name.clone()).collect();
    if stubs.is_empty() {
        return Ok(Stubbed { wasm: wasm.to_vec(), stubs });
    }
    if !has_code {
        return Err(format!("the module defines no function to put stubs beside (imports {})", stubs.join(", ")));
    }

    // The new index of every function: kept imports, then stubs, then the module's own.
    let too_many = |_| "more than 2^32 imports".to_owned();
    let kept = u32::try_from(imports.iter().filter(|(_, _, kept)| *kept).count()).map_err(too_many)?;
    let imported = u32::try_from(imports.len()).map_err(too_many)?;
    let mut map = Vec::with_capacity(imports.len());
    let (mut next_kept, mut next_stub) = (0u32, kept);
    for (_, _, is_kept) in &imports {
        if *is_kept {
            map.push(next_kept);
            next_kept += 1;
        } else {
            map.push(next_stub);
            next_stub += 1;
        }
    }
    let stub_types: Vec<u32> = imports.iter().filter(|(_, _, kept)| !kept).map(|(_, ty, _)| *ty).collect();
    let mut stubber = Stubber { map, imported, keep: &keep, stub_types, func_types };
    Ok(Stubbed { wasm: super::reencode(&mut stubber, wasm)?, stubs })
}

struct Stubber<'k, K> {
    /// The new index of each imported function.
    map: Vec<u32>,
    /// How many functions the input imports.
    imported: u32,
    keep: &'k K,
    /// The type index of each stub, in order.
    stub_types: Vec<u32>,
    /// The results of each type (function types only).
    func_types: Vec<Vec<ValType>>,
}

impl<K: Fn(&str, &str) -> bool> Reencode for Stubber<'_, K> {
    type Error = String;

    fn function_index(&mut self, func: u32) -> Result<u32, Error<String>> {
        // The module's own functions keep their indices: as many functions come before them
        // (kept imports and stubs) as were imported.
        Ok(if func < self.imported { self.map[func as usize] } else { func })
    }

    fn parse_import_section(
        &mut self,
        section: &mut ImportSection,
        reader: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        for import in reader.into_imports() {
            let import = import?;
            if matches!(import.ty, TypeRef::Func(_)) && !(self.keep)(import.module, import.name) {
                continue;
            }
            utils::parse_import(self, section, import)?;
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        reader: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        for ty in self.stub_types.clone() {
            functions.function(self.type_index(ty)?);
        }
        utils::parse_function_section(self, functions, reader)
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        reader: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<String>> {
        for ty in self.stub_types.clone() {
            let results = self.func_types.get(ty as usize).cloned().unwrap_or_default();
            let mut body = Function::new([]);
            for result in results {
                let zero = match result {
                    ValType::I32 => Instruction::I32Const(0),
                    ValType::I64 => Instruction::I64Const(0),
                    ValType::F32 => Instruction::F32Const(0.0.into()),
                    ValType::F64 => Instruction::F64Const(0.0.into()),
                    ValType::V128 => Instruction::V128Const(0),
                    ValType::Ref(r) => Instruction::RefNull(self.heap_type(r.heap_type())?),
                };
                body.instruction(&zero);
            }
            body.instruction(&Instruction::End);
            code.function(&body);
        }
        utils::parse_code_section(self, code, reader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_return_zeros_and_indices_follow() {
        let wasm = wat::parse_str(
            r#"(module
                (import "wasi" "clock" (func $clock (result i64)))
                (import "env" "log_int" (func $log (param i32)))
                (import "wasi" "rand" (func $rand (param i32) (result i32 f64)))
                (table 1 funcref) (elem (i32.const 0) $own)
                (func $own (export "run") (result i32)
                    (call $log (i32.const 7))
                    (drop (call $clock))
                    (call $rand (i32.const 1)) (drop) (drop)
                    (i32.const 5))
                (export "clock" (func $clock)))"#,
        )
        .expect("wat");
        let stubbed = stub_imports(&wasm, |module, _| module == "env").expect("stubbed");
        assert_eq!(stubbed.stubs, ["wasi::clock", "wasi::rand"]);
        wasmparser::Validator::new().validate_all(&stubbed.wasm).expect("valid");
        let text = wasmprinter::print_bytes(&stubbed.wasm).expect("print");
        // One import left; the stubs are functions 1 and 2, `run` stays function 3.
        assert_eq!(text.matches("(import ").count(), 1, "{text}");
        assert!(text.contains("i64.const 0"), "{text}");
        assert!(text.contains("i32.const 0") && text.contains("f64.const 0"), "{text}");
        assert!(text.contains("call $clock") || text.contains("call 1"), "{text}");
        assert!(
            text.contains("(export \"clock\" (func 1))") || text.contains("(export \"clock\" (func $clock))"),
            "{text}"
        );
    }

    #[test]
    fn nothing_to_stub_leaves_the_bytes_alone() {
        let wasm = wat::parse_str(r#"(module (import "env" "log_int" (func (param i32))))"#).expect("wat");
        let stubbed = stub_imports(&wasm, |_, _| true).expect("stubbed");
        assert_eq!(stubbed.wasm, wasm);
        assert!(stubbed.stubs.is_empty());
        // A stub needs a code section.
        assert!(stub_imports(&wasm, |_, _| false).is_err());
    }
}
