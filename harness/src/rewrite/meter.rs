//! Fuel and table limits added to a module, for runtimes that have no mechanism for them (used by
//! host-tinywasm; tinywasm 0.10 is the example below). The host compiles the rewritten module,
//! hides [`Metered::fuel_export`] from the module's shape, and reads the counter after a trap.
//!
//! - **Fuel.** tinywasm's own fuel (`Function::call_resumable` + `resume_with_fuel`) meters only
//!   the outermost call: a call a host function makes back into the guest (`FuncContext::call`,
//!   which `answer_*_alloc` needs for the guest's allocator) runs to completion unmetered, so an
//!   allocator that loops forever would hang the host. It also does not say how much fuel a call
//!   that completed used, so it cannot keep one budget per instance. Instead, like wasmer's
//!   metering middleware, the module gets a mutable `i64` global holding the fuel left, and every
//!   straight-line run of instructions first subtracts its length from it and executes
//!   `unreachable` if the result is negative. A negative counter after a trap therefore means "out
//!   of fuel". The counter is exported under a name no other export has, which the host hides.
//!   It costs time: a tight loop ran 2.4 times slower metered than unmetered on tinywasm.
//! - **Tables.** tinywasm has no limiter: a table grows up to its declared maximum. Each table's
//!   maximum is lowered to [`crate::Limits::max_table_elements`], so `table.grow` past it returns
//!   -1. (A table that *starts* above the limit must be refused by the host before instantiation.)
//!
//! Memory is not limited here: each runtime has a way of its own (tinywasm a memory backend).

use std::collections::HashSet;
use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

use super::goes_between;

/// The name the fuel counter is exported under, unless the module already exports that name.
pub const FUEL_EXPORT: &str = "wasm-hostcall:fuel";

/// A module rewritten with the limits.
pub struct Metered {
    /// The rewritten binary module.
    pub wasm: Vec<u8>,
    /// The export holding the fuel left, if fuel is metered.
    pub fuel_export: Option<String>,
}

/// Rewrites `wasm`: every table's maximum at most `max_table_elements`, and, with `fuel`, a fuel
/// counter starting at `fuel`. Fails on a module `wasmparser` cannot read.
pub fn meter(wasm: &[u8], fuel: Option<u64>, max_table_elements: u32) -> Result<Metered, String> {
    // Validated before it is rewritten: an invalid module that uses a global index past its own
    // globals would otherwise become valid, with the fuel counter at that index in its hands.
    wasmparser::Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut imported_globals = 0;
    let mut defined_globals = 0;
    let mut exports = HashSet::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    if matches!(import.map_err(|e| e.to_string())?.ty, TypeRef::Global(_)) {
                        imported_globals += 1;
                    }
                }
            }
            Payload::GlobalSection(section) => defined_globals += section.count(),
            Payload::ExportSection(section) => {
                for export in section {
                    exports.insert(export.map_err(|e| e.to_string())?.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let fuel = fuel.map(|fuel| {
        let name = super::unique_export_name(FUEL_EXPORT, exports.iter().map(String::as_str));
        Fuel { initial: i64::try_from(fuel).unwrap_or(i64::MAX), global: imported_globals + defined_globals, name }
    });
    let fuel_export = fuel.as_ref().map(|f| f.name.clone());
    let mut meter =
        Meter { fuel, max_table_elements: u64::from(max_table_elements), global_done: false, export_done: false };
    let mut module = wasm_encoder::Module::new();
    meter.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
    Ok(Metered { wasm: module.finish(), fuel_export })
}

/// The fuel counter to add.
struct Fuel {
    /// Its starting value.
    initial: i64,
    /// Its global index (after every imported and defined global).
    global: u32,
    /// The name it is exported under.
    name: String,
}

/// The re-encoder that adds the limits.
struct Meter {
    fuel: Option<Fuel>,
    max_table_elements: u64,
    /// Whether the counter's global was added (to the global section, or as a new one).
    global_done: bool,
    /// Whether the counter's export was added.
    export_done: bool,
}

impl Meter {
    fn add_global(&mut self, globals: &mut wasm_encoder::GlobalSection) {
        if let Some(fuel) = &self.fuel {
            let ty = GlobalType { val_type: ValType::I64, mutable: true, shared: false };
            globals.global(ty, &ConstExpr::i64_const(fuel.initial));
        }
        self.global_done = true;
    }

    fn add_export(&mut self, exports: &mut wasm_encoder::ExportSection) {
        if let Some(fuel) = &self.fuel {
            exports.export(&fuel.name, ExportKind::Global, fuel.global);
        }
        self.export_done = true;
    }

    /// Charges `cost` fuel, trapping with `unreachable` if that leaves less than none.
    fn charge(global: u32, cost: usize, f: &mut wasm_encoder::Function) {
        let cost = i64::try_from(cost).unwrap_or(i64::MAX);
        for instruction in [
            Instruction::GlobalGet(global),
            Instruction::I64Const(cost),
            Instruction::I64Sub,
            Instruction::GlobalSet(global),
            Instruction::GlobalGet(global),
            Instruction::I64Const(0),
            Instruction::I64LtS,
            Instruction::If(BlockType::Empty),
            Instruction::Unreachable,
            Instruction::End,
        ] {
            f.instruction(&instruction);
        }
    }
}

/// Whether `op` ends a straight-line run of instructions: it branches, is branched to, or calls.
fn ends_run(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Unreachable
            | Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Throw { .. }
            | Operator::Rethrow { .. }
            | Operator::Delegate { .. }
            | Operator::TryTable { .. }
            | Operator::ThrowRef
    )
}

impl Reencode for Meter {
    type Error = Infallible;

    fn table_type(
        &mut self,
        table_ty: wasmparser::TableType,
    ) -> Result<wasm_encoder::TableType, reencode::Error<Self::Error>> {
        let mut ty = reencode::utils::table_type(self, table_ty)?;
        // Never below the table's initial size, which would make the module invalid: a table that
        // starts above the limit is refused before instantiation instead.
        let limit = self.max_table_elements.max(ty.minimum);
        ty.maximum = Some(ty.maximum.map_or(limit, |max| max.min(limit)));
        Ok(ty)
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_export(exports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        if self.fuel.is_none() {
            return Ok(());
        }
        if !self.global_done && goes_between(SectionId::Global, after, before) {
            let mut globals = wasm_encoder::GlobalSection::new();
            self.add_global(&mut globals);
            module.section(&globals);
        }
        if !self.export_done && goes_between(SectionId::Export, after, before) {
            let mut exports = wasm_encoder::ExportSection::new();
            self.add_export(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let Some(global) = self.fuel.as_ref().map(|f| f.global) else {
            return reencode::utils::parse_function_body(self, code, func);
        };
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        let mut run: Vec<Instruction<'_>> = Vec::new();
        while !reader.eof() {
            let op = reader.read()?;
            let ends = ends_run(&op);
            run.push(self.instruction(op)?);
            if ends {
                Self::charge(global, run.len(), &mut f);
                for instruction in run.drain(..) {
                    f.instruction(&instruction);
                }
            }
        }
        // A valid body ends with `end`, which ends a run; whatever is left of an invalid one is
        // kept as it is, for tinywasm's validation to refuse.
        for instruction in run.drain(..) {
            f.instruction(&instruction);
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

    fn validate(wasm: &[u8]) {
        wasmparser::Validator::new().validate_all(wasm).expect("the rewritten module is valid");
    }

    #[test]
    fn adds_the_counter_to_a_module_without_globals_or_exports() {
        let metered = meter(&wat("(module (func (loop (br 0))) (start 0))"), Some(10), 100).unwrap();
        validate(&metered.wasm);
        assert_eq!(metered.fuel_export.as_deref(), Some(FUEL_EXPORT));
    }

    #[test]
    fn the_export_name_never_collides() {
        let module = format!(r#"(module (global (export "{FUEL_EXPORT}") i32 (i32.const 0)) (func (export "f")))"#);
        let metered = meter(&wat(&module), Some(10), 100).unwrap();
        validate(&metered.wasm);
        assert_eq!(metered.fuel_export, Some(format!("{FUEL_EXPORT}'")));
    }

    #[test]
    fn without_fuel_only_tables_change() {
        let metered = meter(&wat("(module (table 1 funcref) (func))"), None, 100).unwrap();
        validate(&metered.wasm);
        assert_eq!(metered.fuel_export, None);
    }

    #[test]
    fn a_module_cannot_reach_the_counter_by_index() {
        // Invalid as it is (no global 0); valid once the counter is global 0.
        let module = wat("(module (func (global.set 0 (i64.const 9))))");
        assert!(meter(&module, Some(10), 100).is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(meter(b"\0asm\x01\0\0\0\x01\xff", Some(1), 1).is_err());
    }
}
