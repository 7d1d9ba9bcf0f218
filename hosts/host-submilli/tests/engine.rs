//! What is specific to submilli: fuel inside a host call, and the store limits it enforces at
//! instantiation. (Deep recursion on a 2 MiB native stack: the conformance suite's `limits`, on
//! every runtime.)

use harness::{Config, Engine, Fault, Limits, Trap};
use host_submilli::Submilli;

fn engine() -> Submilli {
    Submilli::new(&Config::new(Limits { fuel: Some(1_000_000), ..Limits::default() })).expect("submilli")
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests").join(path)).expect("fixture")
}

/// The guest's allocator, called from inside `answer_str_alloc`, draws on the instance's fuel.
#[test]
fn an_allocator_looping_forever_runs_out_of_fuel() {
    let bytes = fixture("calls/alloc_endless_loop.wat");
    let report = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || harness::run_with_input(&engine(), &bytes, "handle", b"Wasm"))
        .expect("thread")
        .join()
        .expect("no panic");
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::OutOfFuel));
}

/// `StoreLimits` allows one memory: a second one is refused at instantiation as a limit.
#[test]
fn a_second_memory_is_refused() {
    let report = harness::run(
        &engine(),
        br#"(module (memory (export "memory") 1) (memory 1) (func (export "run")))"#,
        "run",
        &[],
    );
    assert_eq!(report.outcome.unwrap_err().fault, Fault::instantiation_limit());
}

/// A memory that grows (and so may move) inside the allocator is looked up again after it.
#[test]
fn memory_grown_by_the_allocator_is_looked_up_again() {
    let report = harness::run(
        &engine(),
        br#"(module
          (import "env" "answer_str_alloc" (func $answer (param i32 i32 i32)))
          (import "env" "log_str" (func $log_str (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "Wasm")
          (func (export "guest_alloc") (param i32 i32) (result i32)
            (drop (memory.grow (i32.const 4)))
            (i32.const 200000))
          (func (export "run")
            (call $answer (i32.const 16) (i32.const 4) (i32.const 64))
            (call $log_str (i32.load (i32.const 64)) (i32.load (i32.const 68)))))"#,
        "run",
        &[],
    );
    let events: Vec<String> = report.events.iter().map(ToString::to_string).collect();
    assert_eq!(events, ["str \"Hello, Wasm!\""], "{report:?}");
    assert_eq!(report.outcome, Ok(None));
}

/// A module loaded once runs the same in every engine generation (a new one starts every
/// [`host_submilli::STORES_PER_ENGINE`] stores, and the module is compiled anew for it), and a
/// module loaded in an old generation still runs in the new one.
#[test]
fn modules_run_the_same_across_engine_generations() {
    let engine = engine();
    let (module, shape) = engine.load(guest_wasm::GUEST_WASM).expect("the guest loads");
    let first = harness::run_module(&engine, &module, &shape, "hello", &[]).lines();
    assert_eq!(first.last().map(String::as_str), Some("returned 4567"));
    let runs = 2 * host_submilli::STORES_PER_ENGINE + 1;
    for run in 1..runs {
        let lines = harness::run_module(&engine, &module, &shape, "hello", &[]).lines();
        assert_eq!(lines, first, "run {run}");
    }
    // A module loaded in an earlier generation, first instantiated in a later one.
    let (late, late_shape) = engine.load(guest_wasm::GUEST_WASM).expect("the guest loads");
    for _ in 0..host_submilli::STORES_PER_ENGINE {
        harness::run_module(&engine, &module, &shape, "hello", &[]);
    }
    assert_eq!(harness::run_module(&engine, &late, &late_shape, "hello", &[]).lines(), first);
}
