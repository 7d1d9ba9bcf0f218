//! Load: many instances at once from several threads (one engine and one compiled module per
//! runtime, shared; one store per instance), every output checked; and many
//! instantiate-run-trap cycles in one process, every fault the expected one.
//!
//! The default sizes keep the test run short. `LOAD_FULL=1` runs the sizes of the issue
//! (8 threads × 1,000 runs, 10,000 cycles); `cargo run --release -p conformance --example load`
//! runs them too and reports throughput and resident memory.

use std::thread;

use conformance::engines;
use harness::{Fault, Limits, Trap};

fn full() -> bool {
    std::env::var_os("LOAD_FULL").is_some_and(|v| v != "0")
}

const TRAP_AFTER_LOGGING: &str = include_str!("../cases/trap_after_logging.wat");

#[test]
fn concurrent_instances_all_print_the_demo() {
    let (threads, runs) = if full() { (8, 1_000) } else { (4, 50) };
    let engines = engines(&Limits::default()).expect("engines");
    let expected = engines[0].run(guest_wasm::GUEST_WASM, "hello", &[]).lines();
    for engine in &engines {
        let module = engine.load_module(guest_wasm::GUEST_WASM).expect("guest loads");
        let (engine, module) = (engine.as_ref(), &module);
        let bad = thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        (0..runs)
                            .filter(|_| engine.run_calls(module, &[], "hello", &[vec![]]).lines() != expected)
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("worker")).sum::<usize>()
        });
        assert_eq!(bad, 0, "{}: {bad} of {} runs printed something else", engine.name(), threads * runs);
    }
}

#[test]
fn repeated_instantiate_run_trap_cycles_keep_working() {
    let cycles = if full() { 10_000 } else { 500 };
    for engine in engines(&Limits::default()).expect("engines") {
        let module = engine.load_module(TRAP_AFTER_LOGGING.as_bytes()).expect("fixture loads");
        for cycle in 0..cycles {
            let report = engine.run_calls(&module, &[], "run", &[vec![]]);
            assert_eq!(report.events.len(), 2, "{} cycle {cycle}", engine.name());
            let fault = report.outcome.map_err(|f| f.fault);
            assert_eq!(fault, Err(Fault::Trap(Trap::Unreachable)), "{} cycle {cycle}", engine.name());
        }
    }
}
