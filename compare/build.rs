//! Records, for the report, the version of every package in `Cargo.lock` (the runtimes' among
//! them) and of rustc.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    // At run time, not `env!`: a build script compiled in another checkout must not read that
    // checkout's lock file.
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let lock_path = manifest_dir.join("../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock =
        std::fs::read_to_string(&lock_path).unwrap_or_else(|e| panic!("cannot read {}: {e}", lock_path.display()));
    // `(name, version, dependencies)` of every package; a crate locked twice (cranelift:
    // wasmtime's and wasmer's) appears twice. A dependency is `name` or, where its name is locked
    // more than once, `name version`.
    let mut packages = String::from("&[\n");
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(key))
                .map(|v| v.trim_start_matches(" = ").trim_matches('"'))
        };
        let dependencies: Vec<&str> = block
            .split_once("dependencies = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| list.split(',').map(|d| d.trim().trim_matches('"')).filter(|d| !d.is_empty()).collect())
            .unwrap_or_default();
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            packages += &format!("    ({name:?}, {version:?}, &{dependencies:?}),\n");
        }
    }
    packages += "]\n";
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("locked.rs");
    std::fs::write(&out, packages).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));

    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    println!("cargo::rustc-env=VERSION_RUSTC={}", version.trim());
}
