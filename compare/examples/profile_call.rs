//! Runs one benchmark loop of `compare` (`compare/guest/bench.wat`) on one runtime, so that a
//! profiler can attribute a host call's cost: run it twice with different call counts under
//! `valgrind --tool=callgrind` and divide the difference by the difference in calls.
//!
//! ```text
//! cargo build --release -p compare --example profile_call
//! valgrind --tool=callgrind target/release/examples/profile_call wasmer loop_log_cd 100000
//! callgrind_annotate --inclusive=yes callgrind.out.PID | head -40
//! ```
//!
//! Arguments: RUNTIME (a name from `cargo run -p runtimes -- list`), EXPORT (`loop_log_cd`,
//! `loop_noop_i32_i32`, …), CALLS. The payload at offset 1024 is a 40-byte `CD`.

use anyhow::{Context, Result, anyhow};
use common::CD;
use harness::{Config, Limits, Sink};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runtime, export, calls] = args.as_slice() else {
        anyhow::bail!("usage: profile_call RUNTIME EXPORT CALLS");
    };
    let calls: i32 = calls.parse().context("CALLS")?;

    // Step 1: the runtime's default tier, unmetered, with the benchmark imports (as `compare`).
    let runtime = runtimes::find(runtime).with_context(|| format!("no runtime {runtime} in this build"))?;
    let config = Config { limits: Limits::unmetered(), tier: None, bench_imports: true, ..Config::default() };
    let engine = runtime.engine(&config).map_err(|f| anyhow!("{f}"))?;

    // Step 2: the benchmark loops, one instance, the CD payload written once.
    let module = engine.load_module(include_str!("../guest/bench.wat").as_bytes()).map_err(|f| anyhow!("{f}"))?;
    let mut instance = engine.instantiate_module(&module, Sink::Discard).map_err(|f| anyhow!("{f}"))?;
    let cd = CD::new(1234, "hello world").map_err(|e| anyhow!("{e}"))?;
    let payload = bytemuck::bytes_of(&cd.to_wire()).to_vec();
    instance.write_memory(1024, &payload).map_err(|f| anyhow!("{f}"))?;

    // Step 3: the loop, `calls` times.
    let len = i32::try_from(payload.len())?;
    instance.call(export, &[1024, len, calls]).map_err(|f| anyhow!("{export}: {f}"))?;
    println!("{} {export} × {calls}: {} events", engine.name(), instance.event_count());
    Ok(())
}
