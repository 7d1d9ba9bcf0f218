//! Unreachable code removed from a module, for runtimes that mishandle it (used by
//! host-silverfir: Silverfir-nano 0.6's interpreter refuses some valid modules at instantiation,
//! "interp: predecoder stack desync", when a block goes on after an unconditional branch; submilli
//! and tinywasm had bugs of the same kind, see the README's known differences).
//!
//! After an instruction that never falls through (`unreachable`, `br`, `br_table`, `return`, the
//! `return_call`s, `throw`, `throw_ref`, `rethrow`), everything up to the `end` or `else` (or, in
//! a legacy `try`, `catch`, `catch_all` or `delegate`) that closes the enclosing block can never
//! run, and the validator types it against a polymorphic stack: it is dropped, blocks nested in it
//! included. What remains is valid wherever the original was (the closing instruction still sees
//! a polymorphic stack) and runs the same.
//!
//! The module is validated first, and the result again: a rewrite never turns an invalid module
//! into a valid one.

use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasmparser::{Operator, Parser, Payload, Validator};

/// `wasm` without its unreachable code, or `None` if it has none. Fails on a module that does not
/// validate.
pub fn remove_dead_code(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut found = false;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.map_err(|e| e.to_string())? {
            let mut ops = body.get_operators_reader().map_err(|e| e.to_string())?;
            let mut diverged = false;
            while !ops.eof() {
                let op = ops.read().map_err(|e| e.to_string())?;
                if diverged && !closes(&op) {
                    found = true;
                    break;
                }
                diverged = diverges(&op);
            }
        }
        if found {
            break;
        }
    }
    if !found {
        return Ok(None);
    }
    let mut module = wasm_encoder::Module::new();
    DeadCode.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
    let wasm = module.finish();
    Validator::new().validate_all(&wasm).map_err(|e| format!("the module without dead code does not validate: {e}"))?;
    Ok(Some(wasm))
}

/// Whether `op` never falls through to the next instruction.
fn diverges(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Unreachable
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. }
    )
}

/// Whether `op` closes (or splits) the enclosing block: code after it is reachable again.
fn closes(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::End | Operator::Else | Operator::Catch { .. } | Operator::CatchAll | Operator::Delegate { .. }
    )
}

/// Whether `op` opens a block (closed by an `end`, or a legacy `try` by `delegate`).
fn opens(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } | Operator::Try { .. } | Operator::TryTable { .. }
    )
}

/// The re-encoder that drops unreachable code from every function body.
struct DeadCode;

impl Reencode for DeadCode {
    type Error = Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        // While dropping: how many blocks opened in the dropped code are still open.
        let mut dropping: Option<u32> = None;
        while !reader.eof() {
            let op = reader.read()?;
            if let Some(depth) = dropping {
                dropping = match depth {
                    0 if closes(&op) => None,
                    _ if opens(&op) => Some(depth + 1),
                    // `delegate` closes a `try` as `end` does.
                    _ if matches!(op, Operator::End | Operator::Delegate { .. }) => Some(depth - 1),
                    _ => Some(depth),
                };
                if dropping.is_some() {
                    continue;
                }
            }
            if diverges(&op) {
                dropping = Some(0);
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        crate::module_bytes(text.as_bytes()).expect("valid text").into_owned()
    }

    fn bodies(wasm: &[u8]) -> Vec<String> {
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops: Vec<String> = body
                    .get_operators_reader()
                    .unwrap()
                    .into_iter()
                    .map(|op| format!("{:?}", op.unwrap()).split(' ').next().unwrap().to_owned())
                    .collect();
                bodies.push(ops.join(" "));
            }
        }
        bodies
    }

    #[test]
    fn code_after_a_branch_is_dropped_up_to_the_end_of_its_block() {
        let module = wat(r#"(module
          (func (result i32)
            (block (result i32)
              (i32.const 1)
              (br 0)
              (drop (i32.const 2))
              (block (loop (br 0)))
              (if (result i32) (i32.const 0) (then (unreachable)) (else (i32.const 3))))
            (if (i32.const 1) (then (return (i32.const 4)) (nop)) (else (nop)))))"#);
        let without = remove_dead_code(&module).unwrap().expect("dead code");
        assert_eq!(
            bodies(&without),
            ["Block I32Const Br End I32Const If I32Const Return Else Nop End End"]
        );
    }

    #[test]
    fn no_dead_code_no_rewrite() {
        let module = wat(r#"(module (func (result i32) (block (result i32) (br 0 (i32.const 1)))))"#);
        assert_eq!(remove_dead_code(&module), Ok(None));
        assert!(remove_dead_code(b"\0asm\x01\0\0\0\x01\xff").is_err());
    }
}
