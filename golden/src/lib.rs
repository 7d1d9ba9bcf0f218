//! Golden files for tests: expected outputs kept in `tests/golden/`, regenerated with `BLESS=1`.
//!
//! ```text
//! BLESS=1 cargo test --workspace      # rewrite every golden file from what the code does now
//! ```
//!
//! Review the diff before committing a blessed file: a golden file is only worth what its review was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{Limits, MIB};

/// The workspace's `tests` directory.
fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests")
}

/// The workspace's `tests/golden` directory.
pub fn dir() -> PathBuf {
    tests_dir().join("golden")
}

/// Whether `BLESS` is set: golden files are rewritten instead of compared.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Lines longer than this are summarised in golden files (a 1 MiB string stays one short line).
const LONG_LINE: usize = 200;

/// A line as golden files hold it: short lines as they are; a long one as its first characters,
/// its length and a CRC-32 of the whole line, so that any change to it still shows.
pub fn summarize(line: &str) -> String {
    if line.len() <= LONG_LINE {
        return line.to_owned();
    }
    let head: String = line.chars().take(60).collect();
    format!("{head}… ({} bytes, crc32 {:08x})", line.len(), crc32fast::hash(line.as_bytes()))
}

/// The golden text for `lines`: each summarised, one per line.
pub fn render(lines: &[String]) -> String {
    lines.iter().map(|l| summarize(l) + "\n").collect()
}

/// Compares `actual` with the golden file `name` (under [`dir`]); with `BLESS` set, writes it
/// instead. Returns a description of the difference, if any.
pub fn compare(name: &str, actual: &str) -> Result<(), String> {
    let path = dir().join(name);
    if blessing() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        return std::fs::write(&path, actual).map_err(|e| format!("cannot write {}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read golden file {} ({e}); run with BLESS=1 to create it", path.display()))?;
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "output differs from golden file {}\n--- expected\n{expected}--- actual\n{actual}(run with BLESS=1 to accept the new output)",
        path.display()
    ))
}

/// Reads the golden file `name`, or panics with the path (tests only).
pub fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read golden file {}: {e}", path.display()))
}

/// A directory of fixture modules, each run on every runtime with the suite's limits, each with
/// its expected output in `tests/golden/DIR/NAME.txt`.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The directory under `tests/`, also the directory of its golden files.
    pub dir: &'static str,
    /// The limits every case runs with (the binaries get them as flags, `cli::limit_args`).
    pub limits: Limits,
    /// `None`: each case's export `run` is called with no arguments. `Some(input)`: each case's
    /// export `handle` is called with `input` as its request ([`harness::Instance::call_with_input`];
    /// `--input` for the binaries).
    pub input: Option<&'static str>,
}

/// The input the `calls` suite calls each case's `handle` with.
pub const CALL_INPUT: &str = "Wasm";

/// The small limits of the suites whose cases run into them, so that doing so is quick.
fn small_limits() -> Limits {
    Limits {
        fuel: Some(1_000_000),
        max_memory_bytes: 2 * MIB,
        max_table_elements: 1_000,
        max_log_bytes: MIB,
        timeout: None,
    }
}

/// The timeout of the `deadlines` suite: long enough for a debug build on a loaded 2-core machine
/// to instantiate a fixture and run the one that finishes, short enough to wait for on each of
/// the ones that do not.
pub const DEADLINE_SUITE_TIMEOUT: Duration = Duration::from_millis(200);

/// The limits of the `deadlines` suite: the small limits, a timeout, and so much fuel that only
/// the timeout stops a guest (the two mechanisms together, as a server would set them): the most
/// WAMR meters per call, about ten times what the fastest tier spins in the timeout.
fn deadline_limits() -> Limits {
    Limits { fuel: Some(i32::MAX.unsigned_abs().into()), timeout: Some(DEADLINE_SUITE_TIMEOUT), ..small_limits() }
}

/// The fixture suites: hostile modules (default limits), calls with input (hostile handlers,
/// small limits), limits (small limits) and deadlines (handlers called with input, stopped by
/// the clock).
pub fn suites() -> Vec<Suite> {
    vec![
        Suite { dir: "cases", limits: Limits::default(), input: None },
        Suite { dir: "calls", limits: small_limits(), input: Some(CALL_INPUT) },
        Suite { dir: "limits", limits: small_limits(), input: None },
        Suite { dir: "deadlines", limits: deadline_limits(), input: Some(CALL_INPUT) },
    ]
}

/// The fixture suites of components (the world `wit/wasm-hostcall.wit`, for
/// `host-wasmtime-component`), small limits: hostile components whose `run` is called, and
/// hostile handlers called with input.
pub fn component_suites() -> Vec<Suite> {
    vec![
        Suite { dir: "components", limits: small_limits(), input: None },
        Suite { dir: "component-calls", limits: small_limits(), input: Some(CALL_INPUT) },
    ]
}

/// One fixture module: its export `run` is called.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file name without extension.
    pub name: String,
    /// The fixture's path.
    pub path: PathBuf,
    /// The golden file holding the expected output, relative to [`dir`].
    pub golden_name: String,
}

/// The outcome line of a run stopped by its fuel budget.
const OUT_OF_FUEL: &str = "failed trap.out-of-fuel:";

impl Case {
    /// Whether only fuel stops this case (its shared golden file ends out of fuel): a runtime
    /// that cannot meter fuel ([`harness::Engine::METERS_FUEL`]) would run it forever, so it is not
    /// run there; every other case runs there without a fuel limit.
    pub fn needs_fuel(&self) -> bool {
        read(&self.golden_name).lines().last().is_some_and(|line| line.starts_with(OUT_OF_FUEL))
    }

    /// The golden file `runtime` must match: `DIR/NAME.RUNTIME.txt` where a runtime is documented
    /// to differ (a divergence found and kept, with the reason in the fixture and the README),
    /// else the shared `DIR/NAME.txt`.
    pub fn golden_name_for(&self, runtime: &str) -> String {
        let own = self.golden_name.replacen(".txt", &format!(".{runtime}.txt"), 1);
        if dir().join(&own).is_file() { own } else { self.golden_name.clone() }
    }
}

impl Suite {
    /// Whether a runtime can run `case` under this suite's limits: one that cannot meter fuel
    /// cannot run a case only fuel stops ([`Case::needs_fuel`]), one that cannot be stopped by
    /// the clock no case of a suite with a timeout. Such a runtime refuses the limit instead.
    pub fn runs_on(&self, case: &Case, meters_fuel: bool, stops_on_deadline: bool) -> bool {
        (meters_fuel || !case.needs_fuel()) && (stops_on_deadline || self.limits.timeout.is_none())
    }

    /// The export each case's run calls.
    pub fn export(&self) -> &'static str {
        if self.input.is_some() { "handle" } else { "run" }
    }

    /// Runs one case (the module in `bytes`) on `engine` the way this suite runs them.
    pub fn run(&self, engine: &dyn harness::DynEngine, bytes: &[u8]) -> harness::Report {
        match self.input {
            Some(input) => engine.run_with_input(bytes, self.export(), input.as_bytes()),
            None => engine.run(bytes, self.export(), &[]),
        }
    }

    /// The host-binary arguments that run `case` the way this suite runs it, with `limits`.
    pub fn cli_args(&self, case: &Case, limits: &Limits) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = harness::cli::limit_args(limits).into_iter().map(Into::into).collect();
        args.extend(["--guest".into(), case.path.clone().into_os_string(), "--invoke".into(), self.export().into()]);
        if let Some(input) = self.input {
            args.extend(["--input".into(), input.into()]);
        }
        args
    }

    /// Every fixture of the suite, sorted by name.
    pub fn cases(&self) -> Vec<Case> {
        let dir = tests_dir().join(self.dir);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let mut cases: Vec<Case> = entries
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.is_file())
            .map(|path| {
                let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
                Case { golden_name: format!("{}/{name}.txt", self.dir), name, path }
            })
            .collect();
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        cases
    }
}

/// Checks a host binary end to end: without arguments it prints the demo (`hello.txt`) and exits
/// 0; with `--input` it greets (`hello_input.txt`); for every fixture of every suite,
/// [`Suite::cli_args`] (`--guest CASE --invoke run` with the suite's limit flags) prints the
/// golden output, exits 0 exactly when the call returned and 1 otherwise, and on
/// failure writes exactly one line to stderr. `binary` runs engine `E`.
///
/// On a runtime that cannot meter fuel, the cases run without a fuel limit, and each case only
/// fuel stops ([`Case::needs_fuel`]) is run with its fuel limit instead, which the binary must
/// refuse: exit status 2 and one error line. The same with a timeout on a runtime that cannot be
/// stopped by the clock ([`Suite::runs_on`]).
///
/// Panics with every mismatch found (tests only).
pub fn check_cli<E: harness::Engine>(binary: &str) {
    check_cli_suites::<E>(binary, &suites());
}

/// [`check_cli`] for a host of components (`host-wasmtime-component`): the demo, the call with
/// input, and the suites of [`component_suites`].
///
/// Panics with every mismatch found (tests only).
pub fn check_component_cli<E: harness::Engine>(binary: &str) {
    check_cli_suites::<E>(binary, &component_suites());
}

/// [`check_cli`] over `suites`.
fn check_cli_suites<E: harness::Engine>(binary: &str, suites: &[Suite]) {
    let mut problems = Vec::new();
    let mut check = |label: &str, args: &[&std::ffi::OsStr], golden_name: Option<&str>| {
        let output = match std::process::Command::new(binary).args(args).output() {
            Ok(output) => output,
            Err(e) => return problems.push(format!("{label}: cannot run {binary}: {e}")),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let Some(golden_name) = golden_name else {
            // A fuel limit or timeout this runtime cannot enforce: refused before anything runs.
            if output.status.code() != Some(2) || !output.stdout.is_empty() || stderr.lines().count() != 1 {
                problems.push(format!(
                    "{label}: a limit this runtime cannot enforce must be refused (exit 2, one error line), \
                     got {:?}:\n{stderr}",
                    output.status.code()
                ));
            }
            return;
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        let rendered = render(&lines);
        let expected = read(golden_name);
        if rendered != expected {
            problems.push(format!("{label}: stdout differs\n--- expected\n{expected}--- actual\n{rendered}"));
        }
        let returned = lines.last().is_some_and(|l| l.starts_with("returned"));
        let want_code = if returned { 0 } else { 1 };
        if output.status.code() != Some(want_code) {
            problems.push(format!("{label}: exit status {:?}, expected {want_code}", output.status.code()));
        }
        let stderr_lines = stderr.lines().count();
        let want_lines = if returned { 0 } else { 1 };
        if stderr_lines != want_lines || (!returned && !stderr.contains(": error: ")) {
            problems.push(format!("{label}: expected {want_lines} error line(s) on stderr, got:\n{stderr}"));
        }
    };
    check("demo", &[], Some("hello.txt"));
    check("demo with input", &["--input".as_ref(), CALL_INPUT.as_ref()], Some("hello_input.txt"));
    for suite in suites {
        for case in suite.cases() {
            let refused = !suite.runs_on(&case, E::METERS_FUEL, E::STOPS_ON_DEADLINE);
            let limits = if refused {
                suite.limits.clone()
            } else {
                suite.limits.enforceable(E::METERS_FUEL, E::STOPS_ON_DEADLINE)
            };
            let args = suite.cli_args(&case, &limits);
            let args: Vec<&std::ffi::OsStr> = args.iter().map(AsRef::as_ref).collect();
            let golden_name = case.golden_name_for(E::NAME);
            check(&format!("{}/{}", suite.dir, case.name), &args, (!refused).then_some(golden_name.as_str()));
        }
    }
    assert!(problems.is_empty(), "{binary}:\n{}", problems.join("\n\n"));
}

/// Checks a host's `embed-*` example (`examples/embed.rs` of package `package`, e.g.
/// `host-wasmtime` → `embed-wasmtime`): it prints the demo, then the call with input, exactly as
/// `hello.txt` and `hello_input.txt` say, and exits 0. Call it from a test of that package
/// (`cargo test` builds the examples, into `examples/` next to the test binary's `deps/`).
///
/// Panics with what differs (tests only).
pub fn check_example(package: &str) {
    check_example_named(&package.replace("host-", "embed-"));
}

/// Checks the example `name` of the calling package as [`check_example`] does: it prints the demo,
/// then the call with input, exactly as `hello.txt` and `hello_input.txt` say, and exits 0.
///
/// Panics with what differs (tests only).
pub fn check_example_named(name: &str) {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary.parent().and_then(Path::parent).expect("the test binary is in `deps/`");
    let example = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let output = std::process::Command::new(&example)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): build it with `cargo test`", example.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} exited with {}:\n{stderr}", output.status);
    let expected = read("hello.txt") + &read("hello_input.txt");
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name}'s output");
}
