//! The demo: `hello` prints the same thing on every runtime, and that thing is the golden file.

use harness::Limits;
use runtimes::engines;

#[test]
fn hello_matches_the_golden_output_on_every_runtime() {
    let engines = engines(&Limits::default()).expect("engines");
    for engine in &engines {
        let report = engine.run(guest_wasm::GUEST_WASM, "hello", &[]);
        let text = golden::render(&report.lines());
        if let Err(diff) = golden::compare("hello.txt", &text) {
            panic!("{}: {diff}", engine.name());
        }
        assert_eq!(report.outcome, Ok(Some(4567)), "{}", engine.name());
        assert_eq!(report.events.len(), 4, "{}", engine.name());
    }
}
