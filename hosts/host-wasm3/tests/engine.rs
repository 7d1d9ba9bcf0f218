//! What is specific to wasm3: the fuel limit it refuses, the two lowerings of `memory.copy` and
//! `memory.fill`, and the memory moving under `memory.grow`. (Deep recursion on a 2 MiB native
//! stack: the conformance suite's `limits`, on every runtime.)

use harness::{Config, Engine, Fault, Limits, Trap};
use host_wasm3::Wasm3;

fn engine() -> Wasm3 {
    Wasm3::new(&Config::new(Limits::unmetered())).expect("wasm3 without fuel")
}

fn run(wat: &str) -> harness::Report {
    harness::run(&engine(), wat.as_bytes(), "run", &[])
}

#[test]
fn a_fuel_limit_is_refused() {
    let failure = Wasm3::new(&Config::default()).err().expect("fuel refused");
    assert!(matches!(failure.fault, Fault::Setup(_)), "{failure}");
}

/// Overlapping copies both ways, a fill, then a copy out of bounds (traps, writes nothing).
const BULK_MEMORY: &str = r#"(module
    (import "env" "log_int" (func $log_int (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "0123456789abcdefghij")
    (func $twice (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
    (table 1 funcref)
    (elem (i32.const 0) $twice)
    (func (export "run")
      (memory.copy (i32.const 2) (i32.const 0) (i32.const 17))   ;; backwards: "01" + "0123456789abcdefg"
      (call $log_int (i32.load8_u (i32.const 18)))              ;; 'g'
      (call $log_int (i32.load8_u (i32.const 2)))               ;; '0'
      (memory.copy (i32.const 0) (i32.const 3) (i32.const 16))  ;; forwards
      (call $log_int (i32.load8_u (i32.const 0)))               ;; '1'
      (call $log_int (i32.load8_u (i32.const 15)))              ;; 'g'
      (memory.fill (i32.const 100) (i32.const 0x17a) (i32.const 11))
      (call $log_int (i32.load (i32.const 107)))                ;; "zzzz"
      (call $log_int (i32.load8_u (i32.const 111)))             ;; 0
      (memory.fill (i32.const 65536) (i32.const 1) (i32.const 0)) ;; empty, at the end: fine
      (call $log_int (call $twice (i32.const 21)))              ;; functions renumbered: 42
      (call $log_int (call_indirect (param i32) (result i32) (i32.const 4) (i32.const 0)))  ;; 8
      (memory.copy (i32.const 0) (i32.const 65530) (i32.const 7))))"#;

const BULK_MEMORY_EVENTS: [&str; 8] =
    ["int 103", "int 48", "int 49", "int 103", "int 2054847098", "int 0", "int 42", "int 8"];

#[test]
fn memory_copy_and_fill_are_lowered_to_host_functions_with_their_semantics() {
    let report = run(BULK_MEMORY);
    let events: Vec<String> = report.events.iter().map(ToString::to_string).collect();
    assert_eq!(events, BULK_MEMORY_EVENTS);
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::MemoryOutOfBounds));
}

#[test]
fn memory_copy_and_fill_lowered_for_embedding_have_the_same_semantics() {
    // `lower_for_wasm3` appends WebAssembly 1.0 functions instead; the module it returns needs no
    // lowering, so the engine runs it as it is.
    let wasm = harness::module_bytes(BULK_MEMORY.as_bytes()).expect("valid WAT");
    let lowered = host_wasm3::lower_for_wasm3(&wasm).expect("valid").expect("lowered");
    let report = harness::run(&engine(), &lowered, "run", &[]);
    let events: Vec<String> = report.events.iter().map(ToString::to_string).collect();
    assert_eq!(events, BULK_MEMORY_EVENTS);
    assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::MemoryOutOfBounds));
}

#[test]
fn a_start_function_may_copy_memory() {
    // The start function runs before the host's imports may touch memory; the lowered
    // instructions are the guest's own, and work there too.
    let report = run(r#"(module
        (import "env" "log_int" (func $log_int (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "a")
        (func $start (memory.copy (i32.const 1) (i32.const 0) (i32.const 1)))
        (start $start)
        (func (export "run") (call $log_int (i32.load8_u (i32.const 1)))))"#);
    let events: Vec<String> = report.events.iter().map(ToString::to_string).collect();
    assert_eq!(events, ["int 97"]);
    assert_eq!(report.outcome, Ok(None));
}

#[test]
fn a_grown_memory_is_looked_up_again() {
    // Grows by 8 pages (wasm3 reallocates, and so moves, the memory), then logs from the new end.
    let report = run(r#"(module
        (import "env" "log_str" (func $log_str (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "run")
          (drop (memory.grow (i32.const 8)))
          (i32.store8 (i32.const 589823) (i32.const 0x42))
          (call $log_str (i32.const 589823) (i32.const 1))))"#);
    let events: Vec<String> = report.events.iter().map(ToString::to_string).collect();
    assert_eq!(events, ["str \"B\""]);
    assert_eq!(report.outcome, Ok(None));
}

#[test]
fn the_guest_runs() {
    let engine = engine();
    let report = harness::run(&engine, guest_wasm::GUEST_WASM, "hello", &[]);
    assert_eq!(report.outcome, Ok(Some(4567)));
}
