//! The soak with faults: on one runtime, good guests interleaved with every hostile fixture and
//! limit case, run round-robin many times in one process, every output checked against its golden
//! file.
//!
//! Used by the load test (`cargo test -p conformance --test conformance load::`, small; `LOAD_FULL=1` for 10,000
//! runs) and the load example (`cargo run --release -p conformance --example load`, 10,000 runs
//! per runtime with resident memory measured).
//!
//! A round is every fixture of every suite of [`golden::suites`] (`tests/cases/`, default limits;
//! `tests/calls/`, handlers called with input; `tests/limits/`, the suite's small limits), each
//! run the way its suite runs it, plus one instance called twice with its memory grown
//! between the calls, each preceded by a good run (the demo `hello`, or `scenario_interleaved`,
//! alternately). Modules are compiled once per engine, as a real host would; a fixture that does
//! not load (invalid module, link error, limit) is in the round too, and its run is the load
//! attempt, repeated each time.

use harness::{DynEngine, Limits, LoadedModule};

use golden::{Case, Suite};

use runtimes::{engines, selected};

/// The good guests, alternating between the hostile runs: export, golden file.
const GOOD: [(&str, &str); 2] =
    [("hello", "hello.txt"), ("scenario_interleaved", "scenarios/scenario_interleaved.txt")];

/// The fixture whose instance is called [`GROWN_CALLS`] times: each call grows memory by a page and
/// logs a string it stored in the page the first call grew, so every call after the first reads
/// memory grown by an earlier call. Its output is its golden file's events, once per call, then
/// its outcome (`returned`).
const GROWN_BETWEEN_CALLS: &str = "cases/str_after_memory_grow";
const GROWN_CALLS: usize = 2;

/// What one run of the round does.
enum Action {
    /// In a new instance of `modules[module]`, calls `export` `calls` times.
    Call { module: usize, export: &'static str, calls: usize },
    /// In a new instance of `modules[module]`, calls `export` with `input` as its request.
    CallWithInput { module: usize, export: &'static str, input: &'static str },
    /// Loads the module (parse, compile, ABI and limit checks), which fails, then reports it as
    /// its suite's run does ([`Suite::run`]).
    Load { bytes: Vec<u8>, suite: usize },
}

/// One run of the round, and the output it must print.
struct Step {
    label: String,
    engine: usize,
    action: Action,
    expected: String,
}

/// A fixture read from disk, with its suite and case (whose golden file may be per runtime).
struct Fixture {
    label: String,
    limits: usize,
    suite: usize,
    case: Case,
    bytes: Vec<u8>,
}

/// The soak on one runtime: its engines (one per set of limits), the modules loaded once, and the
/// round.
pub struct Soak {
    runtime: &'static str,
    engines: Vec<Box<dyn DynEngine>>,
    modules: Vec<LoadedModule>,
    suites: Vec<Suite>,
    steps: Vec<Step>,
}

/// One soak per [`selected`] runtime, every module loaded. Fails if a golden file or
/// fixture cannot be read, or if an engine or the good guest cannot be set up.
pub fn soaks() -> Result<Vec<Soak>, String> {
    // Engines per distinct limits: the default ones (the good guests) first.
    let mut limits = vec![Limits::default()];
    // Not the deadline suite: its cases each wait out a timeout, which would make a round last
    // seconds; `cases` runs them on every runtime.
    let suites: Vec<Suite> = golden::suites().into_iter().filter(|s| s.limits.timeout.is_none()).collect();
    for suite in &suites {
        if !limits.contains(&suite.limits) {
            limits.push(suite.limits.clone());
        }
    }
    let mut per_runtime: Vec<Vec<Box<dyn DynEngine>>> = selected().iter().map(|_| Vec::new()).collect();
    for l in &limits {
        let engines = engines(l).map_err(|f| format!("engines: {f}"))?;
        per_runtime.iter_mut().zip(engines).for_each(|(slot, engine)| slot.push(engine));
    }

    let mut fixtures = Vec::new();
    for (suite_index, suite) in suites.iter().enumerate() {
        let index = limits.iter().position(|l| *l == suite.limits).expect("listed above");
        for case in suite.cases() {
            let bytes = std::fs::read(&case.path).map_err(|e| format!("{}: {e}", case.path.display()))?;
            let label = format!("{}/{}", suite.dir, case.name);
            fixtures.push(Fixture { label, limits: index, suite: suite_index, case, bytes });
        }
    }
    let good: Vec<String> = GOOD.iter().map(|(_, name)| golden::read(name)).collect();
    per_runtime.into_iter().map(|engines| Soak::new(engines, &suites, &fixtures, &good)).collect()
}

impl Soak {
    fn new(
        engines: Vec<Box<dyn DynEngine>>,
        suites: &[Suite],
        fixtures: &[Fixture],
        good: &[String],
    ) -> Result<Soak, String> {
        let runtime = engines[0].name();
        let guest = engines[0].load_module(guest_wasm::GUEST_WASM).map_err(|f| format!("{runtime}: guest: {f}"))?;
        let mut modules = vec![guest];
        let mut hostile = Vec::new();
        let mut grown = false;
        for fixture in fixtures {
            // Only fuel stops it: not run on a runtime that cannot meter fuel (tests/tests/conformance/cases.rs
            // checks that such a runtime refuses a fuel limit).
            if !engines[0].meters_fuel() && fixture.case.needs_fuel() {
                continue;
            }
            let golden_path = golden::dir().join(fixture.case.golden_name_for(runtime));
            let expected =
                std::fs::read_to_string(&golden_path).map_err(|e| format!("{}: {e}", golden_path.display()))?;
            let suite = &suites[fixture.suite];
            let loaded = engines[fixture.limits].load_module(&fixture.bytes).ok().map(|module| {
                modules.push(module);
                modules.len() - 1
            });
            let action = match (loaded, suite.input) {
                (Some(module), None) => Action::Call { module, export: suite.export(), calls: 1 },
                (Some(module), Some(input)) => Action::CallWithInput { module, export: suite.export(), input },
                (None, _) => Action::Load { bytes: fixture.bytes.clone(), suite: fixture.suite },
            };
            hostile.push(Step {
                label: fixture.label.clone(),
                engine: fixture.limits,
                action,
                expected: expected.clone(),
            });
            if let Some(module) = loaded
                && fixture.label == GROWN_BETWEEN_CALLS
            {
                let (events, outcome) = expected.split_at(last_line_start(&expected));
                hostile.push(Step {
                    label: format!("{} × {GROWN_CALLS} calls", fixture.label),
                    engine: fixture.limits,
                    action: Action::Call { module, export: "run", calls: GROWN_CALLS },
                    expected: events.repeat(GROWN_CALLS) + outcome,
                });
                grown = true;
            }
        }
        if !grown {
            return Err(format!("{runtime}: no fixture {GROWN_BETWEEN_CALLS}, or it does not load"));
        }
        let mut steps = Vec::new();
        for (k, step) in hostile.into_iter().enumerate() {
            let (export, _) = GOOD[k % GOOD.len()];
            let expected = good[k % GOOD.len()].clone();
            steps.push(Step {
                label: export.to_owned(),
                engine: 0,
                action: Action::Call { module: 0, export, calls: 1 },
                expected,
            });
            steps.push(step);
        }
        Ok(Soak { runtime, engines, modules, suites: suites.to_vec(), steps })
    }

    /// The runtime.
    pub fn runtime(&self) -> &'static str {
        self.runtime
    }

    /// How many runs a round has (each fixture once, each preceded by a good run).
    pub fn round_len(&self) -> usize {
        self.steps.len()
    }

    /// A one-line summary of the round.
    pub fn describe(&self) -> String {
        let good = self.steps.iter().step_by(2).count();
        let loads = self.steps.iter().filter(|s| matches!(s.action, Action::Load { .. })).count();
        format!(
            "a round of {} runs: {good} good ({}), {} hostile or limit runs ({loads} of them modules that do not load)",
            self.steps.len(),
            GOOD.map(|(export, _)| export).join(", "),
            self.steps.len() - good
        )
    }

    /// Whether run number `n` is a load attempt: a module that does not load, parsed and (if it
    /// parses) compiled again each time.
    pub fn is_load_attempt(&self, n: usize) -> bool {
        matches!(self.steps[n % self.steps.len()].action, Action::Load { .. })
    }

    /// Performs run number `n` (step `n` modulo the round) and checks its output against its
    /// golden text; on a difference, describes it.
    pub fn run(&self, n: usize) -> Result<(), String> {
        let step = &self.steps[n % self.steps.len()];
        let engine = self.engines[step.engine].as_ref();
        let report = match &step.action {
            Action::Call { module, export, calls } => {
                engine.run_calls(&self.modules[*module], &[], export, &vec![vec![]; *calls])
            }
            Action::CallWithInput { module, export, input } => {
                engine.run_loaded(&self.modules[*module], export, Some(input.as_bytes()))
            }
            Action::Load { bytes, suite } => self.suites[*suite].run(engine, bytes),
        };
        let actual = golden::render(&report.lines());
        if actual == step.expected {
            return Ok(());
        }
        Err(format!(
            "{} run {n} ({}): output differs\n--- expected\n{}--- actual\n{actual}",
            self.runtime, step.label, step.expected
        ))
    }
}

/// Where the last line of `text` (which ends with a newline) starts.
fn last_line_start(text: &str) -> usize {
    text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1)
}
