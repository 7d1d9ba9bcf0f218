//! Under a small address space (RLIMIT_AS, what `ulimit -v` sets in some containers, shared hosts
//! and CI sandboxes), every runtime runs the demo: on its default tier, or on the tier its host
//! names for it ([`runtimes::Runtime::small_address_space_tier`]). A tier that needs more address
//! space than the process may have fails with `host.resources` (the host's failure), never with
//! `limit` (which blames the module).
//!
//! Each run is the `runtimes` binary in a child process started by `bash -c 'ulimit -v ...; exec'`,
//! so the limit applies to that process alone.

use std::process::{Command, Output};

/// The address-space limit, in KiB: about 1 GB (`ulimit -v 1000000`).
const LIMIT_KIB: u64 = 1_000_000;

fn run_limited(args: &[&str]) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_runtimes"))
        .args(args)
        .output()
        .expect("bash runs")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn every_runtime_runs_the_demo_under_ulimit_v() {
    let expected = golden::read("hello.txt");
    let mut problems = Vec::new();
    for runtime in runtimes::selected() {
        let mut args = vec![runtime.name];
        if let Some(tier) = runtime.small_address_space_tier {
            args.extend(["--tier", tier]);
        }
        let output = run_limited(&args);
        if !output.status.success() || String::from_utf8_lossy(&output.stdout) != expected {
            problems.push(format!("{} under ulimit -v {LIMIT_KIB}: {}", args.join(" "), describe(&output)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_tier_needing_more_address_space_fails_with_host_resources() {
    let mut checked = 0;
    for runtime in runtimes::selected().iter().filter(|r| r.small_address_space_tier.is_some()) {
        // The default tier reserves 4 GiB and more per linear memory: more than the process has.
        let output = run_limited(&[runtime.name, "--tier", runtime.tiers[0]]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        assert!(last.starts_with("failed host.resources: "), "{}: {}", runtime.name, describe(&output));
        assert_eq!(output.status.code(), Some(1), "{}: {}", runtime.name, describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{}: one error line: {}", runtime.name, describe(&output));
        checked += 1;
    }
    let wasmtime_and_wasmer = runtimes::selected().iter().filter(|r| ["wasmtime", "wasmer"].contains(&r.name)).count();
    assert!(checked >= wasmtime_and_wasmer, "wasmtime and wasmer name a tier for a small address space");
}
