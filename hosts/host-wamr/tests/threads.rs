//! WAMR's runtime is one per process: engines, modules and instances made and used on many
//! threads at once give the same results as on one.

use harness::{Config, DynEngine, Engine, Limits};

#[test]
fn many_threads_run_the_demo_and_stop_at_their_fuel() {
    let engine = host_wamr::Wamr::new(&Config::new(Limits { fuel: Some(1_000_000), ..Limits::default() })).unwrap();
    let spin = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/limits/spin.wat")).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let report = engine.run(guest_wasm::GUEST_WASM, "hello", &[]);
                    assert_eq!(report.outcome, Ok(Some(4567)), "{report:?}");
                    assert_eq!(report.events.len(), 4);
                    let report = engine.run(&spin, "run", &[]);
                    assert_eq!(
                        report.lines().last().unwrap(),
                        "failed trap.out-of-fuel: the guest ran out of fuel (CPU budget)"
                    );
                }
            });
        }
    });
}
