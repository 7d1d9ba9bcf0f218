//! Golden files for tests: expected outputs kept in `tests/golden/`, regenerated with `BLESS=1`.
//!
//! ```text
//! BLESS=1 cargo test --workspace      # rewrite every golden file from what the code does now
//! ```
//!
//! Review the diff before committing a blessed file: a golden file is only worth what its review was.

use std::path::{Path, PathBuf};

/// The workspace's `tests/golden` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
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
    format!(
        "{head}… ({} bytes, crc32 {:08x})",
        line.len(),
        crc32fast::hash(line.as_bytes())
    )
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
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        return std::fs::write(&path, actual)
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read golden file {} ({e}); run with BLESS=1 to create it",
            path.display()
        )
    })?;
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
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read golden file {}: {e}", path.display()))
}
