//! Golden files for tests: expected outputs kept in `tests/golden/`, regenerated with `BLESS=1`.
//!
//! ```text
//! BLESS=1 cargo test --workspace      # rewrite every golden file from what the code does now
//! ```
//!
//! Review the diff before committing a blessed file: a golden file is only worth what its review was.

use std::path::{Path, PathBuf};

use crate::{Limits, MIB};

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
}

/// The fixture suites: hostile modules (default limits) and limits (small limits, so that
/// running into them is quick).
pub fn suites() -> Vec<Suite> {
    vec![
        Suite { dir: "cases", limits: Limits::default() },
        Suite {
            dir: "limits",
            limits: Limits {
                fuel: Some(1_000_000),
                max_memory_bytes: 2 * MIB,
                max_table_elements: 1_000,
                max_log_bytes: MIB,
            },
        },
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

impl Suite {
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
/// 0; for every fixture of every suite, `--guest CASE --invoke run` (with the suite's limit
/// flags) prints the golden output, exits 0 exactly when the call returned and 1 otherwise, and on
/// failure writes exactly one line to stderr.
///
/// Panics with every mismatch found (tests only).
pub fn check_cli(binary: &str) {
    let mut problems = Vec::new();
    let mut check = |label: &str, args: &[&std::ffi::OsStr], golden_name: &str| {
        let output = match std::process::Command::new(binary).args(args).output() {
            Ok(output) => output,
            Err(e) => return problems.push(format!("{label}: cannot run {binary}: {e}")),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
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
    check("demo", &[], "hello.txt");
    for suite in suites() {
        let limit_args = crate::cli::limit_args(&suite.limits);
        for case in suite.cases() {
            let mut args: Vec<&std::ffi::OsStr> = limit_args.iter().map(|a| a.as_ref()).collect();
            args.extend(["--guest".as_ref(), case.path.as_os_str(), "--invoke".as_ref(), "run".as_ref()]);
            check(&format!("{}/{}", suite.dir, case.name), &args, &case.golden_name);
        }
    }
    assert!(problems.is_empty(), "{binary}:\n{}", problems.join("\n\n"));
}
