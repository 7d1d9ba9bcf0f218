//! The `common` decoders natively, against what they replace, so that a regression shows:
//! `cargo bench -p compare --bench decode`.
//!
//! - `utf8/mixed`, `utf8/ascii`: the previous `decode_str`, `common::guest_bytes` then
//!   `core::str::from_utf8` (`std`), against `common::decode_str` (`simd`: the same bounds check,
//!   then simdutf8 with the implementation picked at run time), at 16 B, 256 B, 4 KiB and 64 KiB of
//!   the mixed-width text `compare` passes to `log_str`, and of ASCII.
//! - `ab`: the previous decode, bincode's serde decode into an owned `AB` (`owned`), against
//!   `common::decode_ab`, which borrows the string and validates it with SIMD (`borrowed`), and the
//!   same made owned as a recording host keeps it (`borrowed+owned`), at the same sizes.
//! - `cd`: `common::decode_cd` of a 40-byte image.

use std::hint::black_box;

use common::{AB, CD, ab_config, decode_ab, decode_cd, decode_str, guest_bytes};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[path = "../src/payload.rs"]
mod payload;

use payload::{PAYLOAD_SIZES, ab_of_size, text_of_size};

fn len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).expect("small payload")
}

fn utf8(c: &mut Criterion) {
    let ascii = |size| "The quick brown fox jumps over the lazy dog. ".chars().cycle().take(size).collect::<String>();
    for (name, text) in [("utf8/mixed", text_of_size as fn(usize) -> String), ("utf8/ascii", ascii)] {
        let mut group = c.benchmark_group(name);
        for size in PAYLOAD_SIZES {
            let bytes = text(size).into_bytes();
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(BenchmarkId::new("std", size), &bytes, |b, bytes| {
                b.iter(|| guest_bytes(black_box(bytes), 0, len(bytes)).is_ok_and(|b| core::str::from_utf8(b).is_ok()));
            });
            group.bench_with_input(BenchmarkId::new("simd", size), &bytes, |b, bytes| {
                b.iter(|| decode_str(black_box(bytes), 0, len(bytes)).is_ok());
            });
        }
        group.finish();
    }
}

fn ab(c: &mut Criterion) {
    let mut group = c.benchmark_group("ab");
    for size in PAYLOAD_SIZES {
        let bytes = ab_of_size(size);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("owned", size), &bytes, |b, bytes| {
            b.iter(|| bincode::serde::decode_from_slice::<AB, _>(black_box(bytes), ab_config()).is_ok());
        });
        group.bench_with_input(BenchmarkId::new("borrowed", size), &bytes, |b, bytes| {
            b.iter(|| decode_ab(black_box(bytes), 0, len(bytes)).is_ok());
        });
        group.bench_with_input(BenchmarkId::new("borrowed+owned", size), &bytes, |b, bytes| {
            b.iter(|| decode_ab(black_box(bytes), 0, len(bytes)).map(|ab| ab.into_owned()).is_ok());
        });
    }
    group.finish();
}

fn cd(c: &mut Criterion) {
    let wire = CD::new(1234, "hello world").expect("cd").to_wire();
    let bytes = bytemuck::bytes_of(&wire);
    c.bench_function("cd", |b| b.iter(|| decode_cd(black_box(bytes), 0, len(bytes)).is_ok()));
}

criterion_group!(benches, utf8, ab, cd);
criterion_main!(benches);
