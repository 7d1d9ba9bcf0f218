//! Fixture modules: every file in `tests/cases/` (hostile modules, default limits),
//! `tests/calls/` (hostile handlers, called with input), `tests/limits/` (modules that run
//! into the limits, with small limits) and `tests/deadlines/` (handlers stopped by the clock, with
//! a timeout) runs on every runtime,
//! at every tier (wasmtime Cranelift, Winch and Pulley; wasmer Cranelift and Singlepass; wasmi
//! lazy, eager).
//! Each must end exactly as its golden file `tests/golden/SUITE/NAME.txt` says (events, then the
//! outcome with its runtime-neutral error kind), the runtimes must agree with each other, and
//! every engine must still run the demo after all of them.
//!
//! A runtime documented to differ on a case has its own golden file, `NAME.RUNTIME.txt` (see the
//! README's list of known differences); the other runtimes must still agree.
//!
//! Adding a case is adding a fixture file, then `BLESS=1 cargo test -p conformance --test conformance cases::`
//! and reviewing the new golden file.

use harness::{Config, DynEngine};
use runtimes::all_tiers;

/// For a fixture that exports `canaries` (`() -> i32`: 1 when the canary bytes around its output
/// buffers are intact): runs the case, then `canaries` in the same instance, and says what is
/// wrong if a byte outside the ranges the guest gave was written.
fn canaries_disturbed(engine: &dyn DynEngine, suite: &golden::Suite, bytes: &[u8]) -> Option<String> {
    let module = engine.load_module(bytes).ok()?;
    module.shape().function("canaries")?;
    let (_, canaries) = engine.run_then(&module, suite.export(), suite.input.map(str::as_bytes), "canaries");
    (canaries != Ok(Some(1))).then(|| format!("the canaries around the output buffer were written: {canaries:?}"))
}

/// The native stack every fixture runs on: a thread's default size in Rust (and a test thread's),
/// stated rather than inherited from `RUST_MIN_STACK`, so that deep recursion
/// (`limits/deep_recursion*`) must end in each runtime's own limit on an ordinary thread, also on
/// the runtimes whose wasm frames use the calling thread's stack (wasmtime, WAMR) or that recurse
/// natively for each wasm call (wasm3).
const NATIVE_STACK: usize = 2 << 20;

/// Runs `f` on a thread of its own with a [`NATIVE_STACK`]; a panic is the caller's.
fn on_native_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(NATIVE_STACK)
            .spawn_scoped(scope, f)
            .expect("a thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[test]
fn hostile_modules_end_as_their_golden_files_on_every_runtime() {
    run_suite("cases", 40);
}

#[test]
fn hostile_handlers_end_as_their_golden_files_on_every_runtime() {
    run_suite("calls", 8);
}

#[test]
fn limits_end_as_their_golden_files_on_every_runtime() {
    run_suite("limits", 10);
}

#[test]
fn deadlines_end_as_their_golden_files_on_every_runtime_that_stops_on_one() {
    run_suite("deadlines", 6);
}

fn run_suite(dir: &str, at_least: usize) {
    let suite = golden::suites().into_iter().find(|s| s.dir == dir).expect("suite");
    let engines: Vec<_> = all_tiers(&Config::new(suite.limits.clone()))
        .into_iter()
        .map(|t| {
            let label = t.label();
            t.engine.unwrap_or_else(|f| panic!("{label}: {f}"))
        })
        .collect();
    let cases = suite.cases();
    assert!(cases.len() >= at_least, "only {} fixtures found in {dir}", cases.len());
    let mut problems = Vec::new();
    let mut not_run = Vec::new();
    for case in &cases {
        let bytes = std::fs::read(&case.path).expect("fixture");
        let mut texts = Vec::new();
        for engine in &engines {
            // A runtime that cannot meter fuel runs the cases without a fuel limit (it refuses
            // one: checked below), and cannot run those only fuel stops; one that cannot be
            // stopped by the clock runs no case of a suite with a timeout.
            if !suite.runs_on(case, engine.meters_fuel(), engine.stops_on_deadline()) {
                not_run.push(format!("{}/{} × {}", engine.name(), engine.tier(), case.name));
                continue;
            }
            let report = on_native_stack(|| suite.run(engine.as_ref(), &bytes));
            let text = golden::render(&report.lines());
            let golden_name = case.golden_name_for(engine.name());
            if let Err(diff) = golden::compare(&golden_name, &text) {
                problems.push(format!("{}/{} × {}: {diff}", engine.name(), engine.tier(), case.name));
            }
            // A runtime with a golden file of its own is documented to differ: the others must
            // still agree with each other.
            if golden_name == case.golden_name {
                texts.push((format!("{}/{}", engine.name(), engine.tier()), text));
            }
            if let Some(problem) = canaries_disturbed(engine.as_ref(), &suite, &bytes) {
                problems.push(format!("{}/{} × {}: {problem}", engine.name(), engine.tier(), case.name));
            }
        }
        if let Some((first, rest)) = texts.split_first()
            && let Some((other, text)) = rest.iter().find(|(_, t)| *t != first.1)
        {
            problems.push(format!(
                "{}: {} and {other} disagree\n--- {}\n{}--- {other}\n{text}",
                case.name, first.0, first.0, first.1
            ));
        }
    }
    if !not_run.is_empty() {
        println!("not run (only a limit stops them that these runtimes cannot enforce):\n  {}", not_run.join("\n  "));
    }
    // A runtime without fuel metering refuses a fuel limit rather than ignoring it, and one that
    // cannot be stopped by the clock a timeout.
    for runtime in runtimes::selected() {
        let lacks_fuel = suite.limits.fuel.is_some() && !runtime.meters_fuel;
        let lacks_deadline = suite.limits.timeout.is_some() && !runtime.stops_on_deadline;
        if !(lacks_fuel || lacks_deadline) {
            continue;
        }
        let refused = runtime.engine_exactly(&Config::new(suite.limits.clone()));
        if !matches!(&refused, Err(f) if matches!(f.fault, harness::Fault::Setup(_))) {
            problems.push(format!("{}: a limit it cannot enforce must be refused with a setup error", runtime.name));
        }
    }
    // Faults leave the engines usable.
    for engine in &engines {
        let report = engine.run(guest_wasm::GUEST_WASM, "hello", &[]);
        if report.outcome != Ok(Some(4567)) {
            problems.push(format!(
                "{}/{}: the demo fails after the fixtures: {:?}",
                engine.name(),
                engine.tier(),
                report.outcome
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The timeout is one budget per instance: once an instance has run past its deadline, every
/// later call on it fails with `trap.timeout` at once, even one that would return quickly, on
/// every tier of every runtime that stops on a deadline.
#[test]
fn a_call_after_the_deadline_fails_at_once_on_every_runtime_that_stops_on_one() {
    let limits = harness::Limits { timeout: Some(golden::DEADLINE_SUITE_TIMEOUT), ..harness::Limits::unmetered() };
    let module = r#"(module (memory (export "memory") 1)
        (func (export "spin") (loop $forever (br $forever)))
        (func (export "quick") (result i32) (i32.const 1)))"#;
    let timeout = Err(harness::Fault::Trap(harness::Trap::Timeout));
    let mut problems = Vec::new();
    for tier in all_tiers(&Config::new(limits)) {
        let label = tier.label();
        let engine = tier.engine.unwrap_or_else(|f| panic!("{label}: {f}"));
        if !engine.stops_on_deadline() {
            continue;
        }
        let loaded = engine.load_module(module.as_bytes()).unwrap_or_else(|f| panic!("{label}: {f}"));
        let (first, after) = engine.run_then(&loaded, "spin", None, "quick");
        let first = first.outcome.map_err(|f| f.fault);
        let after = after.map_err(|f| f.fault);
        if first != timeout || after != timeout {
            problems.push(format!("{label}: spin ended with {first:?}, the quick call after it with {after:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
