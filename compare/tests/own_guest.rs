//! `compare --guest`: a module that is not ours (it imports a function outside the ABI, stubbed
//! with `--stub-imports`), measured on every runtime and tier of the build on a tiny budget.
//! Checks that every tier is a column, measured or with the reason it refused or failed; that
//! the stub is listed; that the output of every tier is the same (one "Output on" note, no
//! divergence) and is the module's; and that a handler gets its request from `--input`. No
//! timing is asserted.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `sum(n)` logs and returns 0 + 1 + … + n-1, plus the host's clock (an import outside the ABI: a
/// stub returns 0 here); the handler `vowels` logs how many vowels its request has and responds
/// with the request.
const MODULE: &str = r#"(module
  (import "env" "log_int" (func $log_int (param i32)))
  (import "env" "request_read" (func $request_read (param i32 i32 i32) (result i32)))
  (import "env" "respond_str" (func $respond_str (param i32 i32)))
  (import "host" "clock" (func $clock (result i64)))
  (memory (export "memory") 1)
  (func (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (call $log_int (local.get $sum))
    (i32.add (local.get $sum) (i32.wrap_i64 (call $clock))))
  (func (export "vowels") (param $len i32) (result i32)
    (local $i i32) (local $count i32) (local $c i32)
    (drop (call $request_read (i32.const 1024) (i32.const 4096) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.load8_u offset=1024 (local.get $i)))
        (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 97)) (i32.eq (local.get $c) (i32.const 101)))
                    (i32.or (i32.eq (local.get $c) (i32.const 105))
                            (i32.or (i32.eq (local.get $c) (i32.const 111)) (i32.eq (local.get $c) (i32.const 117)))))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $log_int (local.get $count))
    (call $respond_str (i32.const 1024) (local.get $len))
    (i32.const 0)))"#;

fn run(dir: &Path, extra: &[&str]) -> (bool, Value, String) {
    let out = dir.join(extra.join("-").replace(['/', ','], "_"));
    let output = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--rounds", "2", "--target-us", "100", "--memory-instances", "2", "--no-progress", "--stub-imports"])
        .arg("--guest")
        .arg(dir.join("module.wat"))
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run compare");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let json = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}): {stdout}{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), serde_json::from_str(&json).expect("report.json parses"), stdout)
}

#[test]
fn a_module_of_your_own_runs_on_every_tier() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("own-guest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the directory");
    std::fs::write(dir.join("module.wat"), MODULE).expect("write the module");
    let input = dir.join("request.txt");
    std::fs::write(&input, "a quick brown fox jumps over the lazy dog").expect("write the request");

    for (extra, output) in [
        (vec!["--invoke", "sum", "--args", "10"], "int 45 / returned 45"),
        (vec!["--invoke", "vowels", "--input", input.to_str().expect("UTF-8 path")], "int 11 / response"),
    ] {
        let (success, report, stdout) = run(&dir, &extra);
        assert!(success, "compare {extra:?} failed:\n{stdout}");
        assert_eq!(report["guest"]["stubs"], serde_json::json!(["host::clock"]), "{extra:?}");
        let notes: Vec<&str> = report["notes"].as_array().expect("notes").iter().filter_map(Value::as_str).collect();
        assert!(notes.iter().all(|n| !n.starts_with("DIVERGENCE")), "{extra:?}: {notes:?}");
        let outputs: Vec<&&str> = notes.iter().filter(|n| n.starts_with("Output on")).collect();
        assert_eq!(outputs.len(), 1, "{extra:?}: {notes:?}");
        assert!(outputs[0].contains(output), "{extra:?}: {}", outputs[0]);

        // Every tier of the build is a column: measured in every round, or with its reason.
        let columns = report["columns"].as_array().expect("columns");
        let tiers: usize = runtimes::selected().iter().map(|r| r.tiers.len()).sum();
        assert!(columns.len() >= tiers, "{} columns for {tiers} tiers", columns.len());
        let call = report["rows"].as_array().expect("rows").iter().find(|r| r["id"] == "own.call").expect("call row");
        for column in columns {
            let label = column["label"].as_str().expect("label");
            match column["unavailable"].as_str() {
                Some(reason) => {
                    assert!(reason.starts_with("refused it: ") || reason.starts_with("failed: "), "{label}: {reason}")
                }
                None => {
                    let samples = call["samples"][label].as_array().unwrap_or_else(|| panic!("{label}: no samples"));
                    assert!(
                        samples.len() == 2 && samples.iter().all(|s| s.as_f64().is_some_and(|v| v > 0.0)),
                        "{label}: {samples:?}"
                    );
                }
            }
        }
        assert!(columns.iter().any(|c| c["label"] == "wasmtime/cranelift" && c["unavailable"].is_null()), "baseline");
    }
}
