//! Moving a module's start function out of instantiation, for the hosts whose runtime cannot
//! bound it there: the start section is dropped and the function exported under a name no other
//! export has, and the host calls that export itself, right after instantiation, with the limits
//! its runtime can only apply to calls it makes (WAMR's instruction limit, wasmi's fuel slices
//! for the timeout). A start function that fails still fails the instantiation, as before: the
//! host reports its failure as the instantiation's, and drops the instance.
//!
//! The module is validated first: a rewrite never turns an invalid module into a valid one.
//!
//! The other rewrites give a runtime what it lacks: [`meter`] adds fuel and table limits,
//! [`lower`] lowers bulk-memory instructions to WebAssembly 1.0, [`stub`] replaces function
//! imports outside the ABI by functions returning zeros (for measuring a module written for
//! another host), [`alloc`] has the guest call its own allocator between two halves of an
//! `answer_*_alloc` import (for a runtime whose host functions cannot call into the guest),
//! [`trunc`] checks trapping float-to-integer conversions in the module (for a runtime that gets
//! them wrong at the edges).

pub mod alloc;
pub mod lower;
pub mod meter;
pub mod stub;
pub mod trunc;

use std::convert::Infallible;

use wasm_encoder::SectionId;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{Parser, Payload, Validator};

/// A module whose start function was moved to an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartMoved {
    /// The rewritten binary module.
    pub wasm: Vec<u8>,
    /// The export to call right after instantiation, which the host hides from the module's
    /// shape.
    pub export: String,
}

/// `wasm` re-encoded section by section through `reencoder`'s hooks.
pub(crate) fn reencode<R: Reencode>(reencoder: &mut R, wasm: &[u8]) -> Result<Vec<u8>, String>
where
    R::Error: std::fmt::Display,
{
    let mut module = wasm_encoder::Module::new();
    reencoder.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
    Ok(module.finish())
}

/// `wanted`, with primes added until no name in `taken` is the same.
pub fn unique_export_name<'a>(wanted: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut name = wanted.to_owned();
    while taken.clone().any(|n| n == name) {
        name.push('\'');
    }
    name
}

/// `wasm` with its start function moved to an export named after `name` (made unique), or
/// `None` if it has no start function. Fails on a module that does not validate.
pub fn move_start(wasm: &[u8], name: &str) -> Result<Option<StartMoved>, String> {
    Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut start = None;
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::StartSection { func, .. } => start = Some(func),
            Payload::ExportSection(reader) => {
                for export in reader {
                    exports.push(export.map_err(|e| e.to_string())?.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let Some(start) = start else { return Ok(None) };
    let export = unique_export_name(name, exports.iter().map(String::as_str));
    let wasm = rewrite(wasm, Some((start, &export)), &mut RoundtripReencoder)?;
    Ok(Some(StartMoved { wasm, export }))
}

/// `wasm` (already validated) re-encoded by `reencoder`'s table section hook, with its start
/// section dropped and, with `start`, function `start.0` exported as `start.1`. Every other
/// section is copied as it is.
pub fn rewrite<R: Reencode<Error = Infallible>>(
    wasm: &[u8],
    start: Option<(u32, &str)>,
    reencoder: &mut R,
) -> Result<Vec<u8>, String> {
    let mut module = wasm_encoder::Module::new();
    let mut exported = start.is_none();
    // Sections that come after the export section: if the module has none, ours goes before them.
    let after_exports = [8u8, 9, 12, 10, 11];
    let add_export = |module: &mut wasm_encoder::Module, exports: &mut wasm_encoder::ExportSection| {
        if let Some((func, name)) = start {
            exports.export(name, wasm_encoder::ExportKind::Func, func);
        }
        module.section(&*exports);
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| e.to_string())?;
        match &payload {
            Payload::TableSection(reader) => {
                let mut tables = wasm_encoder::TableSection::new();
                reencoder.parse_table_section(&mut tables, reader.clone()).map_err(|e| e.to_string())?;
                module.section(&tables);
            }
            Payload::ExportSection(reader) => {
                let mut exports = wasm_encoder::ExportSection::new();
                reencoder.parse_export_section(&mut exports, reader.clone()).map_err(|e| e.to_string())?;
                add_export(&mut module, &mut exports);
                exported = true;
            }
            Payload::StartSection { .. } | Payload::End(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    if !exported && after_exports.contains(&id) {
                        add_export(&mut module, &mut wasm_encoder::ExportSection::new());
                        exported = true;
                    }
                    let range = usize::try_from(range.start).map_err(|e| e.to_string())?
                        ..usize::try_from(range.end).map_err(|e| e.to_string())?;
                    let data = wasm.get(range).ok_or("a section out of bounds")?;
                    module.section(&wasm_encoder::RawSection { id, data });
                }
            }
        }
    }
    if !exported {
        add_export(&mut module, &mut wasm_encoder::ExportSection::new());
    }
    Ok(module.finish())
}

/// Where a section goes in a module, in the order the binary format requires.
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

/// Whether a section `id` missing from the module goes between sections `after` and `before`.
pub(crate) fn goes_between(id: SectionId, after: Option<SectionId>, before: Option<SectionId>) -> bool {
    after.is_none_or(|a| rank(a) < rank(id)) && before.is_none_or(|b| rank(b) > rank(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_function_becomes_an_export_with_a_free_name() {
        let wasm = wat::parse_str(
            r#"(module (func $s) (start $s) (func (export "host start")) (memory (export "memory") 1))"#,
        )
        .unwrap();
        let moved = move_start(&wasm, "host start").unwrap().expect("has a start function");
        assert_eq!(moved.export, "host start'");
        let mut start = false;
        let mut exports = Vec::new();
        for payload in Parser::new(0).parse_all(&moved.wasm) {
            match payload.unwrap() {
                Payload::StartSection { .. } => start = true,
                Payload::ExportSection(reader) => exports.extend(reader.into_iter().map(|e| e.unwrap().name)),
                _ => {}
            }
        }
        assert!(!start, "the start section is still there");
        assert_eq!(exports, ["host start", "memory", "host start'"]);
        Validator::new().validate_all(&moved.wasm).unwrap();
    }

    #[test]
    fn no_start_function_no_rewrite_and_invalid_modules_are_refused() {
        let wasm = wat::parse_str("(module)").unwrap();
        assert_eq!(move_start(&wasm, "s"), Ok(None));
        assert!(move_start(b"\0asm\x01\0\0\0\x08\x01\x05", "s").is_err());
    }
}
