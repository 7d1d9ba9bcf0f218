//! Differential property test: arbitrary memory contents, offsets, lengths and import choices,
//! run through a raw guest (`tests/modules/dispatch.wat`) on every runtime. Every runtime must
//! give exactly what the reference (the `common` decoders applied to the same memory image)
//! gives: the same events, then the same outcome.
//!
//! `CONFORMANCE_CASES=100000 cargo test -p conformance --test conformance --release differential::` for a long
//! run. A failing case is shrunk and printed (and saved under `proptest-regressions/`); turn it
//! into a fixture in `tests/cases/` to keep it.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "sizes are below 64 KiB")]

use std::sync::OnceLock;

use common::{AB, CD, CD_WIRE_SIZE, Event, Import, ab_config, decode_value};
use harness::{Failure, Fault, HostError, HostErrorKind};
use proptest::prelude::*;

use crate::support::Everywhere;

const MEMORY_SIZE: u32 = 65_536;
const DISPATCH: &str = include_str!("../../modules/dispatch.wat");

/// One generated case: bytes written at `base`, then calls of `(import, ptr, len)`.
#[derive(Debug, Clone)]
struct Case {
    base: u32,
    bytes: Vec<u8>,
    calls: Vec<(u32, i32, i32)>,
}

/// What the reference decoders say the case does.
fn reference(case: &Case) -> (Vec<Event<'static>>, Result<Option<i32>, Fault>) {
    let mut memory = vec![0u8; MEMORY_SIZE as usize];
    let base = case.base as usize;
    memory[base..base + case.bytes.len()].copy_from_slice(&case.bytes);
    let mut events = Vec::new();
    for &(n, ptr, len) in &case.calls {
        let import = import_number(n);
        match decode_value(import.value_kind().expect("a log import"), &memory, ptr, len) {
            Ok(event) => events.push(event.into_owned()),
            Err(e) => {
                return (events, Err(Fault::Host(HostError { import, kind: HostErrorKind::Abi(e) })));
            }
        }
    }
    (events, Ok(None))
}

/// The dispatch module's numbering: 0, 1, 2, anything else.
fn import_number(n: u32) -> Import {
    match n {
        0 => Import::LogInt,
        1 => Import::LogStr,
        2 => Import::LogAb,
        _ => Import::LogCd,
    }
}

/// The dispatch module, loaded once on every engine.
fn setup() -> &'static Everywhere {
    static SETUP: OnceLock<Everywhere> = OnceLock::new();
    SETUP.get_or_init(|| Everywhere::load(DISPATCH))
}

/// Bytes worth decoding: valid encodings of each argument kind, and noise.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,60}".prop_map(String::into_bytes),
        (any::<u32>(), "\\PC{0,40}")
            .prop_map(|(a, b)| { bincode::serde::encode_to_vec(AB { a, b }, ab_config()).expect("encode") }),
        (any::<i32>(), "\\PC{0,8}").prop_map(|(c, d)| {
            let cd = CD::new(c, &d).unwrap_or_else(|_| CD::new(c, "").expect("empty text fits"));
            bytemuck::bytes_of(&cd.to_wire()).to_vec()
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (payload(), prop_oneof![0u32..1024, (MEMORY_SIZE - 320)..MEMORY_SIZE]).prop_flat_map(|(bytes, base)| {
        let base = base.min(MEMORY_SIZE - bytes.len() as u32);
        let len = bytes.len() as i32;
        let b = base as i32;
        let ptr = prop_oneof![
            4 => Just(b),
            2 => b..=b + len,
            1 => (MEMORY_SIZE as i32 - 64)..=(MEMORY_SIZE as i32 + 64),
            1 => any::<i32>(),
        ];
        let length = prop_oneof![
            4 => Just(len),
            2 => 0..=len + 8,
            1 => Just(CD_WIRE_SIZE as i32),
            1 => any::<i32>(),
        ];
        let call = (0u32..5, ptr, length);
        proptest::collection::vec(call, 1..4).prop_map(move |calls| Case { base, bytes: bytes.clone(), calls })
    })
}

fn cases() -> u32 {
    std::env::var("CONFORMANCE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn every_runtime_matches_the_reference_decoders(case in case()) {
        let setup = setup();
        let (expected_events, expected_outcome) = reference(&case);
        let calls: Vec<Vec<i32>> =
            case.calls.iter().map(|&(n, ptr, len)| vec![n.cast_signed(), ptr, len]).collect();
        for (engine, module) in setup.engines.iter().zip(&setup.modules) {
            let report = engine.run_calls(module, &[(case.base, &case.bytes)], "call", &calls);
            prop_assert_eq!(&report.events, &expected_events, "{}: events", engine.name());
            let outcome = report.outcome.map_err(|Failure { fault, .. }| fault);
            prop_assert_eq!(&outcome, &expected_outcome, "{}: outcome", engine.name());
        }
    }
}
