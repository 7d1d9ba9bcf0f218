//! Builds the `guest` and `guest-component` crates for `wasm32-unknown-unknown` and leaves
//! `guest.wasm` and `guest.component.wasm` in `OUT_DIR`: the second is the core module of
//! `guest-component` wrapped into a component by `wit_component::ComponentEncoder` (it imports
//! nothing but its WIT world, so no WASI adapter). With the `extism` feature it builds
//! `guest-extism` too, as `guest.extism.wasm`. It builds `guest-workloads` too, with the
//! `workloads` profile (optimised for speed: the comparison times it against native code), as
//! `guest.workloads.wasm`.
//!
//! This runs cargo once more, for the wasm target, in a target directory of its own,
//! `guest-wasm/` in the outer build's target directory (sharing the outer build's own would
//! deadlock on its lock). One for every profile and feature set of the outer build: a check, a
//! test build and a release build each ran this with their own `OUT_DIR`, and each built the
//! guests again (five copies, 0.9 GB, in a CI run); now the first builds and the others find
//! them built (cargo's lock serialises the runs that overlap). It uses the workspace's
//! `guest` profile (size-optimised, LTO, `panic = "abort"`). If the wasm32 target is missing it is
//! installed with rustup; if that cannot work the build stops with the command to run.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> ExitCode {
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a failing build script's stderr; keep it to the point.
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let workspace = manifest_dir.parent().ok_or("guest-wasm has no parent directory")?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    for input in [
        "guest",
        "guest-component",
        "guest-extism",
        "guest-workloads",
        "workloads",
        "wit",
        "common",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo::rerun-if-changed={}", workspace.join(input).display());
    }

    ensure_wasm_target()?;

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // OUT_DIR is TARGET_DIR/[TRIPLE/]PROFILE/build/guest-wasm-HASH/out: the shared directory goes
    // beside PROFILE (else, in an unusual layout, under OUT_DIR).
    let target_dir = match out_dir.ancestors().nth(2).and_then(Path::file_name) {
        Some(name) if name == "build" => out_dir.ancestors().nth(4).map(|dir| dir.join("guest-wasm")),
        _ => None,
    }
    .unwrap_or_else(|| out_dir.join("target"));
    let extism = env::var_os("CARGO_FEATURE_EXTISM").is_some();
    let mut packages = vec!["guest", "guest-component"];
    if extism {
        packages.push("guest-extism");
    }
    cargo_build(&cargo, workspace, &target_dir, "guest", &packages)?;
    cargo_build(&cargo, workspace, &target_dir, "workloads", &["guest-workloads"])?;

    let built = target_dir.join(TARGET).join("guest");
    let core = built.join("guest.wasm");
    let dest = out_dir.join("guest.wasm");
    std::fs::copy(&core, &dest).map_err(|e| format!("could not copy {} to {}: {e}", core.display(), dest.display()))?;

    let module = built.join("guest_component.wasm");
    let module = std::fs::read(&module).map_err(|e| format!("could not read {}: {e}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("could not make a component of guest-component: {e:#}"))?;
    let dest = out_dir.join("guest.component.wasm");
    std::fs::write(&dest, component).map_err(|e| format!("could not write {}: {e}", dest.display()))?;

    let workloads = target_dir.join(TARGET).join("workloads").join("guest_workloads.wasm");
    let dest = out_dir.join("guest.workloads.wasm");
    std::fs::copy(&workloads, &dest)
        .map_err(|e| format!("could not copy {} to {}: {e}", workloads.display(), dest.display()))?;

    if extism {
        let plugin = built.join("guest_extism.wasm");
        let dest = out_dir.join("guest.extism.wasm");
        std::fs::copy(&plugin, &dest)
            .map_err(|e| format!("could not copy {} to {}: {e}", plugin.display(), dest.display()))?;
    }
    Ok(())
}

/// Builds `packages` for [`TARGET`] with `profile`, in `target_dir`.
fn cargo_build(
    cargo: &std::ffi::OsStr,
    workspace: &Path,
    target_dir: &Path,
    profile: &str,
    packages: &[&str],
) -> Result<(), String> {
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args(["build", "--target", TARGET, "--profile", profile]);
    for package in packages {
        command.args(["--package", package]);
    }
    command.arg("--target-dir").arg(target_dir);
    // What the outer build set for its own compilation must not leak into the guest's.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(var);
    }
    let status = command.status().map_err(|e| format!("could not run cargo for the guest: {e}"))?;
    if !status.success() {
        return Err(format!("building {} for {TARGET} failed ({status}); see the output above", packages.join(", ")));
    }
    Ok(())
}

/// Makes sure the standard library for [`TARGET`] is installed, installing it with rustup if not.
fn ensure_wasm_target() -> Result<(), String> {
    if target_installed() {
        return Ok(());
    }
    let fix = format!("run `rustup target add {TARGET}` and build again");
    println!("cargo::warning=the {TARGET} target is missing; installing it with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| format!("the {TARGET} target is not installed and rustup could not be run ({e}): {fix}"))?;
    if !status.success() || !target_installed() {
        return Err(format!("the {TARGET} target is not installed and `rustup target add` failed: {fix}"));
    }
    Ok(())
}

fn target_installed() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .is_some_and(|dir| has_core(Path::new(dir.trim())))
}

fn has_core(libdir: &Path) -> bool {
    std::fs::read_dir(libdir)
        .is_ok_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
}
