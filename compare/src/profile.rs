//! `compare --profile OPERATION --tier RUNTIME/TIER --iterations N`: one operation of the report,
//! repeated on one tier and nothing else, for a profiler to look at (README, Where a request's
//! time goes).
//!
//! The process sets up the engine, compiles the guest and runs the operation once (the warm-up),
//! then runs it `N` times. What a profiler counts over the whole process includes the set-up, so
//! a figure per operation is the difference of two runs, `N` and `0` iterations, divided by `N`:
//!
//! ```text
//! perf stat -e page-faults,task-clock target/release/compare --profile request-cycle --tier wasmtime/pooling --iterations 10000
//! valgrind --tool=callgrind target/release/compare --profile call16 --tier wasmi/eager --iterations 2000
//! ```

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::ValueEnum;
use harness::Sink;

use crate::payload::text_of_size;

/// An operation of the report that `--profile` repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Operation {
    /// `instantiate`: instantiate the guest and drop the instance.
    Instantiate,
    /// `request cycle`: instantiate, call `handle_echo` with 1 KiB in and out, drop.
    RequestCycle,
    /// `call with 16 B in and out`: `handle_echo` on one instance, kept.
    Call16,
    /// `call with 64 KiB in and out`: `handle_echo` on one instance, kept.
    Call64k,
}

impl Operation {
    /// The request's size, for the operations that call the guest with one.
    const fn input_size(self) -> usize {
        match self {
            Operation::Instantiate => 0,
            Operation::RequestCycle => 1024,
            Operation::Call16 => 16,
            Operation::Call64k => 64 * 1024,
        }
    }
}

/// Runs `operation` once, then `iterations` times, on the tier `label` (`runtime/tier`), with the
/// comparison's configuration; prints the time per operation to stderr (a profiler's own
/// slowdown included: not a measurement, a check that the loop ran).
pub(crate) fn run(operation: Operation, label: &str, config: &harness::Config, iterations: u64) -> Result<()> {
    let (runtime, tier) = label.split_once('/').context("--tier takes RUNTIME/TIER, as the report's columns")?;
    let tier = runtimes::one_tier(runtime, tier, config).with_context(|| format!("no tier {label} in this build"))?;
    let e = |f: harness::Failure| anyhow::anyhow!("{label}: {f}");
    let engine = tier.engine.map_err(e)?;
    let module = engine.load_module(engine.default_guest()).map_err(e)?;
    let input = text_of_size(operation.input_size()).into_bytes();
    let check = |response: common::Event<'static>| -> Result<()> {
        ensure!(matches!(&response, common::Event::Str(s) if s.len() == input.len()), "handle_echo misbehaves");
        black_box(response);
        Ok(())
    };

    let mut kept = engine.instantiate_module(&module, Sink::Discard).map_err(e)?;
    let mut once = || -> Result<()> {
        match operation {
            Operation::Instantiate => drop(black_box(engine.instantiate_module(&module, Sink::Discard).map_err(e)?)),
            Operation::RequestCycle => {
                let mut instance = engine.instantiate_module(&module, Sink::Discard).map_err(e)?;
                check(instance.call_with_input("handle_echo", black_box(&input)).map_err(e)?)?;
            }
            Operation::Call16 | Operation::Call64k => {
                check(kept.call_with_input("handle_echo", black_box(&input)).map_err(e)?)?;
            }
        }
        Ok(())
    };
    once()?;
    let start = Instant::now();
    for _ in 0..iterations {
        once()?;
    }
    if iterations > 0 {
        let per = start.elapsed().as_secs_f64() / iterations as f64;
        eprintln!("{label} {operation:?}: {iterations} iterations, {:.3} µs each", per * 1e6);
    }
    Ok(())
}
