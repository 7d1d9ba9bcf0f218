//! Load and leak check: runs the demo from 8 threads × 1,000 times per runtime (engine and
//! module shared, one store per instance), then 10,000 instantiate-run-trap cycles per runtime,
//! and reports throughput and resident memory (RSS) before and after.
//!
//! ```text
//! cargo run --release -p conformance --example load
//! ```
//!
//! Throughput is shown as a ratio to the fastest runtime of the same run; absolute figures drift
//! on a shared machine.

use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use conformance::engines;
use harness::{Fault, Limits, Trap};

const THREADS: usize = 8;
const RUNS_PER_THREAD: usize = 1_000;
const CYCLES: usize = 10_000;
const TRAP_AFTER_LOGGING: &str = include_str!("../cases/trap_after_logging.wat");

/// The process's resident set size in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<()> {
    let engines = engines(&Limits::default()).context("engines")?;
    let expected = engines[0].run(guest_wasm::GUEST_WASM, "hello", &[]).lines();
    println!(
        "{:<10} {:>12} {:>10} {:>14} {:>14} {:>14}",
        "runtime", "runs/s", "ratio", "RSS before", "RSS after", "RSS growth"
    );
    let mut rows = Vec::new();
    for engine in &engines {
        // Step 1: concurrent instances.
        let module = engine.load_module(guest_wasm::GUEST_WASM).context("guest")?;
        let (e, m, expected) = (engine.as_ref(), &module, &expected);
        let start = Instant::now();
        let bad: usize = thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(move || {
                        (0..RUNS_PER_THREAD)
                            .filter(|_| e.run_calls(m, &[], "hello", &[vec![]]).lines() != *expected)
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or(usize::MAX)).sum()
        });
        let runs_per_second = (THREADS * RUNS_PER_THREAD) as f64 / start.elapsed().as_secs_f64();
        ensure!(bad == 0, "{}: {bad} runs printed something else", engine.name());

        // Step 2: instantiate-run-trap cycles, with RSS measured after a warm-up.
        let trap = engine.load_module(TRAP_AFTER_LOGGING.as_bytes()).context("fixture")?;
        let cycle = || {
            let report = e.run_calls(&trap, &[], "run", &[vec![]]);
            report.outcome.map_err(|f| f.fault) == Err(Fault::Trap(Trap::Unreachable)) && report.events.len() == 2
        };
        ensure!((0..CYCLES / 10).all(|_| cycle()), "{}: a warm-up cycle went wrong", engine.name());
        let before = rss_kib().unwrap_or(0);
        ensure!((0..CYCLES).all(|_| cycle()), "{}: a cycle went wrong", engine.name());
        let after = rss_kib().unwrap_or(0);
        rows.push((engine.name(), runs_per_second, before, after));
    }
    let fastest = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    for (name, rate, before, after) in rows {
        println!(
            "{name:<10} {rate:>12.0} {:>9.2}x {:>11} KiB {:>11} KiB {:>10} KiB",
            fastest / rate,
            before,
            after,
            after.cast_signed() - before.cast_signed()
        );
    }
    println!("{THREADS} threads × {RUNS_PER_THREAD} runs of `hello` each; {CYCLES} instantiate-run-trap cycles each.");
    Ok(())
}
