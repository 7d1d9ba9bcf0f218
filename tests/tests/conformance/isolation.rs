//! Per-instance isolation on every tier, including wasmtime's `pooling` tier, which reuses
//! pre-reserved instance slots and maps memory copy-on-write: whatever one instance wrote into
//! its memory must be gone in the next instance, which starts from the module's own image.

use harness::{Config, Sink};
use runtimes::all_tiers;

#[test]
fn no_instance_sees_what_an_earlier_one_wrote() {
    for tier in all_tiers(&Config::default()) {
        let label = tier.label();
        let engine = tier.engine.unwrap_or_else(|f| panic!("{label}: {f}"));
        let module = engine.load_module(guest_wasm::GUEST_WASM).unwrap_or_else(|f| panic!("{label}: {f}"));
        let fresh = |round: usize| {
            let mut instance = engine.instantiate_module(&module, Sink::Record).expect("instance");
            (instance.read_memory().unwrap_or_else(|f| panic!("{label}: round {round}: {f}")), instance)
        };
        let (image, _) = fresh(0);
        for round in 1..=20 {
            let (memory, mut instance) = fresh(round);
            assert!(memory == image, "{label}: round {round}: a new instance does not start from the module's image");
            // Leave traces everywhere: heap use by the guest, then a secret over all its memory
            // (its data and stack included, so the guest is not called after it).
            assert_eq!(instance.call("hello", &[]).map_err(|f| f.fault), Ok(Some(4567)), "{label}");
            let size = instance.read_memory().expect("read").len();
            instance.write_memory(0, &vec![0xA5; size]).expect("write");
            drop(instance);
        }
    }
}
