//! Differential property test of the return path: arbitrary memory images, arguments, output
//! buffers (offset, capacity, length out-pointer) and allocator answers, run through a raw guest
//! (`tests/modules/answer_dispatch.wat`) on every runtime. Every runtime must give exactly what
//! the reference gives (the `common` return-path functions applied to the same memory image):
//! the same statuses, the same outcome, and **the same memory, byte for byte**, afterwards, so
//! that a byte written outside the buffer, the out-pointer or the allocation shows.
//!
//! `CONFORMANCE_CASES=100000 cargo test -p conformance --test conformance --release answers::` for a long run.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "sizes are below 64 KiB")]

use std::sync::OnceLock;

use common::answer::{PendingAnswer, answer_into};
use common::{AB, CD, Event, Import, OutputBuffer, ValueKind, ab_config};
use harness::{Failure, Fault, HostError, HostErrorKind};
use proptest::prelude::*;

use crate::support::Everywhere;

const MEMORY_SIZE: u32 = 65_536;
const DISPATCH: &str = include_str!("../../modules/answer_dispatch.wat");
/// Every byte not written by the case: a written byte shows.
const CANARY: u8 = 0xC5;

/// One generated case: the allocator's answer (stored at offset 0), bytes at `base`, then calls of
/// `(op, ptr, len, out, cap, len_ptr)` (ops as in the dispatch module).
#[derive(Debug, Clone)]
struct Case {
    allocated: i32,
    base: u32,
    bytes: Vec<u8>,
    calls: Vec<[i32; 6]>,
}

fn memory_image(case: &Case) -> Vec<u8> {
    let mut memory = vec![CANARY; MEMORY_SIZE as usize];
    memory[0..4].copy_from_slice(&case.allocated.to_le_bytes());
    let base = case.base as usize;
    memory[base..base + case.bytes.len()].copy_from_slice(&case.bytes);
    memory
}

fn kind(op: i32) -> (ValueKind, Import) {
    match op {
        0 => (ValueKind::Str, Import::AnswerStr),
        1 => (ValueKind::Ab, Import::AnswerAb),
        2 => (ValueKind::Cd, Import::AnswerCd),
        3 => (ValueKind::Str, Import::AnswerStrAlloc),
        4 => (ValueKind::Ab, Import::AnswerAbAlloc),
        _ => (ValueKind::Cd, Import::AnswerCdAlloc),
    }
}

/// What the `common` functions say the case does: events, outcome, memory after.
fn reference(case: &Case) -> (Vec<Event<'static>>, Result<Option<i32>, Fault>, Vec<u8>) {
    let mut memory = memory_image(case);
    let mut events = Vec::new();
    for &[op, ptr, len, out, cap, len_ptr] in &case.calls {
        let (kind, import) = kind(op);
        let result = if op < 3 {
            answer_into(kind, &mut memory, ptr, len, OutputBuffer::new(out, cap, len_ptr)).map(|s| s.code())
        } else {
            // The dispatch module's allocator returns the i32 at offset 0 (which an earlier
            // answer may have overwritten).
            PendingAnswer::new(kind, &memory, ptr, len, out).and_then(|pending| {
                let allocated = i32::from_le_bytes(memory[0..4].try_into().expect("4 bytes"));
                pending.finish(&mut memory, allocated).map(|()| -1)
            })
        };
        match result {
            Ok(logged) => events.push(Event::Int(logged)),
            Err(e) => {
                let fault = Fault::Host(HostError { import, kind: HostErrorKind::Answer(e) });
                return (events, Err(fault), memory);
            }
        }
    }
    (events, Ok(None), memory)
}

/// The dispatch module, loaded once on every engine.
fn setup() -> &'static Everywhere {
    static SETUP: OnceLock<Everywhere> = OnceLock::new();
    SETUP.get_or_init(|| Everywhere::load(DISPATCH))
}

/// Arguments worth answering: valid encodings of each kind, and noise.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        "\\PC{0,40}".prop_map(String::into_bytes),
        (any::<u32>(), "\\PC{0,30}")
            .prop_map(|(a, b)| bincode::serde::encode_to_vec(AB { a, b }, ab_config()).expect("encode")),
        (any::<i32>(), "\\PC{0,8}").prop_map(|(c, d)| {
            let cd = CD::new(c, &d).unwrap_or_else(|_| CD::new(c, "").expect("empty text fits"));
            bytemuck::bytes_of(&cd.to_wire()).to_vec()
        }),
    ]
}

/// An offset near `target`, near the end of memory, or anything.
fn offset_near(target: i32) -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => (target - 16).max(4)..=target + 200,
        1 => (MEMORY_SIZE as i32 - 80)..=(MEMORY_SIZE as i32 + 16),
        1 => any::<i32>(),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (payload(), 8u32..2048).prop_flat_map(|(bytes, base)| {
        let len = bytes.len() as i32;
        let b = base as i32;
        let call = (
            0i32..6,
            prop_oneof![6 => Just(b), 1 => offset_near(b)],
            prop_oneof![6 => Just(len), 1 => 0..=len + 8, 1 => any::<i32>()],
            offset_near(b + len),
            prop_oneof![2 => 0i32..64, 2 => 64i32..300, 1 => any::<i32>()],
            offset_near(b + len + 64),
        )
            .prop_map(|(op, ptr, len, out, cap, len_ptr)| [op, ptr, len, out, cap, len_ptr]);
        let allocated = prop_oneof![4 => offset_near(b + len + 128), 1 => Just(0)];
        (allocated, proptest::collection::vec(call, 1..4)).prop_map(move |(allocated, calls)| Case {
            allocated,
            base,
            bytes: bytes.clone(),
            calls,
        })
    })
}

fn cases() -> u32 {
    std::env::var("CONFORMANCE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn every_runtime_writes_exactly_what_the_reference_writes(case in case()) {
        let setup = setup();
        let (expected_events, expected_outcome, expected_memory) = reference(&case);
        let image = memory_image(&case);
        let calls: Vec<Vec<i32>> = case.calls.iter().map(|c| c.to_vec()).collect();
        for (engine, module) in setup.engines.iter().zip(&setup.modules) {
            let (report, memory) = engine.run_calls_then_read(module, &[(0, &image)], "call", &calls);
            prop_assert_eq!(&report.events, &expected_events, "{}: events", engine.name());
            let outcome = report.outcome.map_err(|Failure { fault, .. }| fault);
            prop_assert_eq!(&outcome, &expected_outcome, "{}: outcome", engine.name());
            let memory = memory.expect("memory");
            prop_assert!(memory == expected_memory, "{}: memory differs from the reference at byte {:?}",
                engine.name(), memory.iter().zip(&expected_memory).position(|(a, b)| a != b));
        }
    }
}
