//! Hostile modules: every fixture in `tests/cases/` runs on every runtime. Each must end exactly
//! as its golden file `tests/golden/cases/NAME.txt` says (events, then the outcome with its
//! runtime-neutral error kind), the runtimes must agree with each other, and every engine must
//! still run the demo after all of them.
//!
//! Adding a case is adding a fixture file, then `BLESS=1 cargo test -p conformance --test cases`
//! and reviewing the new golden file.

use conformance::engines;
use harness::{Limits, golden};

#[test]
fn every_hostile_case_ends_as_its_golden_file_on_every_runtime() {
    let engines = engines(&Limits::default()).expect("engines");
    let cases = golden::cases();
    assert!(cases.len() >= 40, "only {} fixtures found", cases.len());
    let mut problems = Vec::new();
    for case in &cases {
        let bytes = std::fs::read(&case.path).expect("fixture");
        let mut texts = Vec::new();
        for engine in &engines {
            let report = engine.run(&bytes, "run", &[]);
            let text = golden::render(&report.lines());
            if let Err(diff) = golden::compare(&case.golden_name(), &text) {
                problems.push(format!("{} × {}: {diff}", engine.name(), case.name));
            }
            texts.push((engine.name(), text));
        }
        if let Some((first, rest)) = texts.split_first()
            && let Some((other, text)) = rest.iter().find(|(_, t)| *t != first.1)
        {
            problems.push(format!(
                "{}: {} and {other} disagree\n--- {}\n{}--- {other}\n{text}",
                case.name, first.0, first.0, first.1
            ));
        }
    }
    // Faults leave the engines usable.
    for engine in &engines {
        let report = engine.run(guest_wasm::GUEST_WASM, "hello", &[]);
        if report.outcome != Ok(Some(4567)) {
            problems.push(format!(
                "{}: the demo fails after the hostile cases: {:?}",
                engine.name(),
                report.outcome
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
