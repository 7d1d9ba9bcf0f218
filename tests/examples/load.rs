//! Load and leak check, per runtime:
//!
//! 1. the demo from 8 threads × 1,000 times (engine and module shared, one store per instance),
//!    every output checked, reported in runs per second;
//! 2. the soak with faults ([`conformance::soak`]): 10,000 runs in one process, good guests
//!    interleaved with every hostile fixture and limit case (decode errors, traps after logging,
//!    fuel exhaustion, memory grown between calls, stack overflow, modules that do not load),
//!    every output checked against its golden file, and resident memory (RSS) measured after a
//!    warm-up of 1,000 runs and at the end.
//!
//! ```text
//! cargo run --release -p conformance --example load
//! ```
//!
//! Besides RSS, a counting global allocator tracks the live heap, so that what stays allocated
//! is attributed to the runs that allocated it: the load attempts (modules that do not load,
//! compiled again each time they come round) or the other runs. They are told apart because
//! compiling is not free of memory on every runtime: a wasmi engine keeps the function entries of
//! every module it compiled until the engine is dropped (its code map is append-only), so each
//! attempt to load a rejected module leaves some heap behind there.
//!
//! Exits non-zero if any output differs, if the runs other than load attempts retain more than
//! [`MAX_HEAP_GROWTH`] of heap, or if RSS grows by more than [`MAX_RSS_GROWTH_KIB`] beyond the
//! heap the load attempts retained. Throughput is also shown as a ratio to the fastest runtime of
//! the same run; absolute figures drift on a shared machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use conformance::soak::soaks;
use harness::Limits;
use runtimes::engines;

const THREADS: usize = 8;
const RUNS_PER_THREAD: usize = 1_000;
/// Soak runs per runtime, warm-up included.
const SOAK_RUNS: usize = 10_000;
/// Runs before the first RSS reading: allocator pools, lazy translation and runtime caches settle.
const WARM_UP: usize = 1_000;
/// The most RSS may grow over the `SOAK_RUNS - WARM_UP` measured runs, beyond the heap the load
/// attempts among them retained. Anything a run allocates per instance (a store, a linear memory
/// page, a stack) is several KiB: one of those leaked per run is tens of MiB over 9,000 runs.
/// Allocator slack (pages touched for the first time after the warm-up) stays well under this.
const MAX_RSS_GROWTH_KIB: i64 = 256;
/// The most live heap the measured runs other than load attempts may retain, in bytes. A leak
/// of one 16-byte allocation per run over those (about 7,900) runs is about 127 KB, twice this
/// bound. (What is allocated in one run and freed in another counts for the first and against
/// the second: on wasmer, the other runs have shown from -119 KB to +16 KB.)
const MAX_HEAP_GROWTH: i64 = 64 * 1024;

/// The system allocator, counting the bytes allocated and freed.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static FREED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counters are atomics, and counting allocates nothing.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees are `System.alloc_zeroed`'s.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees are `System.dealloc`'s.
        unsafe { System.dealloc(ptr, layout) };
        FREED.fetch_add(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees are `System.realloc`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            FREED.fetch_add(layout.size(), Relaxed);
            ALLOCATED.fetch_add(new_size, Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated and not freed yet (wrapping: only differences between two readings count).
fn live_heap() -> usize {
    ALLOCATED.load(Relaxed).wrapping_sub(FREED.load(Relaxed))
}

/// The change of [`live_heap`] from `before`, in bytes.
fn heap_since(before: usize) -> i64 {
    let delta = live_heap().wrapping_sub(before);
    // Two's complement: a decrease shows as a huge `usize`.
    i64::from_ne_bytes((delta as u64).to_ne_bytes())
}

/// The process's resident set size in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The demo from [`THREADS`] threads at once on each runtime: runs per second.
fn concurrent() -> Result<Vec<(&'static str, f64)>> {
    let engines = engines(&Limits::default()).context("engines")?;
    let expected = engines[0].run(guest_wasm::GUEST_WASM, "hello", &[]).lines();
    let mut rows = Vec::new();
    for engine in &engines {
        let module = engine.load_module(guest_wasm::GUEST_WASM).context("guest")?;
        let (e, m, expected) = (engine.as_ref(), &module, &expected);
        let start = Instant::now();
        let bad: usize = thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(move || {
                        (0..RUNS_PER_THREAD)
                            .filter(|_| e.run_calls(m, &[], "hello", &[vec![]]).lines() != *expected)
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or(usize::MAX)).sum()
        });
        let runs_per_second = (THREADS * RUNS_PER_THREAD) as f64 / start.elapsed().as_secs_f64();
        ensure!(bad == 0, "{}: {bad} runs printed something else", engine.name());
        rows.push((engine.name(), runs_per_second));
    }
    Ok(rows)
}

/// One runtime's soak.
struct SoakRow {
    runtime: &'static str,
    runs_per_second: f64,
    /// RSS after the warm-up and at the end of the soak, in KiB.
    before: i64,
    after: i64,
    /// How many of the measured runs were load attempts, and the live heap (bytes) they retained.
    loads: usize,
    heap_loads: i64,
    /// The live heap (bytes) the other measured runs retained.
    heap_runs: i64,
    checked: usize,
    failed: Vec<String>,
}

fn soak() -> Result<(Vec<SoakRow>, String)> {
    let soaks = soaks().map_err(anyhow::Error::msg).context("soak set-up")?;
    let description = soaks.first().map(|s| s.describe()).unwrap_or_default();
    let mut rows = Vec::new();
    for soak in &soaks {
        let mut failed = Vec::new();
        let mut checked = 0;
        let mut check = |result: Result<(), String>| match result {
            Ok(()) => checked += 1,
            Err(diff) => failed.push(diff),
        };
        let start = Instant::now();
        (0..WARM_UP).for_each(|n| check(soak.run(n)));
        let before = rss_kib().context("no VmRSS in /proc/self/status")?;
        let (mut loads, mut heap_loads, mut heap_runs) = (0, 0, 0);
        for n in WARM_UP..SOAK_RUNS {
            let heap = live_heap();
            let result = soak.run(n);
            let retained = heap_since(heap);
            if soak.is_load_attempt(n) {
                loads += 1;
                heap_loads += retained;
            } else {
                heap_runs += retained;
            }
            check(result);
        }
        let after = rss_kib().context("no VmRSS in /proc/self/status")?;
        let runs_per_second = SOAK_RUNS as f64 / start.elapsed().as_secs_f64();
        rows.push(SoakRow {
            runtime: soak.runtime(),
            runs_per_second,
            before,
            after,
            loads,
            heap_loads,
            heap_runs,
            checked,
            failed,
        });
    }
    Ok((rows, description))
}

fn main() -> Result<()> {
    let concurrent = concurrent()?;
    let fastest = concurrent.iter().map(|r| r.1).fold(0.0, f64::max);
    println!("The demo, {THREADS} threads × {RUNS_PER_THREAD} runs per runtime, every output checked:");
    println!("{:<10} {:>12} {:>10}", "runtime", "runs/s", "vs fastest");
    for (name, rate) in &concurrent {
        println!("{name:<10} {rate:>12.0} {:>9.2}x", fastest / rate);
    }

    let (rows, description) = soak()?;
    println!();
    println!("Soak with faults, {SOAK_RUNS} runs per runtime in one process ({description}):");
    println!(
        "{:<10} {:>7} {:>8} {:>12} {:>12} {:>10} {:>14} {:>14} {:>8}",
        "runtime", "runs", "runs/s", "RSS warm", "RSS end", "RSS growth", "heap: loads", "heap: others", "checked"
    );
    let mut problems = Vec::new();
    for row in &rows {
        let growth = row.after - row.before;
        println!(
            "{:<10} {SOAK_RUNS:>7} {:>8.0} {:>8} KiB {:>8} KiB {:>6} KiB {:>12} B {:>12} B {:>8}",
            row.runtime, row.runs_per_second, row.before, row.after, growth, row.heap_loads, row.heap_runs, row.checked
        );
        let runtime = row.runtime;
        if let Some(first) = row.failed.first() {
            problems
                .push(format!("{runtime}: {} of {SOAK_RUNS} outputs differ; the first:\n{first}", row.failed.len()));
        }
        if row.heap_runs > MAX_HEAP_GROWTH {
            problems.push(format!(
                "{runtime}: the measured runs other than load attempts retained {} bytes of heap (bound: \
                 {MAX_HEAP_GROWTH}): a leak?",
                row.heap_runs
            ));
        }
        let unexplained = growth - row.heap_loads.max(0) / 1024;
        if unexplained > MAX_RSS_GROWTH_KIB {
            problems.push(format!(
                "{runtime}: resident memory grew by {growth} KiB over the {} runs after the warm-up, {unexplained} KiB \
                 more than the heap their {} load attempts retained (bound: {MAX_RSS_GROWTH_KIB} KiB): a leak?",
                SOAK_RUNS - WARM_UP,
                row.loads
            ));
        }
    }
    let loads = rows.first().map_or(0, |r| r.loads);
    println!(
        "RSS warm: after {WARM_UP} runs; RSS end: after {SOAK_RUNS}. Heap: live bytes retained over the measured \
         runs by its {loads} load attempts (modules that do not load, compiled again each time) and by the others. \
         `checked`: outputs that matched their golden file."
    );
    if !problems.is_empty() {
        bail!("{}", problems.join("\n\n"));
    }
    Ok(())
}
