//! Generated modules, run differentially: `wasm-smith` (the generator wasmtime's own differential
//! fuzzing uses) writes modules that import the ABI, and sometimes what is outside it (a wrong
//! signature, an unknown name, another import module, an imported memory, global or table), that
//! export functions, memories, globals and tables under arbitrary names in arbitrary order, with
//! start functions, tables, globals, data and element segments, and whose code calls the imports
//! with whatever arguments it computes (most modules are also instrumented to pass each
//! function's `i32` parameters to the imports, see [`instrument`]). Every module runs on every
//! runtime at every tier, with fuel and small limits, and all must agree: the same
//! [`ModuleShape`] or the same refusal, then the same events and the same outcome for the start
//! function and for each callable export (called once each, in name order, in one instance).
//!
//! Hand-written modules are shaped the way their authors thought of; these are not (this test
//! exists because a module whose exports were not in alphabetical order made the binaries
//! disagree, and 45 fixtures and 3,000 property cases had not caught it).
//!
//! ```sh
//! cargo test -p conformance --test conformance generated:: -- --nocapture     # 300 modules, and statistics
//! GENERATED_MODULES=5000 cargo test -p conformance --test conformance generated:: -- --nocapture
//! GENERATED_SEED=random cargo test -p conformance --test conformance generated::      # other modules each run
//! GENERATED_INCLUDE_KNOWN=1 cargo test -p conformance --test conformance generated::   # to check a fix
//! ```
//!
//! A failing module is shrunk (proptest shrinks the generator's input bytes for a minute, then
//! `wasm-shrink` removes whatever the divergence does not need; `GENERATED_SHRINK_ATTEMPTS`), then
//! written to `target/generated-failures/NAME.wasm` and `.wat`, and printed as text with what
//! every tier did, ready to become a fixture in `tests/cases/`.
//!
//! What is compared, and the only exemptions (each where the ABI promises nothing):
//!
//! - **Everything deterministic is compared exactly**: the load verdict (shape, or fault kind
//!   and message), and for the start function and each export: every event, then the outcome
//!   (value returned, or fault kind and message).
//! - **NaN bit patterns** differ between runtimes, and a float reaches the ABI through
//!   `i32.reinterpret_f32` into `log_int` or through memory into a `log_*` import. The modules are
//!   generated with `canonicalize_nans` (as wasmtime's and wasmi's differential fuzzers do), so
//!   every NaN that can be observed is the canonical one and no exemption is needed.
//! - **Running out of fuel**: each runtime counts fuel its own way (README, "Limits"), so where
//!   one runs out, it may have logged fewer events than another, or another may have finished.
//!   Where any runtime runs out, the events of each must be a prefix of the longer run's, the
//!   outcomes are not compared, and nothing after that call is. Where one runtime ran out and
//!   another finished the call, the module is run again with a hundred times the fuel: a runtime
//!   that still runs out where another finished on a hundredth of that is a divergence, not a
//!   counting difference (the widest legitimate gap: wasmi charges one fuel per 64 bytes that
//!   `memory.fill` or `memory.copy` touch, where wasmtime and wasmer charge one per instruction).
//! - **Stack overflow**: each runtime has its own stack limit (a depth or a byte size), so a
//!   deep recursion overflows at different depths, or runs out of fuel first on one runtime. It
//!   is treated like running out of fuel (prefix rule; not compared further), as wasmtime's
//!   differential oracle treats a stack overflow on either side: the results are not compared.

#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "small counts")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hash::BuildHasher as _;
use std::hash::RandomState;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arbitrary::Unstructured;
use common::Event;
use harness::{Config, DynEngine, Fault, Limits, ModuleShape, Sink, Trap, WASM_PAGE_SIZE, check_export};
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestCaseError, TestError, TestRunner};
use runtimes::all_tiers;
use wasm_smith::InstructionKinds;

/// Modules per run unless `GENERATED_MODULES` says otherwise.
const DEFAULT_MODULES: u32 = 300;
/// Fuel per instance.
const FUEL: u64 = 100_000;
/// The fuel of the second run, where one runtime ran out and another did not.
const FUEL_RECHECK: u64 = 100 * FUEL;
/// The most pages a memory may have.
const MAX_PAGES: u32 = 16;

fn limits(fuel: u64) -> Limits {
    Limits {
        fuel: Some(fuel),
        max_memory_bytes: (MAX_PAGES * WASM_PAGE_SIZE) as usize,
        max_table_elements: 1_000,
        max_log_bytes: 16 * 1024,
        timeout: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Generation

/// A generated module and the arguments its exports are called with.
struct Generated {
    wasm: Vec<u8>,
    args: Vec<i32>,
    /// Generated again without reference types, because it used `externref` (see
    /// [`include_known`]).
    without_externref: bool,
}

/// The imports a module may use: the ABI's four, and in some modules things outside it.
fn available_imports(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut imports = vec![
        r#"(import "env" "log_int" (func (param i32)))"#,
        r#"(import "env" "log_int" (func (param i32)))"#,
        r#"(import "env" "log_str" (func (param i32 i32)))"#,
        r#"(import "env" "log_ab" (func (param i32 i32)))"#,
        r#"(import "env" "log_cd" (func (param i32 i32)))"#,
    ];
    // wasm-smith takes each available import or not, half the time each, and a `call` picks any
    // function of a type the stack fits. Listing imports more than once makes them likelier to
    // be imported and called (a module may import the same function twice: the ABI allows it).
    for _ in 0..u.int_in_range(0..=8)? {
        imports.push(imports[u.choose_index(5)?]);
    }
    // About one module in four may import something the host does not provide.
    if u.ratio(1, 4)? {
        const OUTSIDE: &[&str] = &[
            r#"(import "env" "log_int" (func (param i64)))"#,
            r#"(import "env" "log_str" (func (param i32 i32) (result i32)))"#,
            r#"(import "env" "log_cd" (func (param i32)))"#,
            r#"(import "env" "log_float" (func (param f32)))"#,
            r#"(import "env" "LOG_INT" (func (param i32)))"#,
            r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
            r#"(import "" "log_int" (func (param i32)))"#,
            r#"(import "env" "memory" (memory 1))"#,
            r#"(import "env" "g" (global i32))"#,
            r#"(import "env" "table" (table 1 funcref))"#,
        ];
        for _ in 0..u.int_in_range(1..=2)? {
            imports.push(*u.choose(OUTSIDE)?);
        }
    }
    Ok(wat::parse_str(format!("(module {})", imports.join(" "))).expect("imports module"))
}

/// Export names: mostly arbitrary strings (so, in no particular order), and names that mean
/// something to a host.
fn export_name(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    const NAMED: &[&str] = &["memory", "run", "hello", "", "_start", "Memory", "memory\0", "a", "Z", "\u{e9}t\u{e9}"];
    // The names of the exports wasmer's metering middleware adds (see `include_known`).
    const METERING: &[&str] = &["wasmer_metering_remaining_points", "wasmer_metering_points_exhausted"];
    if u.ratio(1, 3)? {
        if include_known() && u.ratio(1, 4)? {
            return Ok((*u.choose(METERING)?).to_owned());
        }
        return Ok((*u.choose(NAMED)?).to_owned());
    }
    let len = u.int_in_range(1..=8)?;
    let mut name = String::new();
    for _ in 0..len {
        name.push(u.arbitrary::<char>()?);
    }
    Ok(name)
}

/// A text-format string holding exactly `s`.
fn wat_string(s: &str) -> String {
    s.bytes().fold(String::from("\""), |mut out, b| {
        let _ = write!(out, "\\{b:02x}");
        out
    }) + "\""
}

/// The module whose exports the generated module must have: its memory, exported as `memory`
/// most of the time, functions of callable and uncallable types, and sometimes a global or a
/// table, in an arbitrary order. Returns whether it has a memory, and a table.
fn exports_module(u: &mut Unstructured<'_>) -> arbitrary::Result<(Vec<u8>, bool, bool)> {
    let mut names = BTreeSet::new();
    let mut items = Vec::new();
    let memory_name = match u.int_in_range(0..=19)? {
        0 => None,
        1 => Some(export_name(u)?),
        _ => Some("memory".to_owned()),
    };
    if let Some(name) = memory_name {
        let minimum = *u.choose(&[0, 1, 1, 1, 1, 2, 3, MAX_PAGES, MAX_PAGES + 1])?;
        let maximum =
            if u.arbitrary()? { format!(" {}", u.int_in_range(minimum..=MAX_PAGES + 4)?) } else { String::new() };
        items.push(format!("(memory (export {}) {minimum}{maximum})", wat_string(&name)));
        names.insert(name);
    }
    const SIGNATURES: &[&str] = &[
        "",
        "(result i32)",
        "(param i32)",
        "(param i32) (result i32)",
        "(param i32 i32)",
        "(param i32 i32) (result i32)",
        "(param i32 i32 i32)",
        "(param i32 i32 i32) (result i32)",
        "(result i64)",
        "(param f32)",
        "(result i32 i32)",
        "(param i64) (result i32)",
    ];
    for _ in 0..u.int_in_range(1..=8)? {
        let name = export_name(u)?;
        if names.insert(name.clone()) {
            let signature = u.choose(SIGNATURES)?;
            items.push(format!("(func (export {}) {signature} unreachable)", wat_string(&name)));
        }
    }
    if u.ratio(1, 6)? {
        let name = export_name(u)?;
        if names.insert(name.clone()) {
            let (ty, init) =
                *u.choose(&[("i32", "i32.const 0"), ("(mut i32)", "i32.const 7"), ("f64", "f64.const 0")])?;
            items.push(format!("(global (export {}) {ty} ({init}))", wat_string(&name)));
        }
    }
    if u.ratio(1, 6)? {
        let name = export_name(u)?;
        if names.insert(name.clone()) {
            let minimum = *u.choose(&[0, 1, 4, 1_000, 1_001])?;
            items.push(format!("(table (export {}) {minimum} funcref)", wat_string(&name)));
        }
    }
    // Any order.
    for i in (1..items.len()).rev() {
        items.swap(i, u.int_in_range(0..=i)?);
    }
    let has = |kind: &str| items.iter().any(|i| i.starts_with(kind));
    let wasm = wat::parse_str(format!("(module {})", items.join(" "))).expect("exports module");
    Ok((wasm, has("(memory"), has("(table")))
}

/// Whether to generate what the runtimes are known to disagree on (`GENERATED_INCLUDE_KNOWN=1`),
/// to check a fix. Each of these divergences was found by this test; until fixed, they are left
/// out of generation or of the comparison, so that the test keeps finding new ones:
///
/// - **`externref`**: wasmtime is built without its `gc` feature, so it refuses any module that
///   uses `externref` (`invalid-module`: "gc types are disallowed"), which wasmer and wasmi run.
///   wasm-smith cannot generate reference types without `externref`, so a module that uses it is
///   generated again, from the same input, without reference types (counted in the statistics).
/// - **Exports named `wasmer_metering_remaining_points` or `wasmer_metering_points_exhausted`**:
///   with fuel, wasmer's metering middleware replaces a guest export of these names with a global
///   of its own (host-wasmer then leaves them out of the module's shape), so the guest's export
///   does not exist on wasmer (`missing-export`, or `link.no-memory` for a memory) where wasmtime
///   and wasmi run it. Documented in the README.
/// - **A NUL character in an import or export name** (valid UTF-8, so a valid name): WAMR's
///   loader refuses the module ("invalid UTF-8 encoding": its `wasm_check_utf8_str` rejects the
///   byte 0). That tier's trace is left out of the comparison (fixture `export_name_with_nul`).
/// - **Unreachable code that submilli cannot compile**: submilli-wasm 0.1.12 refuses some valid
///   modules ("internal compiler invariant violated: control operand height underflow"); that
///   tier's trace is left out of the comparison (fixture `unreachable_code_refused_by_submilli`).
/// - **Modules tinywasm-parser 0.10 refuses** ("logical operand width mismatch"), valid for every
///   other runtime; that tier's trace is left out (fixture `module_refused_by_tinywasm`).
///
/// Fixed since they were found (and generated again): more than one memory or table (refused as
/// `limit` everywhere; wasmi said `runtime` and wasmer ran them), segments out of bounds at
/// instantiation (a trap everywhere; wasmi said `limit` or `runtime`), the `wasmer_metering_*`
/// names without fuel (host-wasmer hid them even then), and running out of fuel in a start
/// function (wasmer said `trap.unreachable`: host-wasmer now runs a start function after
/// instantiation when it meters fuel, where the metering points can be read).
fn include_known() -> bool {
    std::env::var_os("GENERATED_INCLUDE_KNOWN").is_some_and(|v| v == "1")
}

/// Control instructions, and each other kind half the time.
fn instruction_kinds(u: &mut Unstructured<'_>) -> arbitrary::Result<InstructionKinds> {
    use wasm_smith::InstructionKind::{
        Control, Memory, MemoryInt, Numeric, NumericInt, Parametric, Reference, Table, Variable,
    };
    let mut kinds = vec![Control];
    for kind in [Numeric, NumericInt, Parametric, Variable, Memory, MemoryInt, Table, Reference] {
        if u.arbitrary()? {
            kinds.push(kind);
        }
    }
    Ok(InstructionKinds::new(&kinds))
}

/// A module, and arguments, from the generator's input bytes (see [`include_known`] about
/// `externref`).
fn generate(input: &[u8]) -> arbitrary::Result<Generated> {
    let generated = generate_with(input, true)?;
    let mut features = wasmparser::WasmFeatures::default();
    features.remove(wasmparser::WasmFeatures::GC_TYPES);
    if include_known() || wasmparser::Validator::new_with_features(features).validate_all(&generated.wasm).is_ok() {
        return Ok(generated);
    }
    Ok(Generated { without_externref: true, ..generate_with(input, false)? })
}

fn generate_with(input: &[u8], reference_types: bool) -> arbitrary::Result<Generated> {
    let mut u = Unstructured::new(input);
    let reference_types = reference_types && u.arbitrary()?;
    let available_imports = available_imports(&mut u)?;
    let (exports, has_memory, has_table) = exports_module(&mut u)?;
    let config = wasm_smith::Config {
        available_imports: Some(available_imports),
        exports: Some(exports),
        // What every runtime supports at every tier (wasmtime Cranelift, Winch, Pulley; wasmer
        // Cranelift, Singlepass; wasmi): the MVP, mutable globals, multi-value, bulk memory,
        // sign extension, saturating float-to-int, reference types (but see `include_known`).
        // Not SIMD, threads, exceptions, GC, tail calls, memory64, custom page sizes, wide
        // arithmetic, extended constants, compact imports.
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        custom_descriptors_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        compact_imports_enabled: false,
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: reference_types,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        // Observable NaNs are canonical on every runtime (see the module comment).
        canonicalize_nans: true,
        // Swarm testing: each module draws from some kinds of instructions only, always with
        // control instructions (`call`), so that some modules call the imports often.
        allowed_instructions: instruction_kinds(&mut u)?,
        disallow_traps: u.ratio(1, 3)?,
        allow_start_export: true,
        generate_custom_sections: u.ratio(1, 8)?,
        // The exported memory (table) is the one the exports module asks for; a module may have
        // one more, sometimes (refused as `limit` everywhere).
        max_memories: usize::from(!has_memory) + usize::from(u.ratio(1, 8)?),
        max_memory32_bytes: u64::from((MAX_PAGES + 2) * WASM_PAGE_SIZE),
        max_tables: usize::from(!has_table) + usize::from(u.ratio(1, 8)?),
        max_table_elements: 1_100,
        max_funcs: 10,
        max_instructions: 80,
        max_globals: 6,
        max_types: 16,
        max_imports: 12,
        max_data_segments: 4,
        max_element_segments: 4,
        max_elements: 16,
        ..wasm_smith::Config::default()
    };
    let module = wasm_smith::Module::new(config, &mut u)?;
    let mut wasm = module.to_bytes();
    if u.ratio(3, 4)? {
        let memory_imports = u.ratio(1, 3)?;
        // A module the reencoder cannot read back (a malformed custom `name` section) stays as
        // it is.
        if let Ok(instrumented) = instrument(&wasm, memory_imports) {
            wasm = instrumented;
        }
    }
    let mut args = Vec::new();
    for _ in 0..3 {
        args.push(if u.arbitrary()? { *u.choose(&[0, 1, -1, 16, 40, 65_536, i32::MIN])? } else { u.arbitrary()? });
    }
    Ok(Generated { wasm, args, without_externref: false })
}

/// Makes generated code call the imports far more often: at the entry of each function, each
/// `i32` parameter is passed to `log_int`, and with `memory_imports`, the first two are passed to
/// `log_str`, `log_ab` or `log_cd` (whichever the module imports). wasm-smith's code calls an
/// import only where it happens to pick `call` with that import's arguments on the stack; the
/// arguments here are whatever the generated callers computed.
fn instrument(wasm: &[u8], memory_imports: bool) -> Result<Vec<u8>, String> {
    use wasm_encoder::reencode::{Reencode, utils};
    use wasmparser::{Parser, Payload, TypeRef};

    struct Instrument {
        log_int: Option<u32>,
        log_memory: Option<u32>,
        /// The `i32` parameters of each defined function, in order.
        i32_params: Vec<Vec<u32>>,
        next: usize,
    }

    impl Reencode for Instrument {
        type Error = std::convert::Infallible;

        fn parse_function_body(
            &mut self,
            code: &mut wasm_encoder::CodeSection,
            func: wasmparser::FunctionBody<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error> {
            let mut f = self.new_function_with_parsed_locals(&func)?;
            let params = self.i32_params.get(self.next).cloned().unwrap_or_default();
            self.next += 1;
            if let Some(log_int) = self.log_int {
                for &p in &params {
                    f.instruction(&wasm_encoder::Instruction::LocalGet(p));
                    f.instruction(&wasm_encoder::Instruction::Call(log_int));
                }
            }
            if let (Some(import), [ptr, len, ..]) = (self.log_memory, params.as_slice()) {
                f.instruction(&wasm_encoder::Instruction::LocalGet(*ptr));
                f.instruction(&wasm_encoder::Instruction::LocalGet(*len));
                f.instruction(&wasm_encoder::Instruction::Call(import));
            }
            let mut reader = func.get_operators_reader()?;
            while !reader.eof() {
                f.instruction(&self.parse_instruction(&mut reader)?);
            }
            code.function(&f);
            Ok(())
        }
    }

    // Each type's parameters, and whether it has no results.
    let mut types: Vec<(Vec<wasmparser::ValType>, bool)> = Vec::new();
    let mut imported_funcs = 0u32;
    let mut log_int = None;
    let mut log_memory = None;
    let mut i32_params = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty.map_err(|e| e.to_string())?;
                    types.push((ty.params().to_vec(), ty.results().is_empty()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    let TypeRef::Func(ty) = import.ty else { continue };
                    // A call of it is inserted only where its type is the ABI's: `n` `i32`s in,
                    // nothing out (an import declared with a result would leave it on the stack:
                    // an invalid module, which wasmi's lazy tier refused at link instead, and so
                    // "disagreed"; GENERATED_SEED=15658894861836852177).
                    let ty = types.get(ty as usize);
                    let i32s =
                        |n| ty.is_some_and(|(params, none)| *none && *params == vec![wasmparser::ValType::I32; n]);
                    if import.module == "env" {
                        if import.name == "log_int" && i32s(1) && log_int.is_none() {
                            log_int = Some(imported_funcs);
                        }
                        let memory = ["log_str", "log_ab", "log_cd"].contains(&import.name);
                        if memory_imports && memory && i32s(2) && log_memory.is_none() {
                            log_memory = Some(imported_funcs);
                        }
                    }
                    imported_funcs += 1;
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    let params =
                        types.get(ty.map_err(|e| e.to_string())? as usize).map(|(p, _)| p.clone()).unwrap_or_default();
                    let indices = (0u32..).zip(&params).filter(|(_, t)| **t == wasmparser::ValType::I32);
                    i32_params.push(indices.map(|(i, _)| i).collect());
                }
            }
            _ => {}
        }
    }
    if log_int.is_none() && log_memory.is_none() {
        return Ok(wasm.to_vec());
    }
    let mut module = wasm_encoder::Module::new();
    let mut instrument = Instrument { log_int, log_memory, i32_params, next: 0 };
    utils::parse_core_module(&mut instrument, &mut module, Parser::new(0), wasm).map_err(|e| e.to_string())?;
    Ok(module.finish())
}

// ---------------------------------------------------------------------------------------------
// Running

/// The start function (at instantiation) or one call of an export: the events, then the outcome.
#[derive(Debug, Clone)]
struct Step {
    what: String,
    events: Vec<Event<'static>>,
    outcome: Result<Option<i32>, Fault>,
    /// The runtime's own words about a failure: shown, never compared.
    detail: Option<String>,
    /// The outcome is a known divergence, read as the other runtimes' (see `include_known`).
    known: bool,
}

/// What one tier did with a module.
#[derive(Debug)]
struct Trace {
    label: String,
    /// The shape, or why the module was refused.
    load: Result<ModuleShape, Fault>,
    /// The runtime's own words about a refusal: shown, never compared.
    load_detail: Option<String>,
    steps: Vec<Step>,
}

/// Out of fuel or out of stack: where each runtime stops depends on how it counts.
fn exhausted(outcome: &Result<Option<i32>, Fault>) -> bool {
    matches!(outcome, Err(Fault::Trap(Trap::OutOfFuel | Trap::StackOverflow)))
}

fn out_of_fuel(outcome: &Result<Option<i32>, Fault>) -> bool {
    matches!(outcome, Err(Fault::Trap(Trap::OutOfFuel)))
}

/// The arguments an export takes, if it is callable: `i32` parameters, no result or one `i32`.
fn callable(shape: &ModuleShape, name: &str) -> Option<usize> {
    let count = shape.function(name)?.0.len();
    check_export(shape, name, count).is_ok().then_some(count)
}

/// Loads `wasm` on `engine`, instantiates it (running its start function) and calls each
/// callable export once, in name order, in that one instance. Stops at the first call that
/// runs out of fuel or stack.
fn observe(label: String, engine: &dyn DynEngine, generated: &Generated) -> Trace {
    let module = match engine.load_module(&generated.wasm) {
        Ok(module) => module,
        Err(failure) => {
            return Trace { label, load: Err(failure.fault), load_detail: failure.detail, steps: Vec::new() };
        }
    };
    let shape = module.shape().clone();
    let mut steps = Vec::new();
    let mut instance = match engine.instantiate_module(&module, Sink::Record) {
        Ok(instance) => instance,
        Err(failure) => {
            let step = Step {
                what: "instantiate".into(),
                events: Vec::new(),
                known: false,
                outcome: Err(failure.fault),
                detail: failure.detail,
            };
            return Trace { label, load: Ok(shape), load_detail: None, steps: vec![step] };
        }
    };
    let events = instance.take_events();
    steps.push(Step { what: "instantiate".into(), events, outcome: Ok(None), detail: None, known: false });
    for name in shape.functions() {
        let Some(count) = callable(&shape, &name) else { continue };
        let args = &generated.args[..count];
        let (outcome, detail) = match instance.call(&name, args) {
            Ok(value) => (Ok(value), None),
            Err(failure) => (Err(failure.fault), failure.detail),
        };
        let stop = exhausted(&outcome);
        let events = instance.take_events();
        steps.push(Step { what: format!("call {name:?}{args:?}"), events, outcome, detail, known: false });
        if stop {
            break;
        }
    }
    Trace { label, load: Ok(shape), load_detail: None, steps }
}

/// The engines of every tier of every runtime that meters fuel (the others could loop forever), with `fuel`.
fn engines(fuel: u64) -> &'static [(String, Box<dyn DynEngine>)] {
    static BASE: OnceLock<Vec<(String, Box<dyn DynEngine>)>> = OnceLock::new();
    static RECHECK: OnceLock<Vec<(String, Box<dyn DynEngine>)>> = OnceLock::new();
    let cell = if fuel == FUEL { &BASE } else { &RECHECK };
    cell.get_or_init(|| {
        all_tiers(&Config::new(limits(fuel)))
            .into_iter()
            // Generated modules may loop forever: only runtimes that meter fuel can run them.
            .filter(|t| t.runtime.meters_fuel)
            .map(|t| {
                let label = t.label();
                (label.clone(), t.engine.unwrap_or_else(|f| panic!("{label}: {f}")))
            })
            .collect()
    })
}

/// The native stack of the threads that run the generated modules.
const WORKER_STACK: usize = 64 << 20;

/// Every tier's trace, in tier order: two threads take the tiers in turn.
fn observe_all(generated: &Generated, fuel: u64) -> Vec<Trace> {
    let engines = engines(fuel);
    let next = AtomicUsize::new(0);
    let traces = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for worker in 0..2 {
            // Named, so that a native stack overflow says which thread; and with the stack a host
            // gives threads that run guests (a debug build of the runtimes needs far more than
            // the default 2 MiB for some generated modules: one run aborted with 2 MiB).
            std::thread::Builder::new()
                .name(format!("generated-{worker}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, || {
                    while let Some((label, engine)) = engines.get(next.fetch_add(1, Ordering::Relaxed)) {
                        // A host that panics on a module is a divergence like any other (the others
                        // ran it), so that the module is shrunk and written, not lost in a panic.
                        let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            observe(label.clone(), engine.as_ref(), generated)
                        }));
                        let trace = observed.unwrap_or_else(|panic| {
                            let message = panic
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_default();
                            Trace {
                                label: label.clone(),
                                load: Err(Fault::Runtime),
                                load_detail: Some(format!("the host panicked: {message}")),
                                steps: Vec::new(),
                            }
                        });
                        traces.lock().expect("traces").push(trace);
                    }
                })
                .expect("a worker thread");
        }
    });
    let mut traces = traces.into_inner().expect("traces");
    traces.sort_by_key(|t| engines.iter().position(|(label, _)| *label == t.label));
    traces
}

// ---------------------------------------------------------------------------------------------
// Comparing

/// Compares every pair of traces. Returns the first step, if any, where one tier ran out of fuel
/// and another finished.
fn compare(traces: &[Trace]) -> Result<Option<usize>, Divergence> {
    let mut fuel_sensitive: Option<usize> = None;
    let compared: Vec<&Trace> = traces.iter().filter(|t| !known_load_divergence(t)).collect();
    for (n, a) in compared.iter().enumerate() {
        for b in &compared[n + 1..] {
            if let Some(step) = compare_pair(a, b)? {
                fuel_sensitive = Some(fuel_sensitive.map_or(step, |s| s.min(step)));
            }
        }
    }
    Ok(fuel_sensitive)
}

fn compare_pair(a: &Trace, b: &Trace) -> Result<Option<usize>, Divergence> {
    let pair = format!("{} and {}", a.label, b.label);
    let differ = |what: &str, step: Option<&Step>| {
        let step_kind = step.map_or("", |s| s.what.split(' ').next().unwrap_or(""));
        let message = match step {
            Some(step) => format!("{pair} disagree on {what} of {}", step.what),
            None => format!("{pair} disagree on {what}"),
        };
        Divergence { kind: format!("{pair}: {what}: {step_kind}"), message }
    };
    if a.load != b.load {
        return Err(differ("loading the module", None));
    }
    for i in 0..a.steps.len().max(b.steps.len()) {
        let (Some(x), Some(y)) = (a.steps.get(i), b.steps.get(i)) else {
            return Err(differ("how many steps there are", None));
        };
        if x.what != y.what {
            return Err(differ("the exports to call", Some(x)));
        }
        if !exhausted(&x.outcome) && !exhausted(&y.outcome) {
            if x.events != y.events {
                return Err(differ("the events", Some(x)));
            }
            if x.outcome != y.outcome {
                return Err(differ("the outcome", Some(x)));
            }
            continue;
        }
        // Out of fuel or stack on one side at least: the events must agree as far as both went,
        // and nothing further is compared.
        let shorter = x.events.len().min(y.events.len());
        if x.events[..shorter] != y.events[..shorter] {
            return Err(differ("the events before running out", Some(x)));
        }
        let fuel_only_one_side =
            (out_of_fuel(&x.outcome) && !exhausted(&y.outcome)) || (out_of_fuel(&y.outcome) && !exhausted(&x.outcome));
        return Ok(fuel_only_one_side.then_some(i));
    }
    Ok(None)
}

/// With a hundred times the fuel, no tier may run out of fuel at `step` where another tier finished it
/// on the base fuel (in `base`).
fn check_fuel_recheck(base: &[Trace], again: &[Trace], step: usize) -> Result<(), Divergence> {
    let finished = base.iter().find(|t| t.steps.get(step).is_some_and(|s| !exhausted(&s.outcome)));
    let Some(finished) = finished else { return Ok(()) };
    match again.iter().find(|t| t.steps.get(step).is_some_and(|s| out_of_fuel(&s.outcome))) {
        Some(stuck) => Err(Divergence {
            kind: format!("{} and {}: fuel", stuck.label, finished.label),
            message: format!(
                "{} runs out of {FUEL_RECHECK} fuel in {} where {} finished it on {FUEL}",
                stuck.label, finished.steps[step].what, finished.label
            ),
        }),
        None => Ok(()),
    }
}

/// Known divergences (see `include_known`): WAMR refuses a module with a NUL character in a name;
/// submilli refuses some valid modules with unreachable code; tinywasm-parser some others.
fn known_load_divergence(trace: &Trace) -> bool {
    let refused_because = |runtime: &str, words: &str| {
        trace.label.starts_with(runtime)
            && trace.load == Err(Fault::InvalidModule)
            && trace.load_detail.as_deref().is_some_and(|d| d.contains(words))
    };
    // wasmi 2.0.0's translator panics on a store whose address and value are the same value with
    // a large offset (`cases/store_same_value_far_offset`): when loading (eager translation) or
    // when the function first runs (lazy).
    let wasmi_panicked = trace.label.starts_with("wasmi/")
        && std::iter::once(&trace.load_detail)
            .chain(trace.steps.iter().map(|s| &s.detail))
            .any(|d| d.as_deref().is_some_and(|d| d.contains("wasmi panicked")));
    !include_known()
        && (refused_because("wamr/", "invalid UTF-8 encoding")
            || refused_because("submilli/", "control operand height underflow")
            || refused_because("tinywasm/", "logical operand width mismatch")
            || wasmi_panicked)
}

/// Where two tiers disagree.
#[derive(Debug)]
struct Divergence {
    /// Which tiers, on what kind of thing: the same divergence in a smaller module has the same
    /// kind (this is what shrinking keeps).
    kind: String,
    /// The divergence in words, then (from [`check`]) every tier's trace.
    message: String,
}

/// Runs a generated module everywhere and compares.
fn check(generated: &Generated, stats: Option<&Mutex<Stats>>) -> Result<(), Divergence> {
    let with_traces =
        |d: Divergence, traces: &[Trace]| Divergence { message: describe(&d.message, generated, traces), kind: d.kind };
    let traces = observe_all(generated, FUEL);
    let fuel_sensitive = compare(&traces).map_err(|d| with_traces(d, &traces))?;
    if let Some(step) = fuel_sensitive {
        let again = observe_all(generated, FUEL_RECHECK);
        compare(&again).map_err(|d| with_traces(d, &again))?;
        check_fuel_recheck(&traces, &again, step).map_err(|d| with_traces(d, &again))?;
    }
    if let Some(stats) = stats {
        let mut stats = stats.lock().expect("stats");
        stats.rechecked += u64::from(fuel_sensitive.is_some());
        let known = traces.iter().any(|t| t.steps.iter().any(|s| s.known) || known_load_divergence(t));
        stats.known += u64::from(known);
        stats.record(&traces[0], generated);
    }
    Ok(())
}

/// A divergence, with every tier's trace.
fn describe(problem: &str, generated: &Generated, traces: &[Trace]) -> String {
    let mut out = format!("{problem}\narguments: {:?}\n", generated.args);
    for trace in traces {
        let _ = writeln!(out, "--- {}", trace.label);
        match &trace.load {
            Ok(shape) => {
                let exports: Vec<String> = shape.exports().iter().map(|e| format!("{:?}: {}", e.name, e.ty)).collect();
                let _ = writeln!(out, "loaded; exports {}", exports.join(", "));
            }
            Err(fault) => {
                let _ = writeln!(out, "refused: {}: {fault} ({:?})", fault.kind(), trace.load_detail);
            }
        }
        for step in &trace.steps {
            let _ = writeln!(out, "{}:", step.what);
            for event in &step.events {
                let _ = writeln!(out, "    {event}");
            }
            let _ =
                writeln!(out, "    {}", harness::outcome_line(&step.outcome.clone().map_err(harness::Failure::new)));
            if let Some(detail) = &step.detail {
                let _ = writeln!(out, "    ({detail})");
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Statistics

#[derive(Default)]
struct Stats {
    generated: u64,
    not_generated: u64,
    loaded: u64,
    refused: BTreeMap<String, u64>,
    calls: u64,
    events: u64,
    outcomes: BTreeMap<String, u64>,
    rechecked: u64,
    without_externref: u64,
    known: u64,
}

impl Stats {
    fn record(&mut self, trace: &Trace, generated: &Generated) {
        self.generated += 1;
        self.without_externref += u64::from(generated.without_externref);
        match &trace.load {
            Ok(_) => self.loaded += 1,
            Err(fault) => *self.refused.entry(fault.kind()).or_default() += 1,
        }
        for step in &trace.steps {
            if step.what != "instantiate" {
                self.calls += 1;
            }
            self.events += step.events.len() as u64;
            let kind = match &step.outcome {
                Ok(_) => "returned".to_owned(),
                Err(fault) => fault.kind(),
            };
            *self.outcomes.entry(format!("{}: {kind}", step.what.split(' ').next().unwrap_or(""))).or_default() += 1;
        }
    }
}

/// The generator's seed: fixed by default, so that CI's main test run checks the same modules
/// every time; `GENERATED_SEED=N` for another fixed seed, `GENERATED_SEED=random` for a new one,
/// drawn here and printed (and repeated in a failure), so that any run can be repeated with
/// `GENERATED_SEED=N`.
fn seed() -> u64 {
    match std::env::var("GENERATED_SEED").ok().as_deref() {
        Some("random") => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            RandomState::new().hash_one((nanos, std::process::id()))
        }
        Some(n) => n.parse().expect("GENERATED_SEED: a number or `random`"),
        None => DEFAULT_SEED,
    }
}

/// The default seed of [`seed`].
const DEFAULT_SEED: u64 = 20_261_125;

fn modules() -> u32 {
    std::env::var("GENERATED_MODULES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MODULES)
}

/// Where failing modules are written: `target/generated-failures/`.
fn failures_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map_or(tmp.clone(), PathBuf::from).join("generated-failures")
}

#[test]
fn generated_modules_agree_on_every_runtime_and_tier() {
    let start = Instant::now();
    let (seed, modules) = (seed(), modules());
    // First, so that it is on record however the run ends.
    println!("GENERATED_SEED={seed} GENERATED_MODULES={modules}");
    let stats = Mutex::new(Stats::default());
    // Once a module fails, proptest runs smaller ones to shrink it: they are not counted.
    let failed = AtomicBool::new(false);
    let config = ProptestConfig {
        cases: modules,
        failure_persistence: None,
        // Each shrinking step runs every tier: proptest shrinks the input bytes for a minute,
        // then `shrink` shrinks the module itself.
        max_shrink_time: 60_000,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&vec(any::<u8>(), 0..6000), |input| {
        let counting = !failed.load(Ordering::Relaxed);
        let Ok(generated) = generate(&input) else {
            if counting {
                stats.lock().expect("stats").not_generated += 1;
            }
            return Ok(());
        };
        check(&generated, counting.then_some(&stats)).map_err(|divergence| {
            failed.store(true, Ordering::Relaxed);
            TestCaseError::fail(divergence.kind)
        })
    });
    let stats = stats.into_inner().expect("stats");
    println!(
        "{} modules generated ({} inputs too short; {} generated again without externref), each run on {} tiers, in {:.1} s: \
         {} loaded, refused {:?}; {} calls, {} events; rechecked with more fuel: {}; with a known divergence: {}",
        stats.generated,
        stats.not_generated,
        stats.without_externref,
        engines(FUEL).len(),
        start.elapsed().as_secs_f64(),
        stats.loaded,
        stats.refused,
        stats.calls,
        stats.events,
        stats.rechecked,
        stats.known,
    );
    println!("outcomes on {}: {:#?}", engines(FUEL)[0].0, stats.outcomes);
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, input)) => {
            let generated = generate(&input).expect("the failing input generates");
            let generated = shrink(generated);
            let divergence = check(&generated, None).err();
            let reason = divergence.map_or_else(|| "(it no longer fails)".to_owned(), |d| d.message);
            let wat = wasmprinter::print_bytes(&generated.wasm).unwrap_or_else(|e| format!("(not printable: {e})"));
            let dir = failures_dir();
            let name = format!("generated-{:016x}", fnv(&generated.wasm));
            let path = dir.join(format!("{name}.wasm"));
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, &generated.wasm))
                .and_then(|()| std::fs::write(dir.join(format!("{name}.wat")), &wat));
            let saved = match written {
                Ok(()) => format!("written to {} and .wat", path.display()),
                Err(e) => format!("not written to {}: {e}", path.display()),
            };
            panic!(
                "a generated module makes the runtimes disagree (GENERATED_SEED={seed} GENERATED_MODULES={modules} \
                 finds it again; {saved}):\n{reason}\n{wat}"
            );
        }
        Err(e) => panic!("{e}"),
    }
}

/// The smallest module wasm-shrink finds that still diverges the same way (the same tiers, on
/// the same kind of thing). `GENERATED_SHRINK_ATTEMPTS` (default 300): how many failed attempts
/// in a row end it.
fn shrink(generated: Generated) -> Generated {
    let Err(original) = check(&generated, None) else { return generated };
    let attempts = std::env::var("GENERATED_SHRINK_ATTEMPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let args = generated.args.clone();
    let shrunk = wasm_shrink::WasmShrink::default().attempts(attempts).run(generated.wasm.clone(), |wasm| {
        let candidate = Generated { wasm: wasm.to_vec(), args: args.clone(), without_externref: false };
        Ok(check(&candidate, None).is_err_and(|d| d.kind == original.kind))
    });
    match shrunk {
        Ok(info) => Generated { wasm: info.output, ..generated },
        Err(_) => generated,
    }
}

/// FNV-1a, to name a failing module after its bytes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
