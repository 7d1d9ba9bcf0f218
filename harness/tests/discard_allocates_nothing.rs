//! `Sink::Discard` (what the benchmarks use) decodes every import fully and allocates nothing:
//! `log_str` and `log_ab` text stays borrowed from guest memory and is dropped with the event.
//! `Sink::Record` allocates, where an event is kept.
//!
//! A global allocator counts the allocations made on the test's own thread.
#![allow(unsafe_code, reason = "a counting global allocator")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{AB, CD, CD_WIRE_SIZE, Import, ab_config};
use harness::{Recorder, Sink};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded to `System` unchanged; the counters are const-initialised
// thread-locals without destructors, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn discard_allocates_nothing_and_record_allocates_what_it_keeps() {
    let text = "aé€😀 ".repeat(400);
    let ab = bincode::serde::encode_to_vec(AB { a: 1234, b: text.clone() }, ab_config()).expect("encode");
    let cd = CD::new(-1, "hello world").expect("cd").to_wire();
    let mut memory = text.as_bytes().to_vec();
    let ab_at = memory.len();
    memory.extend_from_slice(&ab);
    let cd_at = memory.len();
    memory.extend_from_slice(bytemuck::bytes_of(&cd));
    let args = |at: usize, len: usize| (i32::try_from(at).expect("small"), i32::try_from(len).expect("small"));
    let calls = [
        (Import::LogStr, args(0, text.len())),
        (Import::LogAb, args(ab_at, ab.len())),
        (Import::LogCd, args(cd_at, CD_WIRE_SIZE)),
    ];

    let mut discard = Recorder::new(Sink::Discard, usize::MAX);
    for (import, (ptr, len)) in calls {
        let n = allocations(|| discard.log_from_memory(import, &memory, ptr, len).expect("decodes"));
        assert_eq!(n, 0, "{import:?} with Sink::Discard allocated");
    }
    assert_eq!(discard.count(), 3);

    let mut record = Recorder::new(Sink::Record, usize::MAX);
    // Grow the event list first, so that only the events' own text is counted.
    record.log_int(0).expect("log_int");
    let (ptr, len) = calls[1].1;
    let n = allocations(|| record.log_from_memory(Import::LogAb, &memory, ptr, len).expect("ab"));
    assert_eq!(n, 1, "Sink::Record copies the AB's text out of guest memory, once");
}
