//! What is specific to Silverfir-nano, on every tier it offers: the allocator called by the guest itself
//! between the two halves of `answer_*_alloc` (metered, its imports refused, memory it grows looked
//! up again, the instance usable after it trapped), the start function metered, and the limits
//! enforced at instantiation, segments out of bounds, deep recursion on a small native stack.

use harness::{Config, Engine, Fault, HostErrorKind, Instance, Limits, Sink, Trap};
use host_silverfir::Silverfir;

fn engines(limits: &Limits) -> Vec<Silverfir> {
    <Silverfir as Engine>::TIERS
        .iter()
        .map(|tier| {
            let config = Config { tier: Some((*tier).to_owned()), ..Config::new(limits.clone()) };
            Silverfir::new(&config).expect("silverfir")
        })
        .collect()
}

fn metered() -> Vec<Silverfir> {
    engines(&Limits { fuel: Some(1_000_000), ..Limits::default() })
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests").join(path)).expect("fixture")
}

/// Runs `body` on a thread with a 2 MiB stack, as the suites run fixtures.
fn on_small_stack<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(body).expect("thread").join().expect("no panic")
}

/// The guest's allocator, called between the halves of `answer_str_alloc`, draws on the
/// instance's fuel.
#[test]
fn an_allocator_looping_forever_runs_out_of_fuel() {
    let bytes = fixture("calls/alloc_endless_loop.wat");
    for engine in metered() {
        let bytes = bytes.clone();
        let report = on_small_stack(move || harness::run_with_input(&engine, &bytes, "handle", b"Wasm"));
        assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::OutOfFuel));
    }
}

/// A start function is run metered, after instantiation: one that never ends runs out of fuel.
#[test]
fn a_start_function_looping_forever_runs_out_of_fuel() {
    let module = br#"(module (memory (export "memory") 1) (func $spin (loop $l (br $l))) (start $spin)
        (func (export "run")))"#;
    for engine in metered() {
        let report = harness::run(&engine, module, "run", &[]);
        assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::OutOfFuel), "{}", engine.tier());
    }
}

/// One memory per instance, as `StoreLimits` allows on wasmtime: a second one is refused at
/// instantiation as a limit.
#[test]
fn a_second_memory_is_refused() {
    for engine in metered() {
        let report = harness::run(
            &engine,
            br#"(module (memory (export "memory") 1) (memory 1) (func (export "run")))"#,
            "run",
            &[],
        );
        assert_eq!(report.outcome.unwrap_err().fault, Fault::instantiation_limit());
    }
}

/// A memory that grows (and so may move) inside the allocator is looked up again after it.
#[test]
fn memory_grown_by_the_allocator_is_looked_up_again() {
    for engine in metered() {
        let report = harness::run(
            &engine,
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
}

/// The allocator reached through a table (`call_indirect` of the import) and through an export of
/// the import: both go through the two halves, and an allocator that traps leaves the instance
/// usable, its imports allowed again.
#[test]
fn every_way_to_the_import_goes_through_the_halves_and_a_trap_in_between_is_cleared() {
    let module = br#"(module
      (import "env" "answer_str_alloc" (func $answer (param i32 i32 i32)))
      (import "env" "log_str" (func $log_str (param i32 i32)))
      (import "env" "log_int" (func $log_int (param i32)))
      (type $answer_type (func (param i32 i32 i32)))
      (memory (export "memory") 1)
      (table 1 funcref) (elem (i32.const 0) $answer)
      (data (i32.const 16) "Wasm")
      (global $trap (mut i32) (i32.const 0))
      (func (export "guest_alloc") (param i32 i32) (result i32)
        (if (global.get $trap) (then unreachable))
        (i32.const 1000))
      (export "answer" (func $answer))
      (func (export "indirect")
        (call_indirect (type $answer_type) (i32.const 16) (i32.const 4) (i32.const 64) (i32.const 0))
        (call $log_str (i32.load (i32.const 64)) (i32.load (i32.const 68))))
      (func (export "trapping")
        (global.set $trap (i32.const 1))
        (call $answer (i32.const 16) (i32.const 4) (i32.const 64)))
      (func (export "after")
        (global.set $trap (i32.const 0))
        (call $log_int (i32.const 7))))"#;
    for engine in metered() {
        let (loaded, shape) = engine.load(&harness::module_bytes(module).unwrap()).expect("loads");
        assert!(shape.function("answer").is_some_and(|(params, results)| params.len() == 3 && results.is_empty()));
        let mut instance = engine.instantiate(&loaded, Sink::Record).expect("instantiates");
        assert_eq!(instance.call("indirect", &[]), Ok(None));
        assert_eq!(instance.call("answer", &[16, 4, 64]), Ok(None));
        assert_eq!(instance.call("trapping", &[]).unwrap_err().fault, Fault::Trap(Trap::Unreachable));
        assert_eq!(instance.call("after", &[]), Ok(None), "{}: imports are allowed again", engine.tier());
        let events: Vec<String> = instance.take_events().iter().map(ToString::to_string).collect();
        assert_eq!(events, ["str \"Hello, Wasm!\"", "int 7"]);
    }
}

/// An import called from the allocator is refused (`host.reentered`), naming both imports.
#[test]
fn an_import_called_from_the_allocator_is_refused() {
    let bytes = fixture("cases/alloc_calls_an_import.wat");
    for engine in metered() {
        let report = harness::run(&engine, &bytes, "run", &[]);
        let Fault::Host(error) = report.outcome.unwrap_err().fault else { panic!("not a host error") };
        assert_eq!(error.import, common::Import::LogInt);
        assert_eq!(error.kind, HostErrorKind::Reentered { during: common::Import::AnswerStrAlloc });
    }
}

/// Deep recursion ends in a stack overflow on a 2 MiB native stack (the suites' fixtures run on
/// one), and the engine runs the demo after it.
#[test]
fn deep_recursion_traps_on_a_small_native_stack() {
    for name in ["limits/deep_recursion.wat", "limits/deep_recursion_with_locals.wat"] {
        let bytes = fixture(name);
        for engine in metered() {
            let bytes = bytes.clone();
            let (fault, demo) = on_small_stack(move || {
                let fault = harness::run(&engine, &bytes, "run", &[]).outcome.unwrap_err().fault;
                let demo = harness::run(&engine, guest_wasm::GUEST_WASM, "hello", &[]).lines();
                (fault, demo)
            });
            assert_eq!(fault, Fault::Trap(Trap::StackOverflow), "{name}");
            assert_eq!(demo.last().map(String::as_str), Some("returned 4567"));
        }
    }
}

/// The clock is read between two slices of fuel: a guest spinning forever, here inside its
/// allocator (between the halves of `answer_str_alloc`), ends in a timeout soon after its deadline,
/// with no fuel limit; a later call on the instance fails at once; and fuel still runs out first
/// when it is the smaller budget.
#[test]
fn a_spinning_guest_stops_at_its_deadline() {
    use std::time::{Duration, Instant};
    let timeout = Duration::from_millis(200);
    let spin = fixture("calls/alloc_endless_loop.wat");
    let limits = Limits { fuel: None, timeout: Some(timeout), ..Limits::default() };
    for engine in engines(&limits) {
        let (loaded, shape) = engine.load(&harness::module_bytes(&spin).unwrap()).expect("loads");
        let start = Instant::now();
        let mut instance = engine.instantiate(&loaded, Sink::Record).expect("instantiates");
        let outcome = instance.call_with_input("handle", b"Wasm");
        let elapsed = start.elapsed();
        assert_eq!(outcome.unwrap_err().fault, Fault::Trap(Trap::Timeout));
        assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(2), "stopped after {elapsed:?}");
        let again = Instant::now();
        assert_eq!(instance.call("handle", &[4]).unwrap_err().fault, Fault::Trap(Trap::Timeout));
        assert!(again.elapsed() < Duration::from_millis(50), "a call after the deadline must fail at once");
        let events: Vec<String> = instance.take_events().iter().map(ToString::to_string).collect();
        assert_eq!(events, ["int 1"]);
        drop(shape);
    }
    let both = Limits { fuel: Some(1_000_000), timeout: Some(Duration::from_secs(60)), ..Limits::default() };
    for engine in engines(&both) {
        let report = harness::run_with_input(&engine, &spin, "handle", b"Wasm");
        assert_eq!(report.outcome.unwrap_err().fault, Fault::Trap(Trap::OutOfFuel));
    }
}

/// The fuel handed out in slices adds up to the budget: a loop of a known cost finishes on just
/// enough fuel spread over many slices, and runs out on a little less.
#[test]
fn slices_add_up_to_the_budget() {
    // 1,000,000 iterations of a loop body: `loop`, then a run of 8 instructions ending in `br_if`.
    let module = br#"(module (memory (export "memory") 1)
      (func (export "run") (local i32)
        (loop $l (br_if $l (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (i32.const 1000000))))))"#;
    let cost = |fuel| {
        let engine = engines(&Limits { fuel: Some(fuel), ..Limits::default() }).remove(0);
        harness::run(&engine, module, "run", &[]).outcome
    };
    // Find the least fuel that finishes (the meter's exact count is its business), then check the
    // edge: many slices of 100,000 each.
    let (mut low, mut high) = (1_000_000u64, 20_000_000u64);
    assert_eq!(cost(high), Ok(None));
    while high - low > 1 {
        let mid = (low + high) / 2;
        if cost(mid).is_ok() { high = mid } else { low = mid }
    }
    assert!(high > 10 * host_silverfir::FUEL_SLICE, "{high}");
    assert_eq!(cost(high), Ok(None));
    assert_eq!(cost(high - 1).unwrap_err().fault, Fault::Trap(Trap::OutOfFuel));
}

/// A segment out of bounds fails the instantiation with the trap of its kind (the JIT reports it as an unlinkable module, "offset is negative" for an offset of 2^31 or more).
#[test]
fn segments_out_of_bounds_trap_at_instantiation() {
    let cases: [(&[u8], Trap); 5] = [
        (br#"(module (memory (export "memory") 1) (data (i32.const -662084232) "") (func (export "run")))"#, Trap::MemoryOutOfBounds),
        (br#"(module (memory (export "memory") 1) (data (i32.const 65535) "ab") (func (export "run")))"#, Trap::MemoryOutOfBounds),
        (
            br#"(module (memory (export "memory") 1) (global i32 (i32.const -1)) (table 1 funcref)
                (elem (global.get 0) func 0) (data (i32.const -5) "") (func (export "run")))"#,
            Trap::TableOutOfBounds,
        ),
        (br#"(module (memory (export "memory") 1) (table 1 funcref) (elem (i32.const 1) func 0) (func (export "run")))"#, Trap::TableOutOfBounds),
        (
            br#"(module (memory (export "memory") 1) (table 1 funcref) (elem (i32.const 0) func 0)
                (data (i32.const 0x80000000) "") (func (export "run")))"#,
            Trap::MemoryOutOfBounds,
        ),
    ];
    for engine in metered() {
        for (module, trap) in &cases {
            let report = harness::run(&engine, module, "run", &[]);
            assert_eq!(
                report.outcome.unwrap_err().fault,
                Fault::Trap(*trap),
                "{}: {}",
                engine.tier(),
                String::from_utf8_lossy(module)
            );
        }
    }
}

/// The JIT also uses the native stack, a little per nested wasm call, with no limit of its own: the
/// wasm stack is sized so that endless recursion of the smallest frames traps before it overflows
/// even a 512 KiB native stack (with Silverfir-nano's default 2 MiB, it aborted the process on 1 MiB).
#[test]
fn the_smallest_frames_fit_a_512_kib_native_stack() {
    let module = br#"(module (memory (export "memory") 1) (func $f (call $f)) (func (export "run") (call $f)))"#;
    for engine in metered() {
        let (loaded, shape) = engine.load(&harness::module_bytes(module).unwrap()).expect("loads");
        let fault = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || harness::run_module(&engine, &loaded, &shape, "run", &[]).outcome.unwrap_err().fault)
            .expect("thread")
            .join()
            .expect("no panic");
        assert_eq!(fault, Fault::Trap(Trap::StackOverflow));
    }
}
