//! Load: many instances at once from several threads (one engine and one compiled module per
//! runtime, shared; one store per instance), every output checked; and the soak with faults
//! ([`conformance::soak`]): on each runtime, good guests interleaved with every hostile fixture
//! and limit case, round-robin in one process, every output checked against its golden file.
//!
//! ```text
//! cargo test -p conformance --test conformance load::
//! LOAD_FULL=1 cargo test -p conformance --test conformance load::
//! ```
//!
//! The default sizes keep the test run short. `LOAD_FULL=1` runs the sizes of the issue
//! (8 threads × 1,000 runs, 10,000 soak runs per runtime);
//! `cargo run --release -p conformance --example load` runs them too and reports throughput and
//! resident memory.

use std::thread;

use conformance::soak::soaks;
use harness::Limits;
use runtimes::engines;

fn full() -> bool {
    std::env::var_os("LOAD_FULL").is_some_and(|v| v != "0")
}

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
fn soak_with_faults_every_outcome_as_its_golden_file() {
    let runs = if full() { 10_000 } else { 300 };
    let mut problems = Vec::new();
    for soak in soaks().expect("soak set-up") {
        assert!(soak.round_len() <= runs, "{}: {} runs do not cover {}", soak.runtime(), runs, soak.describe());
        let failed: Vec<String> = (0..runs).filter_map(|n| soak.run(n).err()).collect();
        if !failed.is_empty() {
            problems.push(format!(
                "{}: {} of {runs} runs differ; the first:\n{}",
                soak.runtime(),
                failed.len(),
                failed[0]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
