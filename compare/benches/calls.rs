//! Per-import host-call cost on each runtime (default tier), for developers tuning the hosts:
//! `cargo bench -p compare`. Each iteration is one call of the import from inside the guest
//! (`compare/guest/bench.wat` loops, loop overhead included: the report subtracts it, this does
//! not), the production host bodies writing to a discarding sink.
//! For the side-by-side report with every tier, use `cargo run --release -p compare`.

use std::time::{Duration, Instant};

use common::{AB, CD, ab_config};
use criterion::{Criterion, criterion_group, criterion_main};
use harness::{Config, Limits, Sink};

const BENCH_WAT: &str = include_str!("../guest/bench.wat");

fn payloads() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let ab = bincode::serde::encode_to_vec(AB { a: 1234, b: "abcd".into() }, ab_config()).expect("encode");
    let cd = CD::new(1234, "hello world").map(|cd| bytemuck::bytes_of(&cd.to_wire()).to_vec()).expect("cd");
    vec![
        ("log_int", "loop_log_int", Vec::new()),
        ("log_str 16 B", "loop_log_str", b"sixteen bytes!!!".to_vec()),
        ("log_ab", "loop_log_ab", ab),
        ("log_cd", "loop_log_cd", cd),
        ("no-op (i32, i32)", "loop_noop_i32_i32", Vec::new()),
    ]
}

fn calls(c: &mut Criterion) {
    let config = Config { limits: Limits::unmetered(), tier: None, bench_imports: true, ..Config::default() };
    let mut seen = Vec::new();
    for tier in runtimes::all_tiers(&config) {
        // Each runtime's first tier is its default.
        if seen.contains(&tier.runtime.name) {
            continue;
        }
        seen.push(tier.runtime.name);
        let engine = tier.engine.expect("engine");
        let module = engine.load_module(BENCH_WAT.as_bytes()).expect("bench module");
        let mut group = c.benchmark_group(tier.runtime.name);
        for (name, export, payload) in payloads() {
            let mut instance = engine.instantiate_module(&module, Sink::Discard).expect("instance");
            instance.write_memory(0, &payload).expect("payload");
            let len = i32::try_from(payload.len()).expect("small payload");
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    // One guest loop per chunk of iterations (a wasm i32 bounds the count).
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(1 << 30);
                        let start = Instant::now();
                        instance.call(export, &[0, len, i32::try_from(n).expect("chunk")]).expect("loop");
                        total += start.elapsed();
                        left -= n;
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, calls);
criterion_main!(benches);
