//! What is specific to dlr: the limits the host adds to each module (fuel shared with the
//! allocator called from a host call, `memory.grow` guarded, the start function moved), host
//! functions that return control to the host, and the timeout in fuel slices. (Deep recursion on
//! a 2 MiB native stack: the conformance suite's `limits`, on every runtime.)

use std::time::{Duration, Instant};

use harness::{Config, Engine, Fault, Limits, MIB, Trap};
use host_dlr::Dlr;

fn engine(limits: Limits) -> Dlr {
    Dlr::new(&Config::new(limits)).expect("dlr")
}

fn with_fuel() -> Dlr {
    engine(Limits { fuel: Some(1_000_000), ..Limits::default() })
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests").join(path)).expect("fixture")
}

/// Runs `body` on a thread with a 2 MiB native stack, as the conformance suite does.
fn on_small_stack<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 * MIB).spawn(body).expect("thread").join().expect("no panic")
}

/// Runs the export `run` of `wat` on dlr with `timeout` (and no fuel limit), on a small stack:
/// the report and how long the run took.
fn run_with_timeout(timeout: Duration, wat: &'static [u8]) -> (harness::Report, Duration) {
    let limits = Limits { fuel: None, timeout: Some(timeout), ..Limits::default() };
    let started = Instant::now();
    let report = on_small_stack(move || harness::run(&engine(limits), wat, "run", &[]));
    (report, started.elapsed())
}

fn events(report: &harness::Report) -> Vec<String> {
    report.events.iter().map(ToString::to_string).collect()
}

/// The guest's allocator, called from inside `answer_str_alloc` while the outer call waits in
/// dlr's `HostResumable`, draws on the instance's fuel (a counter in the module).
#[test]
fn an_allocator_looping_forever_runs_out_of_fuel() {
    let bytes = fixture("calls/alloc_endless_loop.wat");
    let report = on_small_stack(move || harness::run_with_input(&with_fuel(), &bytes, "handle", b"Wasm"));
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::OutOfFuel));
}

/// dlr 0.2.0 panics on `memory.grow(-1)` (its new size overflows 32 bits): the guard added to the
/// module answers -1 first, as it does for any request past the limit.
#[test]
fn memory_grow_past_the_limit_returns_minus_one() {
    let report = harness::run(
        // A limit of 4 pages.
        &engine(Limits { max_memory_bytes: 4 * 65_536, ..Limits::default() }),
        br#"(module
          (import "env" "log_int" (func $log_int (param i32)))
          (memory (export "memory") 1)
          (func (export "run")
            (call $log_int (memory.grow (i32.const -1)))
            (call $log_int (memory.grow (i32.const 65536)))
            (call $log_int (memory.grow (i32.const 4)))
            (call $log_int (memory.grow (i32.const 3)))
            (call $log_int (memory.grow (i32.const 0)))
            (call $log_int (memory.size))))"#,
        "run",
        &[],
    );
    assert_eq!(events(&report), ["int -1", "int -1", "int -1", "int 1", "int 4", "int 4"]);
    assert_eq!(report.outcome, Ok(None));
}

/// dlr cannot call an import from a start function it runs inside instantiation; the host runs
/// the start function itself, after instantiation, like any call (before the memory is bound:
/// `log_str` there fails as on every host).
#[test]
fn a_start_function_calls_imports() {
    let report = harness::run(
        &with_fuel(),
        br#"(module
          (import "env" "log_int" (func $log_int (param i32)))
          (memory (export "memory") 1)
          (global $g (mut i32) (i32.const 0))
          (func $start (call $log_int (i32.const 7)) (global.set $g (i32.const 8)))
          (start $start)
          (func (export "run") (result i32) (global.get $g)))"#,
        "run",
        &[],
    );
    assert_eq!(events(&report), ["int 7"]);
    assert_eq!(report.outcome, Ok(Some(8)));
}

/// The start function's export and the fuel counter are not part of the module's shape.
#[test]
fn the_added_exports_are_hidden() {
    let engine = with_fuel();
    let wasm = br#"(module (memory (export "memory") 1) (func $s) (start $s) (func (export "run")))"#;
    let (_, shape) = engine.load(&harness::module_bytes(wasm).unwrap()).expect("loads");
    let names: Vec<&str> = shape.exports().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["memory", "run"]);
}

/// A timeout stops a guest looping inside the allocator that a host call called (every call into
/// the guest runs in slices, the clock read between them).
#[test]
fn a_timeout_stops_the_allocator_of_a_host_call() {
    let bytes = fixture("calls/alloc_endless_loop.wat");
    let limits = Limits { fuel: None, timeout: Some(Duration::from_millis(100)), ..Limits::default() };
    let started = Instant::now();
    let report = on_small_stack(move || harness::run_with_input(&engine(limits), &bytes, "handle", b"Wasm"));
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5), "stopped late: {:?}", started.elapsed());
}

/// With a timeout, dlr's fuel measures out the slices between two looks at the clock, and charges
/// bulk memory instructions per byte: a loop of `memory.fill`s over 16 MiB each is stopped soon
/// after its deadline, not after a slice of 100,000 of them.
#[test]
fn a_timeout_stops_a_loop_of_bulk_memory_operations() {
    let (report, elapsed) = run_with_timeout(
        Duration::from_millis(100),
        br#"(module
          (memory (export "memory") 256)
          (func (export "run")
            (loop $forever
              (memory.fill (i32.const 0) (i32.const 7) (i32.const 16777216))
              (memory.copy (i32.const 1) (i32.const 0) (i32.const 16777215))
              (br $forever))))"#,
    );
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::Timeout));
    assert!(elapsed < Duration::from_secs(5), "stopped late: {elapsed:?}");
}

/// An instruction that costs more than a slice (a `memory.fill` of 1 MiB: a unit per byte) runs
/// once the slices add up to its cost: dlr reports what it needs beyond the fuel left, not its
/// whole cost. (Giving it only that livelocked the call until its deadline: any healthy guest
/// filling or copying more than 100,000 bytes under a timeout failed with `trap.timeout`.)
#[test]
fn an_instruction_costing_more_than_a_slice_runs_under_a_timeout() {
    let (report, elapsed) = run_with_timeout(
        Duration::from_secs(30),
        br#"(module
          (memory (export "memory") 17)
          (func (export "run") (result i32)
            (local $i i32)
            ;; Some fuel of the first slice used, so that the fill finds a partial slice.
            (loop $spend
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $spend (i32.lt_u (local.get $i) (i32.const 1000))))
            (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))
            (i32.load8_u (i32.const 1048575))))"#,
    );
    assert_eq!(report.outcome.expect("the call returns"), Some(7));
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

/// dlr refuses a second memory as invalid; this host refuses it at instantiation, as over its
/// limits, as every other host does.
#[test]
fn a_second_memory_is_refused_as_a_limit() {
    let report = harness::run(
        &with_fuel(),
        br#"(module (memory (export "memory") 1) (memory 1) (func (export "run")))"#,
        "run",
        &[],
    );
    assert_eq!(report.outcome.unwrap_err().fault, Fault::instantiation_limit());
}

/// A memory that grows inside the allocator is borrowed again after it.
#[test]
fn memory_grown_by_the_allocator_is_borrowed_again() {
    let report = harness::run(
        &with_fuel(),
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
    assert_eq!(events(&report), ["str \"Hello, Wasm!\""], "{report:?}");
    assert_eq!(report.outcome, Ok(None));
}

/// The built-in guest runs its demo, and its scenarios run on dlr as written (WebAssembly 2.0:
/// bulk memory, reference-types encodings, multi-value).
#[test]
fn the_guest_runs() {
    let report = on_small_stack(|| harness::run(&with_fuel(), guest_wasm::GUEST_WASM, "hello", &[]));
    assert_eq!(report.outcome, Ok(Some(4567)));
}
