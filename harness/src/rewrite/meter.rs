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
//! - **Memory** (with [`MeterConfig::max_memory_pages`], for a runtime with no limiter of its own:
//!   used by host-dlr). Each memory the module defines gets its maximum lowered to the limit (never
//!   below its initial size), and every `memory.grow` becomes a call to a function appended to the
//!   module, one per memory, that returns -1 when the memory would grow past the limit (the
//!   request taken as unsigned, so `memory.grow(-1)` asks for 2^32 - 1 pages and gets -1), and
//!   grows it otherwise. The check is done in the module, before the runtime sees the request, so
//!   a runtime whose own `memory.grow` mishandles a huge request (dlr-wasm-interpreter 0.2.0 panics
//!   on `memory.grow(-1)`: its new size overflows) never sees one. Appending the functions (rather
//!   than importing them) leaves every function index as it was; they are not metered (a few
//!   instructions, no loop: the call that replaced `memory.grow` is charged as one instruction).
//!   Without this option memory is not limited here: each runtime has a way of its own (tinywasm a
//!   memory backend).
//! - **Slices** ([`meter_sliced`], used by host-silverfir). A runtime that cannot be interrupted
//!   cannot be stopped by the clock either. With slices, the counter holds only the fuel of the
//!   current slice, and a run that leaves it negative calls an import the meter adds instead of
//!   executing `unreachable`: [`REFUEL_MODULE`].[`REFUEL_NAME`]`(counter: i64) -> (counter: i64)`.
//!   The host's function for it keeps the budget, so it can answer with a new slice, or trap when
//!   the budget is spent or the deadline has passed: the clock is read between slices, as
//!   host-wasmi does with wasmi's resumable calls. The added import comes after the module's own
//!   function imports, so the module's own functions move up by one (every reference to them is
//!   renumbered). Not combined with a memory limit (no runtime needs both).

use std::collections::HashSet;
use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

use super::goes_between;

/// The name the fuel counter is exported under, unless the module already exports that name.
pub const FUEL_EXPORT: &str = "wasm-hostcall:fuel";

/// The module of the import a sliced meter calls when a slice is spent ([`meter_sliced`]).
pub const REFUEL_MODULE: &str = "wasm-hostcall:fuel";

/// The name of that import: `(counter: i64) -> (counter: i64)`. It is called with the counter
/// below zero (by how much the run that spent the slice overdrew it) and sets the counter to what
/// it returns, or traps.
pub const REFUEL_NAME: &str = "refuel";

/// A module rewritten with the limits.
pub struct Metered {
    /// The rewritten binary module.
    pub wasm: Vec<u8>,
    /// The export holding the fuel left, if fuel is metered.
    pub fuel_export: Option<String>,
}

/// What [`meter_with`] adds to a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterConfig {
    /// A fuel counter starting at this value; `None` for no fuel.
    pub fuel: Option<u64>,
    /// The most elements any table may hold: each table's maximum is lowered to it.
    pub max_table_elements: u32,
    /// The most pages any memory may grow to (see the module documentation); `None` to leave
    /// memories as they are.
    pub max_memory_pages: Option<u64>,
}

/// Rewrites `wasm`: every table's maximum at most `max_table_elements`, and, with `fuel`, a fuel
/// counter starting at `fuel`. Fails on a module that does not validate.
pub fn meter(wasm: &[u8], fuel: Option<u64>, max_table_elements: u32) -> Result<Metered, String> {
    meter_with(wasm, MeterConfig { fuel, max_table_elements, max_memory_pages: None })
}

/// Rewrites `wasm` as [`meter`] does with fuel `first_slice`, except that a run that leaves the
/// counter below zero calls [`REFUEL_MODULE`].[`REFUEL_NAME`] (see the module documentation)
/// rather than trapping. Fails on a module that does not validate.
pub fn meter_sliced(wasm: &[u8], first_slice: u64, max_table_elements: u32) -> Result<Metered, String> {
    rewrite(wasm, &MeterConfig { fuel: Some(first_slice), max_table_elements, max_memory_pages: None }, true)
}

/// Rewrites `wasm` with the limits of `config` (see the module documentation). Fails on a module
/// that does not validate.
pub fn meter_with(wasm: &[u8], config: MeterConfig) -> Result<Metered, String> {
    rewrite(wasm, &config, false)
}

fn rewrite(wasm: &[u8], config: &MeterConfig, sliced: bool) -> Result<Metered, String> {
    if sliced && config.max_memory_pages.is_some() {
        return Err("a sliced meter with a memory limit is not supported".to_owned());
    }
    // Validated before it is rewritten: an invalid module that uses a global index past its own
    // globals would otherwise become valid, with the fuel counter at that index in its hands.
    let validated = wasmparser::Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut imported_functions = 0;
    let mut imported_globals = 0;
    let mut defined_globals = 0;
    let mut exports = HashSet::new();
    // For the memory guards: the types and functions there are, each memory's index type
    // (imported memories first), and whether any code grows a memory.
    let mut types = 0u32;
    let mut functions = 0u32;
    let mut memories64 = Vec::new();
    let mut grows = false;
    let too_many = || "too many types or functions to add the memory guards".to_owned();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(section) => {
                for group in section {
                    let size =
                        u32::try_from(group.map_err(|e| e.to_string())?.types().len()).map_err(|_| too_many())?;
                    types = types.checked_add(size).ok_or_else(too_many)?;
                }
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    match import.map_err(|e| e.to_string())?.ty {
                        TypeRef::Global(_) => imported_globals += 1,
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            functions = functions.checked_add(1).ok_or_else(too_many)?;
                            imported_functions += 1;
                        }
                        TypeRef::Memory(memory) => memories64.push(memory.memory64),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(section) => {
                functions = functions.checked_add(section.count()).ok_or_else(too_many)?;
            }
            Payload::MemorySection(section) => {
                for memory in section {
                    memories64.push(memory.map_err(|e| e.to_string())?.memory64);
                }
            }
            Payload::GlobalSection(section) => defined_globals += section.count(),
            Payload::ExportSection(section) => {
                for export in section {
                    exports.insert(export.map_err(|e| e.to_string())?.name.to_owned());
                }
            }
            Payload::CodeSectionEntry(body) if config.max_memory_pages.is_some() && !grows => {
                let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
                while !reader.eof() {
                    if matches!(reader.read().map_err(|e| e.to_string())?, Operator::MemoryGrow { .. }) {
                        grows = true;
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let fuel = config.fuel.map(|fuel| {
        let name = super::unique_export_name(FUEL_EXPORT, exports.iter().map(String::as_str));
        Fuel { initial: i64::try_from(fuel).unwrap_or(i64::MAX), global: imported_globals + defined_globals, name }
    });
    let fuel_export = fuel.as_ref().map(|f| f.name.clone());
    let memory = match config.max_memory_pages {
        Some(max_pages) => {
            // A guard for each memory, in memory index order, then one type per index type used.
            let guards = match grows {
                true => {
                    let mut guard_types = Vec::new();
                    for &memory64 in &memories64 {
                        if !guard_types.contains(&memory64) {
                            guard_types.push(memory64);
                        }
                    }
                    let count = u32::try_from(memories64.len()).map_err(|_| too_many())?;
                    functions.checked_add(count).ok_or_else(too_many)?;
                    types.checked_add(2).ok_or_else(too_many)?;
                    Some(Guards { memories64, first_function: functions, first_type: types, types: guard_types })
                }
                false => None,
            };
            Some(MemoryLimit { max_pages, guards })
        }
        None => None,
    };
    let refuel =
        sliced.then(|| Refuel { function: imported_functions, ty: validated.as_ref().core_type_count_in_module() });
    let mut meter = Meter {
        fuel,
        refuel,
        max_table_elements: u64::from(config.max_table_elements),
        memory,
        global_done: false,
        export_done: false,
        type_done: false,
        import_done: false,
    };
    Ok(Metered { wasm: super::reencode(&mut meter, wasm)?, fuel_export })
}

/// The memory limit to add.
struct MemoryLimit {
    /// The most pages a memory may have.
    max_pages: u64,
    /// The guards replacing `memory.grow`, if the module grows a memory.
    guards: Option<Guards>,
}

/// The functions appended to check every `memory.grow`.
struct Guards {
    /// Whether each memory (imported ones first) is a 64-bit one.
    memories64: Vec<bool>,
    /// The function index of memory 0's guard; memory `m`'s is `first_function + m`.
    first_function: u32,
    /// The index of the first type appended.
    first_type: u32,
    /// The index types the appended types take, in order: `false` for `(i32) -> (i32)`, `true`
    /// for `(i64) -> (i64)`.
    types: Vec<bool>,
}

impl Guards {
    /// The type index of the guard of a memory whose index type is `memory64`.
    fn type_of(&self, memory64: bool) -> u32 {
        let position = self.types.iter().position(|&t| t == memory64).unwrap_or(0);
        self.first_type + u32::try_from(position).unwrap_or(0)
    }

    /// The guard of memory `memory`: `memory.grow` of at most the pages up to `max_pages`, -1
    /// past them (the request and the sizes compared as unsigned numbers).
    fn function(memory: u32, memory64: bool, max_pages: u64) -> wasm_encoder::Function {
        let mut f = wasm_encoder::Function::new([]);
        let mut ins = f.instructions();
        if memory64 {
            let max = i64::try_from(max_pages).unwrap_or(i64::MAX);
            ins.memory_size(memory).i64_const(max).i64_gt_u();
            ins.local_get(0).i64_const(max).memory_size(memory).i64_sub().i64_gt_u();
            ins.i32_or().if_(BlockType::Result(ValType::I64)).i64_const(-1);
        } else {
            // At most 2^16 pages: the 4 GiB a 32-bit memory can address.
            let max = i32::try_from(max_pages.min(1 << 16)).unwrap_or(i32::MAX);
            ins.memory_size(memory).i32_const(max).i32_gt_u();
            ins.local_get(0).i32_const(max).memory_size(memory).i32_sub().i32_gt_u();
            ins.i32_or().if_(BlockType::Result(ValType::I32)).i32_const(-1);
        }
        ins.else_().local_get(0).memory_grow(memory).end().end();
        f
    }
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

/// The import a sliced meter adds.
struct Refuel {
    /// Its function index: after the module's own function imports.
    function: u32,
    /// The index of its type, `(i64) -> (i64)`, after the module's own types.
    ty: u32,
}

/// The re-encoder that adds the limits.
struct Meter {
    fuel: Option<Fuel>,
    refuel: Option<Refuel>,
    max_table_elements: u64,
    memory: Option<MemoryLimit>,
    /// Whether the counter's global was added (to the global section, or as a new one).
    global_done: bool,
    /// Whether the counter's export was added.
    export_done: bool,
    /// Whether the refuelling import's type and the import were added.
    type_done: bool,
    import_done: bool,
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

    fn add_type(&mut self, types: &mut wasm_encoder::TypeSection) {
        if self.refuel.is_some() {
            types.ty().function([ValType::I64], [ValType::I64]);
        }
        self.type_done = true;
    }

    fn add_import(&mut self, imports: &mut wasm_encoder::ImportSection) {
        if let Some(refuel) = &self.refuel {
            imports.import(REFUEL_MODULE, REFUEL_NAME, wasm_encoder::EntityType::Function(refuel.ty));
        }
        self.import_done = true;
    }

    /// Charges `cost` fuel; if that leaves less than none, traps with `unreachable`, or, sliced,
    /// asks the host for more.
    fn charge(&self, global: u32, cost: usize, f: &mut wasm_encoder::Function) {
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
        ] {
            f.instruction(&instruction);
        }
        match &self.refuel {
            Some(refuel) => {
                for instruction in
                    [Instruction::GlobalGet(global), Instruction::Call(refuel.function), Instruction::GlobalSet(global)]
                {
                    f.instruction(&instruction);
                }
            }
            None => {
                f.instruction(&Instruction::Unreachable);
            }
        }
        f.instruction(&Instruction::End);
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

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        // The refuelling import comes after the module's own function imports.
        Ok(match &self.refuel {
            Some(refuel) if func >= refuel.function => func + 1,
            _ => func,
        })
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        self.add_import(imports);
        Ok(())
    }

    fn instruction<'a>(&mut self, arg: Operator<'a>) -> Result<Instruction<'a>, reencode::Error<Self::Error>> {
        match (arg, self.memory.as_ref().and_then(|m| m.guards.as_ref())) {
            (Operator::MemoryGrow { mem }, Some(guards)) => Ok(Instruction::Call(guards.first_function + mem)),
            (other, _) => reencode::utils::instruction(self, other),
        }
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        self.add_type(types);
        if let Some(guards) = self.memory.as_ref().and_then(|m| m.guards.as_ref()) {
            for &memory64 in &guards.types {
                let index = if memory64 { ValType::I64 } else { ValType::I32 };
                types.ty().function([index], [index]);
            }
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        if let Some(guards) = self.memory.as_ref().and_then(|m| m.guards.as_ref()) {
            for &memory64 in &guards.memories64 {
                functions.function(guards.type_of(memory64));
            }
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        if let Some(MemoryLimit { max_pages, guards: Some(guards) }) = &self.memory {
            for (memory, &memory64) in (0u32..).zip(&guards.memories64) {
                code.function(&Guards::function(memory, memory64, *max_pages));
            }
        }
        Ok(())
    }

    fn parse_memory_section(
        &mut self,
        memories: &mut wasm_encoder::MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let Some(limit) = self.memory.as_ref().map(|m| m.max_pages) else {
            return reencode::utils::parse_memory_section(self, memories, section);
        };
        // The memories the module defines only: an imported memory's type is the importer's
        // requirement, not a limit on it.
        for memory in section {
            let mut ty = self.memory_type(memory?)?;
            let limit = limit.max(ty.minimum);
            ty.maximum = Some(ty.maximum.map_or(limit, |max| max.min(limit)));
            memories.memory(ty);
        }
        Ok(())
    }

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
        if self.refuel.is_some() && !self.type_done && goes_between(SectionId::Type, after, before) {
            let mut types = wasm_encoder::TypeSection::new();
            self.add_type(&mut types);
            module.section(&types);
        }
        if self.refuel.is_some() && !self.import_done && goes_between(SectionId::Import, after, before) {
            let mut imports = wasm_encoder::ImportSection::new();
            self.add_import(&mut imports);
            module.section(&imports);
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
                self.charge(global, run.len(), &mut f);
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

    /// The functions, memories and `memory.grow`s of a module, as (function count, memory
    /// maximums, grows of memory 0, calls).
    fn memory_parts(wasm: &[u8]) -> (u32, Vec<Option<u64>>, usize, usize) {
        let (mut functions, mut maximums, mut grows, mut calls) = (0, Vec::new(), 0, 0);
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::FunctionSection(section) => functions += section.count(),
                Payload::MemorySection(section) => maximums.extend(section.into_iter().map(|m| m.unwrap().maximum)),
                Payload::CodeSectionEntry(body) => {
                    for op in body.get_operators_reader().unwrap().into_iter() {
                        match op.unwrap() {
                            Operator::MemoryGrow { .. } => grows += 1,
                            Operator::Call { .. } => calls += 1,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        (functions, maximums, grows, calls)
    }

    fn limit_memory(wasm: &[u8], fuel: Option<u64>, max_memory_pages: u64) -> Vec<u8> {
        let config = MeterConfig { fuel, max_table_elements: 100, max_memory_pages: Some(max_memory_pages) };
        let metered = meter_with(wasm, config).unwrap();
        validate(&metered.wasm);
        metered.wasm
    }

    #[test]
    fn memory_grow_goes_through_a_guard_and_maximums_are_lowered() {
        let module = wat(r#"(module
            (memory (export "memory") 1)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (drop (memory.grow (i32.const 1)))))"#);
        for fuel in [None, Some(1_000)] {
            let wasm = limit_memory(&module, fuel, 16);
            // One guard appended; both `memory.grow`s now call it, and the guard alone grows.
            let (functions, maximums, grows, calls) = memory_parts(&wasm);
            assert_eq!((functions, grows, calls), (3, 1, 2));
            assert_eq!(maximums, [Some(16)]);
        }
    }

    #[test]
    fn a_memory_larger_than_the_limit_keeps_its_size_and_a_module_without_grow_gets_no_guard() {
        let wasm = limit_memory(&wat("(module (memory 20 30) (func))"), None, 16);
        assert_eq!(memory_parts(&wasm), (1, vec![Some(20)], 0, 0));
    }

    #[test]
    fn guards_fit_every_memory_and_index_type() {
        let module = wat(r#"(module
            (type (func))
            (import "env" "m" (memory 1))
            (memory i64 1)
            (func (result i64) (memory.grow 1 (i64.const 1)))
            (func (result i32) (memory.grow 0 (i32.const 1))))"#);
        let wasm = limit_memory(&module, Some(10), 8);
        let (functions, maximums, grows, calls) = memory_parts(&wasm);
        // One guard per memory; the imported memory's type is left as it is.
        assert_eq!((functions, grows, calls), (4, 2, 2));
        assert_eq!(maximums, [Some(8)]);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(meter(b"\0asm\x01\0\0\0\x01\xff", Some(1), 1).is_err());
    }
    #[test]
    fn sliced_the_refuelling_import_follows_the_function_imports_and_calls_are_renumbered() {
        let module = wat(r#"(module
          (import "env" "log_int" (func $log (param i32)))
          (import "env" "g" (global i32))
          (table 1 funcref) (elem (i32.const 0) $f)
          (func $f (export "f") (call $log (i32.const 1)) (call $g))
          (func $g (loop (br 0)))
          (start $g))"#);
        let metered = meter_sliced(&module, 100, 10).unwrap();
        validate(&metered.wasm);
        let (mut imports, mut calls, mut exports, mut start) = (Vec::new(), Vec::new(), Vec::new(), None);
        for payload in Parser::new(0).parse_all(&metered.wasm) {
            match payload.unwrap() {
                Payload::ImportSection(reader) => {
                    imports.extend(reader.into_imports().map(|i| {
                        let i = i.unwrap();
                        format!("{}.{}", i.module, i.name)
                    }));
                }
                Payload::ExportSection(reader) => exports.extend(reader.into_iter().map(|e| e.unwrap().index)),
                Payload::StartSection { func, .. } => start = Some(func),
                Payload::CodeSectionEntry(body) => {
                    for op in body.get_operators_reader().unwrap() {
                        if let Operator::Call { function_index } = op.unwrap() {
                            calls.push(function_index);
                        }
                    }
                }
                _ => {}
            }
        }
        assert_eq!(imports, ["env.log_int", "env.g", &format!("{REFUEL_MODULE}.{REFUEL_NAME}")]);
        // $f's own calls (log_int: 0, $g: 3), each run's refuel (1); $g's loop runs refuel too.
        assert!(calls.contains(&0) && calls.contains(&1) && calls.contains(&3) && !calls.contains(&2), "{calls:?}");
        assert_eq!(exports[0], 2, "f moved up by one");
        assert_eq!(start, Some(3));
    }

    #[test]
    fn sliced_a_module_without_types_or_imports_gets_both() {
        let metered = meter_sliced(&wat("(module)"), 100, 10).unwrap();
        validate(&metered.wasm);
        let metered = meter_sliced(&wat("(module (func (export \"f\") (loop (br 0))))"), 100, 10).unwrap();
        validate(&metered.wasm);
    }
}
