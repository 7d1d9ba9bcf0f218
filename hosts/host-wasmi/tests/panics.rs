//! wasmi 2.0.0's translator panics on some valid code (README, Known differences; the fixture
//! `cases/store_same_value_far_offset`). With lazy translation the panic comes at the function's
//! first call and leaves it marked as being translated: the next call of it, from any instance of
//! the module, spun forever in wasmi (found by the load example's soak, which compiles each
//! fixture once and runs it again and again). host-wasmi now refuses a module wasmi panicked on,
//! and its instances, with `runtime`.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use harness::{Config, DynEngine, Engine as _, Fault, Limits, Sink};

/// The fixture the conformance suite runs once per compiled module.
const PANICS: &str = include_str!("../../../tests/cases/store_same_value_far_offset.wat");

/// Every outcome of calling `run` on instances of one compiled module, after a first call that
/// panicked: a new instance, then the first instance again. Run on a thread of its own, so that
/// a hang fails the test instead of stopping it.
fn calls_after_a_panic(tier: &'static str, timeout: Option<Duration>) -> Vec<Result<Option<i32>, Fault>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let limits = Limits { timeout, ..Limits::default() };
        let config = Config { limits, tier: Some(tier.into()), ..Config::default() };
        let engine = host_wasmi::Wasmi::new(&config).expect("engine");
        let engine: &dyn DynEngine = &engine;
        let module = match engine.load_module(PANICS.as_bytes()) {
            Ok(module) => module,
            // Eager translation panics at load: nothing is left to call.
            Err(failure) => return sender.send(vec![Err(failure.fault)]).expect("send"),
        };
        let mut first = engine.instantiate_module(&module, Sink::Discard).expect("instance");
        let mut outcomes = vec![first.call("run", &[]).map_err(|f| f.fault)];
        let second = engine.instantiate_module(&module, Sink::Discard);
        outcomes.push(second.and_then(|mut second| second.call("run", &[])).map_err(|f| f.fault));
        outcomes.push(first.call("run", &[]).map_err(|f| f.fault));
        sender.send(outcomes).expect("send");
    });
    receiver.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{tier}: a call after wasmi's panic hung"))
}

#[test]
fn a_module_wasmi_panicked_on_is_refused_not_hung() {
    for (tier, timeout) in [
        ("lazy-translation", None),
        ("lazy", None),
        ("eager", None),
        ("lazy-translation", Some(Duration::from_secs(3600))),
        ("async", None),
    ] {
        let outcomes = calls_after_a_panic(tier, timeout);
        assert!(!outcomes.is_empty() && outcomes.iter().all(|o| *o == Err(Fault::Runtime)), "{tier}: {outcomes:?}");
        if tier != "eager" {
            assert_eq!(outcomes.len(), 3, "{tier}: the module loaded, so every call was made");
        }
    }
}
