//! Hostile components in one process, on one engine: each ends as its golden file says
//! (`tests/golden/components/`, `tests/golden/component-calls/`), and after each the demo still
//! runs in a new instance: a fault never outlives its instance.

use harness::{Config, Engine, Limits};
use host_wasmtime_component::WasmtimeComponent;

#[test]
fn every_hostile_component_fails_as_its_golden_file_says_and_the_next_instance_is_fine() {
    let mut problems = Vec::new();
    for suite in golden::component_suites() {
        let engine = WasmtimeComponent::new(&Config::new(suite.limits.clone())).expect("engine");
        let (demo, demo_shape) = engine.load(guest_wasm::GUEST_COMPONENT).expect("the guest component loads");
        for case in suite.cases() {
            let bytes = std::fs::read(&case.path).expect("fixture");
            let text = golden::render(&suite.run(&engine, &bytes).lines());
            if let Err(diff) = golden::compare(&case.golden_name, &text) {
                problems.push(format!("{}/{}: {diff}", suite.dir, case.name));
            }
            let after = harness::run_module(&engine, &demo, &demo_shape, "hello", &[]).lines();
            if after.last().map(String::as_str) != Some("returned 4567") {
                problems.push(format!("{}/{}: the demo after it: {after:?}", suite.dir, case.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The pooling tier runs the demo and the call with input as the default tier does.
#[test]
fn the_pooling_tier_runs_the_demo() {
    let config = Config { tier: Some("pooling".into()), ..Config::new(Limits::default()) };
    let engine = WasmtimeComponent::new(&config).expect("engine");
    let report = harness::run(&engine, guest_wasm::GUEST_COMPONENT, "hello", &[]);
    assert_eq!(golden::render(&report.lines()), golden::read("hello.txt"));
    let report = harness::run_with_input(&engine, guest_wasm::GUEST_COMPONENT, "handle", b"Wasm");
    assert_eq!(golden::render(&report.lines()), golden::read("hello_input.txt"));
}

/// With a timeout and no fuel limit, the clock stops a component's endless loop, in the call and
/// in `cabi_realloc` called while lowering a host call's result: the same loops the fuel suite
/// stops (`endless_loop`, `realloc_loops`), ending in `trap.timeout` with the events before kept.
#[test]
fn a_timeout_stops_a_looping_component_in_the_call_and_in_its_allocator() {
    let suite = &golden::component_suites()[0];
    let limits = Limits { fuel: None, timeout: Some(golden::DEADLINE_SUITE_TIMEOUT), ..suite.limits.clone() };
    let engine = WasmtimeComponent::new(&Config::new(limits)).expect("engine");
    for (case, events) in [("endless_loop", 1), ("realloc_loops", 0)] {
        let fixture = suite.cases().into_iter().find(|c| c.name == case).expect("fixture");
        let bytes = std::fs::read(&fixture.path).expect("fixture");
        let report = harness::run(&engine, &bytes, "run", &[]);
        let lines = report.lines();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("failed trap.timeout: the guest ran past its deadline (wall-clock timeout)"),
            "{case}: {lines:?}"
        );
        assert_eq!(report.events.len(), events, "{case}: {lines:?}");
    }
}
