//! Calls under a timeout (and on the async tier) run in fuel slices (`imports::call_in_slices`,
//! `call_async`): a call must run whatever fuel the last one left in the slice. wasmi 2.0.0
//! charges fuel for translating a function when it is first called, and running out there fails
//! the call instead of asking for more; so with slices translating costs no fuel (`Wasmi::new`).
//! Before, a call failed with `trap.out-of-fuel` whenever a function it called first cost more
//! than what was left of the slice (found by the comparison's workloads).

use std::time::Duration;

use harness::{Config, DynEngine, Engine as _, Fault, Limits, Sink, Trap};

/// `burn(n)` loops `n` times, so that calls of it leave every amount of fuel in the slice;
/// `big()` is a function whose translation costs more fuel than a whole slice (100,000).
fn module() -> String {
    let body = "(local.set $x (i32.add (local.get $x) (i32.const 1)))\n".repeat(20_000);
    format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "big") (result i32) (local $x i32) {body} (local.get $x))
  (func (export "burn") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (local.get $i)))"#
    )
}

#[test]
fn a_call_under_a_timeout_runs_whatever_fuel_the_last_one_left() {
    for tier in ["lazy-translation", "lazy", "eager", "async"] {
        let limits = Limits { timeout: Some(Duration::from_secs(3600)), ..Limits::unmetered() };
        let config = Config { limits, tier: Some(tier.into()), ..Config::default() };
        let engine = host_wasmi::Wasmi::new(&config).expect("engine");
        let engine: &dyn DynEngine = &engine;
        let module = engine.load_module(module().as_bytes()).expect("module");
        for n in [0, 1000, 30_000] {
            let mut instance = engine.instantiate_module(&module, Sink::Discard).expect("instance");
            let result = instance.call("burn", &[n]);
            assert!(result == Ok(Some(n)), "{tier}: burn({n}) gave {result:?}");
            let result = instance.call("big", &[]);
            assert!(result == Ok(Some(20_000)), "{tier}: big() after burn({n}) gave {result:?}");
        }
    }
}

#[test]
fn a_fuel_limit_under_a_timeout_is_still_kept() {
    let limits = Limits { timeout: Some(Duration::from_secs(3600)), fuel: Some(250_000), ..Limits::unmetered() };
    let config = Config { limits, tier: Some("lazy-translation".into()), ..Config::default() };
    let engine = host_wasmi::Wasmi::new(&config).expect("engine");
    let engine: &dyn DynEngine = &engine;
    let module = engine.load_module(module().as_bytes()).expect("module");
    let mut instance = engine.instantiate_module(&module, Sink::Discard).expect("instance");
    // The instance's fuel is shared by its calls: 400 calls need far more than 250,000.
    let failed = (0..400).map(|n| instance.call("burn", &[n])).find(|r| r.is_err());
    let fault = failed.and_then(Result::err).map(|f| f.fault);
    assert_eq!(fault, Some(Fault::Trap(Trap::OutOfFuel)), "the limit was not kept");
}
