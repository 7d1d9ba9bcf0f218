//! The comparison tool end to end, on a tiny budget: it runs, writes every file, the JSON parses
//! with every cell filled, and the compute kernel's and the workloads' results are right on every
//! tier (the tool checks each call against the native result and fails otherwise). No timing is
//! asserted.

use std::process::Command;

use serde_json::Value;

#[test]
fn tiny_run_writes_a_complete_report() {
    let out = std::env::temp_dir().join(format!("compare-e2e-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--rounds", "2", "--target-us", "100", "--kernel-limit", "5000", "--memory-instances", "3"])
        .args(["--workload-divisor", "256"])
        .arg("--no-progress")
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run compare");
    assert!(status.success(), "compare failed: {status}");

    for file in [
        "report.md",
        "report.html",
        "call-cost.svg",
        "startup-vs-execution.svg",
        "execution.svg",
        "payload-scaling-str.svg",
        "payload-scaling-ab.svg",
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        if file.ends_with(".svg") {
            assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{file} is not an SVG document");
        }
        if file.ends_with(".html") {
            // Self-contained: nothing loaded from elsewhere (compare/tests/browser.rs checks the
            // page in a browser).
            assert!(text.starts_with("<!DOCTYPE html>") && text.trim_end().ends_with("</html>"), "{file}");
            assert!(!text.contains(" src=") && !text.contains("<link"), "{file} loads something from elsewhere");
        }
    }

    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json"))
        .expect("report.json parses");
    for key in runtimes::names().chain(["rustc"]) {
        assert!(json["versions"][key].as_str().is_some_and(|v| !v.is_empty()), "version of {key} missing");
    }
    assert!(json["machine"]["cpu"].as_str().is_some(), "CPU missing");
    assert_eq!(json["settings"]["kernel_result"], 669, "primes below 5000");

    let columns: Vec<&Value> = json["columns"].as_array().expect("columns").iter().collect();
    let labels: Vec<&str> = columns.iter().filter_map(|c| c["label"].as_str()).collect();
    // Every runtime unless `WASM_HOSTCALL_RUNTIMES` narrows them (the baseline stays).
    let selected: Vec<&str> = runtimes::selected().iter().map(|r| r.name).collect();
    assert!(labels.contains(&"wasmtime/cranelift"), "the baseline is not in the report");
    for expected in ["wasmtime/cranelift", "wasmtime/winch", "wasmtime/pulley", "wasmer/cranelift", "wasmer/singlepass"]
    {
        let runtime = expected.split('/').next().unwrap_or_default();
        assert!(!selected.contains(&runtime) || labels.contains(&expected), "{expected} not in the report");
    }
    if selected.contains(&"wasmi") {
        assert!(labels.iter().filter(|l| l.starts_with("wasmi/")).count() >= 2, "wasmi tiers missing");
    }
    for expected in ["wasmtime-component/cranelift", "wasmtime-component/pooling"] {
        assert!(labels.contains(&expected), "{expected} not in the report");
    }
    if cfg!(feature = "peers") {
        assert!(labels.contains(&"extism/cranelift"), "extism not in the report");
    }
    for runtime in &selected {
        assert!(labels.iter().any(|l| l.starts_with(&format!("{runtime}/"))), "{runtime} not in the report");
    }
    for runtime in runtimes::names().filter(|name| !selected.contains(name)) {
        let mut measured = labels.iter().filter(|l| l.starts_with(&format!("{runtime}/")));
        assert!(measured.all(|l| *l == "wasmtime/cranelift"), "{runtime} not selected but measured");
    }
    // Every tier is available here; a tier that is not must say why.
    for column in &columns {
        assert!(column["unavailable"].is_null(), "{} unavailable: {}", column["label"], column["unavailable"]);
    }

    let rows = json["rows"].as_array().expect("rows");
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    for row in rows {
        let id = row["id"].as_str().expect("row id");
        for label in &labels {
            let samples = row["samples"][label].as_array().unwrap_or_else(|| panic!("{id}: no samples for {label}"));
            let filled = samples.iter().filter(|s| s.as_f64().is_some_and(f64::is_finite)).count();
            // Only the JITs (wasmtime, wasmer) load precompiled modules; everything else has a
            // sample in every round (memory is measured once).
            let jit = label.starts_with("wasmtime/") || label.starts_with("wasmer/");
            // The host of components has no answer into a buffer (its answers come back through
            // cabi_realloc), no key-value lookup, and loads nothing precompiled; the rows of a
            // string taken owned or borrowed are the component model's alone.
            let component = label.starts_with("wasmtime-component/");
            let buffer_answer = id.starts_with("answer.str.") || id == "answer.cd" || id == "answer.kv_get";
            // The workloads are a core module, run where the guest is one (and their geometric
            // mean needs them).
            let workload = id.starts_with("exec.workload.") || id == "exec.geomean";
            // Extism (with the `peers` feature) has the rows of its request path only.
            let extism_rows = ["call.log_str.", "enter.", "startup.", "exec.kernel", "memory."];
            let extism = label.starts_with("extism/");
            // What being stoppable costs: only where the runtime can stop a guest that way (wasm3
            // cannot at all, tinywasm not by the clock), and the lateness of a timeout on the
            // bench module's endless loop, which a component does not have.
            let runtime = runtimes::find(label.split('/').next().unwrap_or_default());
            let no_fuel = runtime.is_some_and(|r| !r.meters_fuel);
            let no_deadline = runtime.is_some_and(|r| !r.stops_on_deadline);
            let expected = match id {
                "exec.kernel_fuel" | "exec.kernel_deadline" | "exec.timeout_late" if extism => 0,
                "exec.kernel_fuel" if no_fuel => 0,
                "exec.kernel_deadline" if no_deadline => 0,
                "exec.timeout_late" if no_deadline || component => 0,
                _ if extism && (id == "startup.precompiled" || !extism_rows.iter().any(|p| id.starts_with(p))) => 0,
                id if extism && id.starts_with("memory.") => 1,
                _ if extism => 2,
                _ if component && (buffer_answer || workload || id == "startup.precompiled") => 0,
                _ if !component && id.starts_with("call.str_") => 0,
                "startup.precompiled" if !jit => 0,
                id if id.starts_with("memory.") => 1,
                _ => 2,
            };
            assert_eq!(filled, expected, "{id} × {label}: {samples:?}");
        }
    }
    let kernel = rows.iter().find(|r| r["id"] == "exec.kernel").expect("kernel row");
    assert_eq!(kernel["native"].as_array().map(Vec::len), Some(2), "native kernel samples");
    // Every workload has its native floor; the geometric mean is of the kernel and all of them.
    for workload in workloads::Workload::ALL {
        let id = format!("exec.workload.{}", workload.id());
        let row = rows.iter().find(|r| r["id"] == id.as_str()).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(row["native"].as_array().map(Vec::len), Some(2), "native samples of {id}");
    }
    assert_eq!(json["settings"]["workload_bytes"]["sha256"], 4096, "1 MiB / 256");
    let geomean = rows.iter().find(|r| r["id"] == "exec.geomean").expect("geomean row");
    assert!(geomean["title"].as_str().is_some_and(|t| t.contains("3 workloads")), "{}", geomean["title"]);
    let _ = std::fs::remove_dir_all(&out);
}
