//! Records, for the report, the versions of the runtime crates (from `Cargo.lock`) and of rustc.

use std::path::Path;
use std::process::Command;

fn main() {
    let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for (krate, var) in [
        ("wasmtime", "WASMTIME"),
        ("wasmer", "WASMER"),
        ("wasmi", "WASMI"),
        ("cranelift-codegen", "CRANELIFT"),
        ("bincode", "BINCODE"),
    ] {
        // Every version of the crate in the lock file (cranelift appears twice: wasmtime's and
        // wasmer's), joined with '+'.
        let versions: Vec<&str> = lock
            .split("[[package]]")
            .filter(|block| block.lines().any(|l| l.trim() == format!("name = \"{krate}\"")))
            .filter_map(|block| block.lines().find_map(|l| l.trim().strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'))
            .collect();
        println!("cargo::rustc-env=VERSION_{var}={}", versions.join("+"));
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo::rustc-env=VERSION_RUSTC={}", version.trim());
}
