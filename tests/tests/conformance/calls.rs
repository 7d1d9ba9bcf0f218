//! Calls with input ([`harness::Instance::call_with_input`]) on one instance, many times: a guest
//! that traps in the middle of a call (after reading the request and responding) must leave no
//! state behind, and the next call on the same instance must get its own request and response.
//!
//! 10,000 rounds (a trapped call and a good one each) per runtime.

use common::Event;
use harness::{Fault, Limits, Sink, Trap};
use runtimes::engines;

const MODULE: &str = include_str!("../../modules/good_and_bad_handlers.wat");

const ROUNDS: usize = 10_000;

#[test]
fn a_trap_mid_call_leaves_the_instance_usable() {
    for engine in engines(&Limits::default()).expect("engines") {
        let module = engine.load_module(MODULE.as_bytes()).unwrap_or_else(|f| panic!("{}: {f}", engine.name()));
        let mut instance = engine.instantiate_module(&module, Sink::Record).expect("instance");
        for round in 0..ROUNDS {
            let bad = instance.call_with_input("bad", format!("bad {round}").as_bytes());
            let fault = bad.map_err(|f| f.fault);
            assert_eq!(fault, Err(Fault::Trap(Trap::Unreachable)), "{}: round {round}", engine.name());
            let input = format!("request {round}");
            let response = instance.call_with_input("echo", input.as_bytes());
            let response = response.unwrap_or_else(|f| panic!("{}: round {round}: {f}", engine.name()));
            assert_eq!(response, Event::Str(input.into()), "{}: round {round}", engine.name());
        }
        let events = instance.take_events();
        assert_eq!(events.len(), ROUNDS, "{}: one event per trapped call", engine.name());
        assert_eq!(
            events.last(),
            Some(&Event::Int(i32::try_from(format!("bad {}", ROUNDS - 1).len()).expect("short")))
        );
    }
}
