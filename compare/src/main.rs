//! `compare`: measures every runtime of the registry, at every compiler tier, on the same guest, in one
//! run, and reports the figures as ratios to a baseline taken side by side.
//!
//! ```text
//! cargo run --release -p compare              # stable medians (a few minutes)
//! cargo run --release -p compare -- --quick   # a first look (under a minute)
//! ```
//!
//! Prints a table (rows: measurements; columns: runtime/tier; cells: median ratio to
//! wasmtime/cranelift with min–max over the rounds, then the absolute median) and writes
//! `report.md`, `report.html` (the same as one self-contained page: sortable tables, plots whose
//! series can be hidden, values on hover), `report.json` (every raw sample, versions, machine,
//! date) and SVG plots to `compare-report/` (or `--out`). `--render report.json` writes them again
//! from an earlier run without measuring.
//!
//! How: one process; every round takes one sample of every measurement on every tier in turn
//! (interleaved round-robin), so a ratio compares samples taken seconds apart. Host-call costs
//! are loops of `n` calls inside the guest minus the same empty loop, divided by `n`; resident
//! memory is measured in a fresh process per tier.
#![forbid(unsafe_code)]

#[cfg(feature = "peers")]
mod extism;
mod html;
mod measure;
mod own;
mod payload;
mod plot;
mod profile;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use harness::{Config, Limits};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::measure::{Budget, Runner, Sampler, Stoppable, Stoppables, native_sample, specs};
use crate::report::{Column, Results, Row};

/// Measures every runtime of the registry (`runtimes::RUNTIMES`, every tier; `WASM_HOSTCALL_RUNTIMES`
/// narrows them, the baseline wasmtime/cranelift always in) side by side and reports ratios.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A first look: fewer rounds and shorter samples (under a minute).
    #[arg(long)]
    quick: bool,
    /// Rounds (samples per measurement and tier); overrides the mode's default.
    #[arg(long)]
    rounds: Option<usize>,
    /// Shortest duration of one timed loop, in microseconds; overrides the mode's default.
    #[arg(long, value_name = "US")]
    target_us: Option<u64>,
    /// The compute kernel's argument (primes below it are counted); overrides the default.
    #[arg(long, value_name = "N")]
    kernel_limit: Option<u32>,
    /// The real workloads' inputs are their full size (1 MiB to hash and to deflate, 100 KiB of
    /// JSON) divided by this; overrides the mode's default (1, and 16 with `--quick`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    workload_divisor: Option<u32>,
    /// Instances kept alive when measuring memory per instance.
    #[arg(long, value_name = "N")]
    memory_instances: Option<usize>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "compare-report")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Measure a module of your own (`.wasm` or `.wat`) instead of the built-in guest, on every
    /// runtime and tier: with `--invoke`, and `--args` or `--input`.
    #[arg(long, value_name = "FILE", requires = "invoke")]
    guest: Option<PathBuf>,
    /// With `--guest`: the export to call (`(i32...) -> i32?`, or a handler with `--input`).
    #[arg(long, value_name = "NAME", requires = "guest")]
    invoke: Option<String>,
    /// With `--guest`: the export's `i32` arguments, comma-separated.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', allow_hyphen_values = true, requires = "guest")]
    args: Vec<i32>,
    /// With `--guest`: call the export as a handler with this file as its request (README, calling
    /// the guest with data).
    #[arg(long, value_name = "FILE", requires = "guest")]
    input: Option<PathBuf>,
    /// With `--guest`: replace every function import outside the ABI by a function returning
    /// zeros (listed in the report).
    #[arg(long, requires = "guest")]
    stub_imports: bool,
    /// Measure nothing: write the report files (`report.md`, `report.html`, the plots) again from
    /// an earlier run's `report.json`, into `--out`.
    #[arg(long, value_name = "REPORT.JSON", conflicts_with_all = ["quick", "rounds", "target_us", "kernel_limit", "workload_divisor", "memory_instances"])]
    render: Option<PathBuf>,
    /// Measure nothing: repeat one operation on one tier (`--tier`), for a profiler such as
    /// `perf stat` or `valgrind --tool=callgrind` (README, Where a request's time goes).
    #[arg(long, value_name = "OPERATION", requires = "tier", conflicts_with_all = ["render", "guest"])]
    profile: Option<profile::Operation>,
    /// With `--profile`: the report column to profile, `runtime/tier` (as `wasmtime/pooling`).
    #[arg(long, value_name = "RUNTIME/TIER", requires = "profile")]
    tier: Option<String>,
    /// With `--profile`: how many times to repeat the operation after its warm-up run.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "profile")]
    iterations: u64,
    /// Internal: measure memory for one `runtime/tier` in this (fresh) process and print JSON.
    #[arg(long, hide = true, value_name = "RUNTIME/TIER")]
    memory_probe: Option<String>,
}

/// `(name, version, dependencies)` of every package in `Cargo.lock` (written by `build.rs`).
const LOCKED: &[(&str, &str, &[&str])] = include!(concat!(env!("OUT_DIR"), "/locked.rs"));

/// The locked version of `krate` (versions joined with '+' if it is locked more than once).
fn locked(krate: &str) -> String {
    LOCKED.iter().filter(|(name, ..)| *name == krate).map(|(_, version, _)| *version).collect::<Vec<_>>().join("+")
}

/// The version of `krate` that `package` depends on (where `krate` is locked more than once,
/// the lock file names it with its version), or every locked version.
fn locked_for(package: &str, krate: &str) -> String {
    let with_version = format!("{krate} ");
    LOCKED
        .iter()
        .find(|(name, ..)| *name == package)
        .and_then(|(_, _, dependencies)| dependencies.iter().find_map(|d| d.strip_prefix(&with_version)))
        .map_or_else(|| locked(krate), str::to_owned)
}

/// The column every ratio is taken against.
const BASELINE: &str = "wasmtime/cranelift";

fn bench_config() -> Config {
    // No fuel (metering slows code down and is not what an unmetered embedding pays), no log limit
    // in effect (events are dropped), the benchmark no-op imports on.
    Config { limits: Limits::unmetered(), tier: None, bench_imports: true, ..Config::default() }
}

/// `tier` set up to stop a guest, each way its runtime can: a fuel limit and a timeout on the
/// kernel that neither reaches, and a short timeout on the bench module's endless loop.
fn stoppables(tier: &runtimes::Tier) -> Result<Stoppables> {
    let (runtime, guest) = (tier.runtime, tier.engine.as_ref().map(|e| e.default_guest()).ok());
    let Some(guest) = guest else { return Ok(Stoppables::default()) };
    let engine = |able: bool, limits: Limits| {
        let config = Config { limits, tier: Some(tier.tier.to_owned()), ..bench_config() };
        able.then(|| runtime.engine_exactly(&config)).transpose().map_err(|f| anyhow::anyhow!("{}: {f}", tier.label()))
    };
    let unmetered = Limits::unmetered();
    let fuel = engine(runtime.meters_fuel, Limits { fuel: Some(measure::KERNEL_FUEL), ..unmetered.clone() })?;
    let deadline =
        engine(runtime.stops_on_deadline, Limits { timeout: Some(measure::KERNEL_TIMEOUT), ..unmetered.clone() })?;
    // The bench module's `spin`; a component has no such loop.
    let is_core = guest == guest_wasm::GUEST_WASM;
    let lateness =
        engine(runtime.stops_on_deadline && is_core, Limits { timeout: Some(measure::LATENESS_TIMEOUT), ..unmetered })?;
    Ok(Stoppables {
        fuel: Stoppable::new(fuel, guest)?,
        deadline: Stoppable::new(deadline, guest)?,
        lateness: Stoppable::new(lateness, measure::BENCH_WAT.as_bytes())?,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(json) = &args.render {
        return render(json, &args.out);
    }
    if let (Some(operation), Some(tier)) = (args.profile, &args.tier) {
        return profile::run(operation, tier, &bench_config(), args.iterations);
    }
    let (rounds, target_us, kernel_limit, workload_divisor, memory_instances) =
        if args.quick { (3, 1_000, 300_000, 16, 50) } else { (15, 5_000, 3_000_000, 1, 200) };
    let budget = Budget {
        target: Duration::from_micros(args.target_us.unwrap_or(target_us)),
        kernel_limit: args.kernel_limit.unwrap_or(kernel_limit),
        memory_instances: args.memory_instances.unwrap_or(memory_instances),
        workload_divisor: args.workload_divisor.unwrap_or(workload_divisor) as usize,
    };
    let rounds = args.rounds.unwrap_or(rounds).max(1);

    let own = args
        .guest
        .as_deref()
        .map(|path| {
            let export = args.invoke.as_deref().context("--guest needs --invoke NAME")?;
            own::OwnGuest::load(path, export, &args.args, args.input.as_deref(), args.stub_imports)
        })
        .transpose()?;

    if let Some(label) = &args.memory_probe {
        let probe = match &own {
            Some(guest) => own::memory_probe(guest, label, budget.memory_instances)?,
            None => {
                let (runtime, tier) = label.split_once('/').context("--memory-probe takes RUNTIME/TIER")?;
                measure::memory_probe(runtime, tier, &bench_config(), budget.memory_instances)?
            }
        };
        println!(
            "{}",
            json!({
                "engine_kib": probe.engine_kib,
                "instance_kib": probe.instance_kib,
                "engine_vm_kib": probe.engine_vm_kib,
                "instance_vm_kib": probe.instance_vm_kib,
            })
        );
        return Ok(());
    }

    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    if let Some(guest) = &own {
        return measure_own(guest, &args, &budget, rounds);
    }

    // Step 1: every tier's engine, the guest and the bench module loaded, a bench instance ready.
    // `WASM_HOSTCALL_RUNTIMES` may narrow the runtimes; the baseline is measured whatever it says.
    let selection = runtimes::selection().map_err(anyhow::Error::msg)?;
    let (baseline_runtime, baseline_tier) = BASELINE.split_once('/').context("BASELINE is runtime/tier")?;
    let mut tiers = Vec::new();
    if !selection.iter().any(|r| r.name == baseline_runtime) {
        tiers.extend(runtimes::one_tier(baseline_runtime, baseline_tier, &bench_config()));
    }
    tiers.extend(runtimes::all_tiers(&bench_config()));
    tiers.extend(runtimes::tiers_of(&measure::COMPONENTS, &bench_config()));
    let mut columns = Vec::new();
    let mut runners: Vec<(String, Box<dyn Sampler + '_>)> = Vec::new();
    let mut add = |label: String, runtime: &str, tier: &str, runner: Result<_>| {
        let unavailable = match runner {
            Ok(runner) => {
                runners.push((label.clone(), runner));
                None
            }
            Err(e) => Some(format!("{e:#}")),
        };
        columns.push(Column { label, runtime: String::from(runtime), tier: String::from(tier), unavailable });
    };
    for tier in &tiers {
        let runner: Result<Box<dyn Sampler + '_>> = match &tier.engine {
            Ok(engine) => stoppables(tier)
                .and_then(|stoppables| Runner::new(engine.as_ref(), stoppables, &args.out))
                .map(|r| Box::new(r) as _),
            Err(failure) => Err(anyhow::anyhow!("{failure}")),
        };
        add(tier.label(), tier.runtime.name, tier.tier, runner);
    }
    // Extism, with the `peers` feature: its own host (extism's), its own plugin.
    #[cfg(feature = "peers")]
    add(
        format!("{}/{}", extism::NAME, extism::TIER),
        extism::NAME,
        extism::TIER,
        extism::ExtismRunner::new().map(|r| Box::new(r) as _),
    );
    if !runners.iter().any(|(label, _)| label == BASELINE) {
        bail!("the baseline {BASELINE} is not available");
    }

    let specs = specs(&budget);
    let mut rows: Vec<Row> = specs
        .iter()
        .map(|s| Row {
            id: s.id.clone(),
            title: s.title.clone(),
            group: s.group,
            unit: s.unit.to_owned(),
            samples: runners.iter().map(|(label, _)| (label.clone(), Vec::new())).collect(),
            native: Vec::new(),
        })
        .collect();

    let timed = specs.iter().filter(|s| !s.kind.is_memory()).count();
    let total = rounds * timed * runners.len() + runners.len();
    let progress = if args.no_progress { ProgressBar::hidden() } else { ProgressBar::new(total as u64) };
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} samples, {elapsed} ({eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // Step 2: memory, each tier in a process of its own so that one tier's allocations do not
    // hide another's.
    let exe = std::env::current_exe().context("own path")?;
    for (label, _) in &runners {
        progress.set_message(format!("memory {label}"));
        let output = Command::new(&exe)
            .args(["--memory-probe", label, "--memory-instances", &budget.memory_instances.to_string()])
            .output()
            .context("memory probe")?;
        let probe: serde_json::Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("memory probe for {label} failed: {}", String::from_utf8_lossy(&output.stderr)))?;
        for (id, key) in [
            ("memory.engine", "engine_kib"),
            ("memory.instance", "instance_kib"),
            ("memory.engine_address_space", "engine_vm_kib"),
            ("memory.instance_address_space", "instance_vm_kib"),
        ] {
            if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
                row.samples.entry(label.clone()).or_default().push(probe[key].as_f64());
            }
        }
        progress.inc(1);
    }

    // Step 3: the rounds, interleaved: measurement by measurement, tier by tier.
    for round in 0..rounds {
        for (spec, row) in specs.iter().zip(rows.iter_mut()) {
            if spec.kind.is_memory() {
                continue;
            }
            progress.set_message(format!("round {}/{rounds}: {}", round + 1, spec.title));
            if let Some(native) = native_sample(spec, &budget) {
                row.native.push(native);
            }
            for (label, runner) in &mut runners {
                let sample = runner.sample(spec, &budget)?;
                row.samples.entry(label.clone()).or_default().push(sample);
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();
    for (_, runner) in &runners {
        runner.clean_up();
    }
    // The host-side overhead, derived from the same rounds; sections in report order.
    // And the geometric mean of the kernel and the workloads (as multiples of native).
    let derived = measure::overhead_rows(&specs, &rows);
    rows.extend(derived);
    rows.extend(measure::geomean_row(&rows));
    rows.sort_by_key(|r| r.group);

    // Step 4: the report.
    let results = Results {
        date: now(),
        machine: machine(),
        versions: versions(),
        settings: settings(
            &args,
            &budget,
            rounds,
            [
                ("kernel_limit", json!(budget.kernel_limit)),
                ("kernel_result", json!(common::kernel::count_primes(budget.kernel_limit))),
                (
                    "workload_bytes",
                    json!(
                        workloads::Workload::ALL
                            .map(|w| (w.id(), budget.workload_size(w)))
                            .into_iter()
                            .collect::<std::collections::BTreeMap<_, _>>()
                    ),
                ),
            ],
        ),
        guest: None,
        notes: Vec::new(),
        baseline: BASELINE.to_owned(),
        columns,
        rows,
    };
    write_report(&results, None, &args.out)?;
    print!("{}", results.terminal_table());
    println!("Report: {} (and report.html)", args.out.join("report.md").display());
    if cfg!(debug_assertions) {
        println!("(a debug build: run with --release for meaningful figures)");
    }
    Ok(())
}

/// `--guest`: the user's module on every tier, reported like the built-in guest.
fn measure_own(guest: &own::OwnGuest, args: &Args, budget: &Budget, rounds: usize) -> Result<()> {
    let progress = if args.no_progress { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    let probe_args = guest.probe_args(args.stub_imports, args.input.as_deref());
    let measured = own::measure(guest, BASELINE, budget, rounds, &probe_args, &progress)?;
    progress.finish_and_clear();
    let results = Results {
        date: now(),
        machine: machine(),
        versions: versions(),
        settings: settings(args, budget, rounds, []),
        guest: Some(report::GuestInfo {
            file: guest.path.display().to_string(),
            export: guest.export.clone(),
            args: guest.args.clone(),
            input_bytes: guest.input.as_ref().map(Vec::len),
            stubs: guest.stubs.clone(),
        }),
        notes: measured.notes,
        baseline: BASELINE.to_owned(),
        columns: measured.columns,
        rows: measured.rows,
    };
    write_report(&results, None, &args.out)?;
    print!("{}", results.terminal_table());
    for note in &results.notes {
        println!("{note}");
    }
    println!("Report: {} (and report.html)", args.out.join("report.md").display());
    if results.notes.iter().any(|n| n.starts_with("DIVERGENCE")) {
        bail!("the runtimes disagree on what the module does (see the report)");
    }
    Ok(())
}

/// Writes `report.json` (`json`, else `results` serialised), `report.md`, `report.html` and the SVG
/// plots into `out`.
fn write_report(results: &Results, json: Option<&str>, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    match json {
        // As it was read: floats parsed and printed again may change in their last digit.
        Some(text) => write("report.json", text)?,
        None => write("report.json", &serde_json::to_string_pretty(results)?)?,
    }
    write("report.md", &results.markdown())?;
    // The plots are of the built-in guest's rows.
    let plots = if results.guest.is_none() { results.plots() } else { Vec::new() };
    for (name, svg) in &plots {
        write(name, svg)?;
    }
    write("report.html", &results.html(&plots))
}

/// `--render`: the report files of an earlier run, from its `report.json`, measuring nothing.
fn render(json: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(json).with_context(|| format!("cannot read {}", json.display()))?;
    let results: Results =
        serde_json::from_str(&text).with_context(|| format!("{} is not a comparison's report.json", json.display()))?;
    write_report(&results, Some(&text), out)?;
    println!("Report: {} (and report.html), from {}", out.join("report.md").display(), json.display());
    Ok(())
}

/// The run's date, for the report.
fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The run's settings, for the report, with `extra`.
fn settings<const N: usize>(
    args: &Args,
    budget: &Budget,
    rounds: usize,
    extra: [(&str, serde_json::Value); N],
) -> serde_json::Value {
    let mut settings = json!({
        "mode": if args.quick { "quick" } else { "default" },
        "rounds": rounds,
        "target_us": budget.target.as_micros(),
        "memory_instances": budget.memory_instances,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    });
    for (key, value) in extra {
        settings[key] = value;
    }
    settings
}

/// The version of every runtime crate (as its host crate locks it), the peers', rustc's.
fn versions() -> BTreeMap<String, String> {
    runtimes::RUNTIMES
        .iter()
        .map(|r| {
            // The runtime's crate as its host crate locks it (wasmtime is locked twice with
            // the `peers`' extism: ours and extism's).
            let version = locked_for(&format!("host-{}", r.name), r.krate);
            (r.name.to_owned(), if r.krate == r.name { version } else { format!("{} {version}", r.krate) })
        })
        .chain(peer_versions())
        .chain([
            ("cranelift-codegen".to_owned(), locked("cranelift-codegen")),
            ("bincode".to_owned(), locked("bincode")),
            ("rustc".to_owned(), env!("VERSION_RUSTC").to_owned()),
        ])
        .collect()
}

/// The peers' versions (with the `peers` feature).
fn peer_versions() -> Vec<(String, String)> {
    #[cfg(feature = "peers")]
    return vec![(
        extism::NAME.to_owned(),
        format!("{} (on wasmtime {})", locked("extism"), locked_for("extism", "wasmtime")),
    )];
    #[cfg(not(feature = "peers"))]
    Vec::new()
}

/// CPU model and core count.
fn machine() -> BTreeMap<String, String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned());
    BTreeMap::from([
        ("cpu".to_owned(), cpu),
        ("cores".to_owned(), cores),
        ("os".to_owned(), std::env::consts::OS.to_owned()),
    ])
}
