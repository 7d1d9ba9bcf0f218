//! `compare --guest FILE --invoke NAME`: a module of your own, measured on every runtime and tier
//! of the build, side by side in one run, as the built-in guest is.
//!
//! The module (binary or text) may import the ABI's functions (`env`, `common::Import`) or
//! nothing; with `--stub-imports`, any other function import becomes a function returning zeros
//! (`harness::rewrite::stub`), listed in the report. The export is called with `--args` (`i32`s),
//! or as a handler with `--input FILE` as its request (`Instance::call_with_input`).
//!
//! Per tier: whether it loads and runs (else the refusal's kind and message: the module's
//! feature-support matrix), compile time, instantiation, the first call on a new instance, the
//! call (repeated on one instance for at least the budget's time, divided), resident memory per
//! instance (in a fresh process), the host calls one call makes, and its output: the events, the
//! response and the result, which must be the same on every tier. A tier that differs is
//! reported as a divergence, never averaged in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use harness::{Config, DynEngine, Failure, Instance, LoadedModule, Report, Sink};
use indicatif::ProgressBar;

use crate::measure::{Budget, Group, measure_memory};
use crate::report::{Column, Row};

/// The module and what to call in it.
#[derive(Debug, Clone)]
pub(crate) struct OwnGuest {
    /// Where it came from (for the report).
    pub(crate) path: PathBuf,
    /// The module, binary, with its stubs.
    pub(crate) wasm: Vec<u8>,
    pub(crate) export: String,
    pub(crate) args: Vec<i32>,
    /// The request, for a handler.
    pub(crate) input: Option<Vec<u8>>,
    /// The imports that became stubs (`module::name`).
    pub(crate) stubs: Vec<String>,
}

impl OwnGuest {
    /// Reads `path` (a `.wasm` or `.wat` file) and `input`, and stubs the imports outside the ABI
    /// if `stub_imports`.
    pub(crate) fn load(
        path: &Path,
        export: &str,
        args: &[i32],
        input: Option<&Path>,
        stub_imports: bool,
    ) -> Result<OwnGuest> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let wasm = harness::module_bytes(&bytes).map_err(|f| anyhow::anyhow!("{}: {f}", path.display()))?.into_owned();
        let input = input
            .map(|p| std::fs::read(p).with_context(|| format!("cannot read the input {}", p.display())))
            .transpose()?;
        if input.is_some() && !args.is_empty() {
            bail!("--input calls the export as a handler, with the request's length as its one argument: no --args");
        }
        let (wasm, stubs) = if stub_imports {
            let is_abi = |module: &str, name: &str| {
                module == common::IMPORT_MODULE && common::Import::ALL.iter().any(|i| i.name() == name)
            };
            let stubbed = harness::rewrite::stub::stub_imports(&wasm, is_abi)
                .map_err(|e| anyhow::anyhow!("--stub-imports: {e}"))?;
            (stubbed.wasm, stubbed.stubs)
        } else {
            (wasm, Vec::new())
        };
        Ok(OwnGuest { path: path.to_owned(), wasm, export: export.to_owned(), args: args.to_vec(), input, stubs })
    }

    /// The arguments that make a `--memory-probe` process load the same module (the stubs are
    /// made again there).
    pub(crate) fn probe_args(&self, stub_imports: bool, input: Option<&Path>) -> Vec<String> {
        let mut args =
            vec!["--guest".to_owned(), self.path.display().to_string(), "--invoke".to_owned(), self.export.clone()];
        if !self.args.is_empty() {
            args.push("--args".to_owned());
            args.push(self.args.iter().map(i32::to_string).collect::<Vec<_>>().join(","));
        }
        if let Some(input) = input {
            args.push("--input".to_owned());
            args.push(input.display().to_string());
        }
        if stub_imports {
            args.push("--stub-imports".to_owned());
        }
        args
    }

    /// Checks that the export exists with the right signature.
    fn check(&self, module: &LoadedModule) -> Result<(), Failure> {
        let shape = module.shape();
        match self.input {
            Some(_) => harness::check_handler(shape, &self.export),
            None => harness::check_export(shape, &self.export, self.args.len()),
        }
        .map_err(Failure::from)
    }

    /// One call on `instance`: its report (events, response, result).
    fn call(&self, instance: &mut dyn Instance) -> Report {
        match &self.input {
            Some(input) => match instance.call_with_input(&self.export, input) {
                Ok(response) => {
                    Report { events: instance.take_events(), response: Some(response), outcome: Ok(Some(0)) }
                }
                Err(failure) => Report { events: instance.take_events(), response: None, outcome: Err(failure) },
            },
            None => {
                let outcome = instance.call(&self.export, &self.args);
                Report { events: instance.take_events(), response: None, outcome }
            }
        }
    }

    /// One call, result discarded, failing on a failure.
    fn call_quietly(&self, instance: &mut dyn Instance) -> Result<(), Failure> {
        match &self.input {
            Some(input) => instance.call_with_input(&self.export, input).map(drop),
            None => instance.call(&self.export, &self.args).map(drop),
        }
    }
}

/// The configuration every tier runs the module with: no fuel, no timeout (it is your module),
/// the log limit of the default.
pub(crate) fn config() -> Config {
    Config { limits: harness::Limits::unmetered(), tier: None, ..Config::default() }
}

/// One tier, set up: the engine and the module loaded, and how many calls one sample makes.
struct Ready {
    label: String,
    engine: Box<dyn DynEngine>,
    module: LoadedModule,
    /// Calls per sample of the call row (1 where the export cannot be called twice on one
    /// instance).
    repeat: u64,
}

/// Row ids and titles of this mode, in order.
const ROWS: [(&str, &str, Group, &str); 6] = [
    ("own.compile", "compile the module", Group::StartUp, "µs"),
    ("own.instantiate", "instantiate", Group::StartUp, "µs"),
    ("own.first_call", "first call (new instance)", Group::StartUp, "µs"),
    ("own.call", "the call, repeated on one instance", Group::Execution, "µs"),
    ("own.host_calls", "host calls per call", Group::Execution, "calls"),
    ("own.memory", "resident memory per instance (after one call)", Group::Memory, "KiB"),
];

/// What the run measured, for [`crate::report::Results`].
pub(crate) struct Measured {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
}

/// Measures `guest` on every tier (the baseline too, selected or not), `rounds` rounds
/// interleaved.
pub(crate) fn measure(
    guest: &OwnGuest,
    baseline: &str,
    budget: &Budget,
    rounds: usize,
    probe_args: &[String],
    progress: &ProgressBar,
) -> Result<Measured> {
    let config = config();
    let (baseline_runtime, baseline_tier) = baseline.split_once('/').context("baseline is runtime/tier")?;
    let mut tiers = Vec::new();
    if !runtimes::selected().iter().any(|r| r.name == baseline_runtime) {
        tiers.extend(runtimes::one_tier(baseline_runtime, baseline_tier, &config));
    }
    tiers.extend(runtimes::all_tiers(&config));

    // Step 1: every tier loads the module and calls it once; what it did is its output.
    let mut columns = Vec::new();
    let mut ready: Vec<Ready> = Vec::new();
    let mut outputs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    for tier in tiers {
        let label = tier.label();
        let mut column = Column {
            label: label.clone(),
            runtime: tier.runtime.name.to_owned(),
            tier: tier.tier.to_owned(),
            unavailable: None,
        };
        let loaded = tier.engine.and_then(|engine| {
            let module = engine.load_module(&guest.wasm)?;
            guest.check(&module)?;
            Ok((engine, module))
        });
        match loaded {
            Err(failure) => column.unavailable = Some(format!("refused it: {}: {failure}", failure.fault.kind())),
            Ok((engine, module)) => {
                let report = match engine.instantiate_module(&module, Sink::Record) {
                    Ok(mut instance) => guest.call(instance.as_mut()),
                    Err(failure) => Report::failed(failure),
                };
                outputs.insert(label.clone(), report.lines());
                match report.outcome {
                    Err(failure) => column.unavailable = Some(format!("failed: {}: {failure}", failure.fault.kind())),
                    Ok(_) => ready.push(Ready { label: label.clone(), engine, module, repeat: 1 }),
                }
            }
        }
        columns.push(column);
    }
    if !guest.stubs.is_empty() {
        notes.push(format!("Imports stubbed (each returns zeros): {}.", guest.stubs.join(", ")));
    }
    notes.extend(divergences(&outputs, baseline));

    // Step 2: how many calls one sample of the call row makes, per tier: doubled until the
    // sample takes the budget's time (a call that fails when repeated is sampled once per
    // instance).
    for tier in &mut ready {
        let mut instance = tier.engine.instantiate_module(&tier.module, Sink::Discard)?;
        let mut repeat = 1u64;
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < budget.target && calls < 1 << 20 {
            if guest.call_quietly(instance.as_mut()).is_err() {
                repeat = 0;
                break;
            }
            calls += 1;
            repeat = calls;
        }
        tier.repeat = repeat;
        if repeat == 0 {
            tier.repeat = 1;
            notes.push(format!(
                "{}: the export fails when called again on the same instance; its call row is one call on a new instance.",
                tier.label
            ));
        }
    }

    // Step 3: memory per instance, each tier in a fresh process.
    let mut rows: Vec<Row> = ROWS
        .iter()
        .map(|(id, title, group, unit)| Row {
            id: (*id).to_owned(),
            title: (*title).to_owned(),
            group: *group,
            unit: (*unit).to_owned(),
            samples: BTreeMap::new(),
            native: Vec::new(),
        })
        .collect();
    let exe = std::env::current_exe().context("own path")?;
    for tier in &ready {
        progress.set_message(format!("memory {}", tier.label));
        let output = Command::new(&exe)
            .args(["--memory-probe", &tier.label, "--memory-instances", &budget.memory_instances.to_string()])
            .args(probe_args)
            .output()
            .context("memory probe")?;
        let probe: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
            format!("memory probe for {} failed: {}", tier.label, String::from_utf8_lossy(&output.stderr))
        })?;
        row_mut(&mut rows, "own.memory")
            .samples
            .entry(tier.label.clone())
            .or_default()
            .push(probe["instance_kib"].as_f64());
        progress.inc(1);
    }

    // Step 4: the rounds, interleaved.
    for round in 0..rounds {
        progress.set_message(format!("round {}/{rounds}", round + 1));
        for tier in &ready {
            let samples = sample(guest, tier)?;
            for (id, value) in samples {
                row_mut(&mut rows, id).samples.entry(tier.label.clone()).or_default().push(Some(value));
            }
            progress.inc(1);
        }
    }
    Ok(Measured { columns, rows, notes })
}

fn row_mut<'a>(rows: &'a mut [Row], id: &str) -> &'a mut Row {
    rows.iter_mut().find(|r| r.id == id).expect("a row of ROWS")
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// One sample of every timed row on `tier`.
fn sample(guest: &OwnGuest, tier: &Ready) -> Result<Vec<(&'static str, f64)>> {
    let fail = |f: Failure| anyhow::anyhow!("{}: {f}", tier.label);
    let compile = tier.engine.time_compile(&guest.wasm).map_err(fail)?;
    let start = Instant::now();
    let mut instance = tier.engine.instantiate_module(&tier.module, Sink::Discard).map_err(fail)?;
    let instantiate = start.elapsed();
    let start = Instant::now();
    guest.call_quietly(instance.as_mut()).map_err(fail)?;
    let first_call = start.elapsed();
    let host_calls = instance.event_count() as f64;
    // The call: `repeat` calls on a new instance (one, where repeating fails).
    let mut instance = tier.engine.instantiate_module(&tier.module, Sink::Discard).map_err(fail)?;
    let start = Instant::now();
    for _ in 0..tier.repeat {
        guest.call_quietly(instance.as_mut()).map_err(fail)?;
    }
    let call = micros(start.elapsed()) / tier.repeat as f64;
    Ok(vec![
        ("own.compile", micros(compile)),
        ("own.instantiate", micros(instantiate)),
        ("own.first_call", micros(first_call)),
        ("own.call", call),
        ("own.host_calls", host_calls),
    ])
}

/// The divergences among the tiers' outputs: the tiers grouped by output, each group other than
/// the baseline's (or the largest) named with what it printed.
fn divergences(outputs: &BTreeMap<String, Vec<String>>, baseline: &str) -> Vec<String> {
    let mut groups: Vec<(Vec<String>, Vec<&str>)> = Vec::new();
    for (label, lines) in outputs {
        match groups.iter_mut().find(|(output, _)| output == lines) {
            Some((_, labels)) => labels.push(label),
            None => groups.push((lines.clone(), vec![label])),
        }
    }
    let show = |lines: &[String]| {
        let mut text = lines.iter().take(8).cloned().collect::<Vec<_>>().join(" / ");
        if lines.len() > 8 {
            text.push_str(&format!(" / … ({} lines)", lines.len()));
        }
        text
    };
    let Some(reference) = groups
        .iter()
        .position(|(_, labels)| labels.contains(&baseline))
        .or_else(|| (0..groups.len()).max_by_key(|&i| groups[i].1.len()))
    else {
        return Vec::new();
    };
    let mut notes = vec![format!("Output on {}: {}", groups[reference].1.join(", "), show(&groups[reference].0))];
    for (i, (lines, labels)) in groups.iter().enumerate() {
        if i != reference {
            notes.push(format!("DIVERGENCE: {} printed instead: {}", labels.join(", "), show(lines)));
        }
    }
    notes
}

/// `--memory-probe` for a module of your own: resident memory per instance that has made one call.
pub(crate) fn memory_probe(guest: &OwnGuest, label: &str, instances: usize) -> Result<crate::measure::MemoryProbe> {
    let (runtime, tier) = label.split_once('/').context("--memory-probe takes RUNTIME/TIER")?;
    let tier = runtimes::one_tier(runtime, tier, &config()).context("no such tier")?;
    let e = |f: Failure| anyhow::anyhow!("{f}");
    measure_memory(
        || {
            let engine = tier.engine.map_err(e)?;
            let module = engine.load_module(&guest.wasm).map_err(e)?;
            Ok((engine, module))
        },
        |(engine, module)| {
            let mut instance = engine.instantiate_module(module, Sink::Discard).map_err(e)?;
            guest.call_quietly(instance.as_mut()).map_err(e)?;
            Ok(instance)
        },
        instances,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_that_prints_something_else_is_a_divergence() {
        let outputs = BTreeMap::from([
            ("a/x".to_owned(), vec!["int 1".to_owned(), "returned 2".to_owned()]),
            ("b/y".to_owned(), vec!["int 1".to_owned(), "returned 2".to_owned()]),
            ("c/z".to_owned(), vec!["failed trap.unreachable".to_owned()]),
        ]);
        let notes = divergences(&outputs, "b/y");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("Output on a/x, b/y: int 1 / returned 2"), "{notes:?}");
        assert!(notes[1].starts_with("DIVERGENCE: c/z"), "{notes:?}");
        let same = BTreeMap::from([("a/x".to_owned(), vec!["returned".to_owned()])]);
        assert_eq!(divergences(&same, "a/x").len(), 1);
    }
}
