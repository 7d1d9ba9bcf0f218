//! The scenario matrix: every `scenario_*` export of the Rust guest runs on every runtime, at every
//! tier, and must match `tests/golden/scenarios/NAME.txt`; the runtimes must also agree with each
//! other, event for event.
//!
//! Adding a scenario is adding an export to `guest/src/lib.rs`, then
//! `BLESS=1 cargo test -p conformance --test conformance scenarios::` and reviewing the new golden file.

use harness::Config;
use runtimes::all_tiers;

#[test]
fn every_scenario_matches_its_golden_file_on_every_runtime() {
    let engines: Vec<_> = all_tiers(&Config::default())
        .into_iter()
        .map(|t| {
            let label = t.label();
            t.engine.unwrap_or_else(|f| panic!("{label}: {f}"))
        })
        .collect();
    let modules: Vec<_> = engines
        .iter()
        .map(|e| e.load_module(guest_wasm::GUEST_WASM).unwrap_or_else(|f| panic!("{}: {f}", e.name())))
        .collect();
    let scenarios: Vec<String> =
        modules[0].shape().functions().into_iter().filter(|name| name.starts_with("scenario_")).collect();
    assert!(scenarios.len() >= 10, "only {} scenarios exported", scenarios.len());

    let mut problems = Vec::new();
    for scenario in &scenarios {
        let golden_name = format!("scenarios/{scenario}.txt");
        let mut first: Option<(&str, harness::Report)> = None;
        for (engine, module) in engines.iter().zip(&modules) {
            let report = engine.run_calls(module, &[], scenario, &[vec![]]);
            if let Err(diff) = golden::compare(&golden_name, &golden::render(&report.lines())) {
                problems.push(format!("{}/{} × {scenario}: {diff}", engine.name(), engine.tier()));
            }
            // Compare the full events too, not only their (possibly summarised) rendering.
            match &first {
                None => first = Some((engine.name(), report)),
                Some((name, expected)) if expected.events != report.events || expected.lines() != report.lines() => {
                    problems.push(format!("{scenario}: {name} and {}/{} disagree", engine.name(), engine.tier()));
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
