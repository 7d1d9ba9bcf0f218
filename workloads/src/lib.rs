//! The comparison report's real workloads: SHA-256 (`sha2`), parsing JSON (`serde_json`) and
//! deflating (`miniz_oxide`), each on input generated here from a fixed seed.
//!
//! The same source runs twice: compiled into the workloads guest (`guest-workloads`, exports
//! `workload_prepare` and `workload_run`) on every runtime, and natively by `compare`, which checks
//! the guest's digest against its own and takes the native time as the row's floor. Nothing here
//! depends on a runtime or on the ABI: the guest imports nothing.
#![forbid(unsafe_code)]

use std::fmt;

use sha2::Digest as _;

/// One workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// SHA-256 of pseudo-random bytes (`sha2`, its portable code on every target).
    Sha256,
    /// Parsing a JSON document of records into a `serde_json::Value`, then walking it.
    Json,
    /// Deflating log-like text at level 6 (`miniz_oxide`).
    Deflate,
}

/// Why a workload could not run (the guest traps with it; natively it fails the run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadError(String);

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkloadError {}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 3] = [Workload::Sha256, Workload::Json, Workload::Deflate];

    /// The number the guest's exports take (`workload_prepare(code, size)`).
    pub const fn code(self) -> i32 {
        match self {
            Workload::Sha256 => 1,
            Workload::Json => 2,
            Workload::Deflate => 3,
        }
    }

    /// The workload of [`Workload::code`], if any.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.code() == code)
    }

    /// A stable id (`sha256`, `json`, `deflate`).
    pub const fn id(self) -> &'static str {
        match self {
            Workload::Sha256 => "sha256",
            Workload::Json => "json",
            Workload::Deflate => "deflate",
        }
    }

    /// Its name, for a plot (`SHA-256`, `JSON`, `deflate`).
    pub const fn name(self) -> &'static str {
        match self {
            Workload::Sha256 => "SHA-256",
            Workload::Json => "JSON",
            Workload::Deflate => "deflate",
        }
    }

    /// What it does, for a report row (`size`: the input's size, as written by the caller).
    pub fn title(self, size: &str) -> String {
        match self {
            Workload::Sha256 => format!("SHA-256 of {size} (sha2)"),
            Workload::Json => format!("parse {size} of JSON into a Value (serde_json)"),
            Workload::Deflate => format!("deflate {size} of text, level 6 (miniz_oxide)"),
        }
    }

    /// The input size the report uses: 1 MiB to hash and to deflate, 100 KiB of JSON.
    pub const fn full_size(self) -> usize {
        match self {
            Workload::Sha256 | Workload::Deflate => 1024 * 1024,
            Workload::Json => 100 * 1024,
        }
    }

    /// The workload's input: `size` bytes (for JSON, a whole document of at most `size` bytes,
    /// and at least one record), the same on every target.
    pub fn input(self, size: usize) -> Vec<u8> {
        let mut rng = Rng::new(0x5EED_0000 ^ u64::from(self.code().unsigned_abs()));
        match self {
            Workload::Sha256 => {
                let mut bytes = Vec::with_capacity(size + 8);
                while bytes.len() < size {
                    bytes.extend_from_slice(&rng.next().to_le_bytes());
                }
                bytes.truncate(size);
                bytes
            }
            Workload::Json => json_document(&mut rng, size),
            Workload::Deflate => log_text(&mut rng, size),
        }
    }

    /// Runs the workload on `input` and returns a digest of its result: the guest's and the
    /// native run's must be equal.
    ///
    /// # Errors
    /// When the input is not what the workload takes (JSON that does not parse).
    pub fn run(self, input: &[u8]) -> Result<u32, WorkloadError> {
        match self {
            Workload::Sha256 => {
                let hash = sha2::Sha256::digest(input);
                Ok(fold(0, &hash))
            }
            Workload::Json => {
                let value: serde_json::Value =
                    serde_json::from_slice(input).map_err(|e| WorkloadError(format!("the JSON document: {e}")))?;
                Ok(walk(&value, 0))
            }
            Workload::Deflate => {
                let compressed = miniz_oxide::deflate::compress_to_vec(input, 6);
                let len = u32::try_from(compressed.len()).unwrap_or(u32::MAX);
                Ok(fold(len, &compressed))
            }
        }
    }
}

/// FNV-1a over `bytes`, starting from `seed`.
fn fold(seed: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(seed ^ 0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A digest of a parsed document: its shape, numbers and strings.
fn walk(value: &serde_json::Value, h: u32) -> u32 {
    use serde_json::Value;
    match value {
        Value::Null => fold(h, b"n"),
        Value::Bool(b) => fold(h, if *b { b"t" } else { b"f" }),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => fold(h, &u.to_le_bytes()),
            (None, Some(i), _) => fold(h, &i.to_le_bytes()),
            (None, None, Some(f)) => fold(h, &f.to_bits().to_le_bytes()),
            (None, None, None) => fold(h, b"?"),
        },
        Value::String(s) => fold(fold(h, b"s"), s.as_bytes()),
        Value::Array(items) => items.iter().fold(fold(h, b"["), |h, item| walk(item, h)),
        Value::Object(map) => map.iter().fold(fold(h, b"{"), |h, (k, v)| walk(v, fold(h, k.as_bytes()))),
    }
}

/// xorshift64*: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() >> 33).unwrap_or(0) % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const WORDS: [&str; 24] = [
    "request",
    "served",
    "user",
    "session",
    "cache",
    "miss",
    "hit",
    "latency",
    "ms",
    "bytes",
    "GET",
    "POST",
    "/api/v1/items",
    "/health",
    "ok",
    "error",
    "timeout",
    "retry",
    "shard",
    "replica",
    "queue",
    "worker",
    "done",
    "started",
];

const CITIES: [&str; 8] = ["Zürich", "Lyon", "Kraków", "São Paulo", "Osaka", "Nairobi", "Québec", "Reykjavík"];

/// An array of records like an API's answer, escapes and non-ASCII text included, closed before
/// it passes `size` bytes (one record at least).
fn json_document(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut doc = b"[".to_vec();
    for id in 0u64.. {
        let record = serde_json::json!({
            "id": id,
            "name": format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS)),
            "city": rng.pick(&CITIES),
            "active": rng.below(2) == 0,
            "score": f64::from(u32::try_from(rng.below(100_000)).unwrap_or(0)) / 8.0,
            "delta": -i64::try_from(rng.below(1000)).unwrap_or(0),
            "tags": [rng.pick(&WORDS), rng.pick(&WORDS), "quote \" and tab \t"],
            "parent": if rng.below(4) == 0 { serde_json::Value::Null } else { serde_json::json!(id / 2) },
        });
        let record = record.to_string();
        // 2 bytes: the comma before it and the closing bracket.
        if id > 0 && doc.len() + record.len() + 2 > size {
            break;
        }
        if id > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(record.as_bytes());
    }
    doc.push(b']');
    doc
}

/// Lines of log-like text, `size` bytes: repetitive enough to compress as logs do.
fn log_text(rng: &mut Rng, size: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut text = Vec::with_capacity(size + 128);
    let mut line = 0u64;
    while text.len() < size {
        let _ = write!(text, "2026-12-03T07:{:02}:{:02}Z {}", (line / 60) % 60, line % 60, rng.pick(&WORDS));
        for _ in 0..rng.below(8) + 3 {
            let _ = write!(text, " {}", rng.pick(&WORDS));
        }
        let _ = writeln!(text, " id={}", rng.below(100_000));
        line += 1;
    }
    text.truncate(size);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_have_the_size_asked() {
        for w in Workload::ALL {
            for size in [1000, 64 * 1024] {
                let input = w.input(size);
                match w {
                    Workload::Json => assert!(input.len() <= size && input.len() > size / 2, "{}", input.len()),
                    _ => assert_eq!(input.len(), size),
                }
            }
        }
    }

    #[test]
    fn inputs_and_digests_are_deterministic() {
        for w in Workload::ALL {
            let a = w.input(4096);
            assert_eq!(a, w.input(4096));
            assert_eq!(w.run(&a), w.run(&a));
        }
    }

    #[test]
    fn digests_depend_on_the_input() {
        for w in Workload::ALL {
            let a = w.input(8192);
            let b = w.input(4096);
            assert_ne!(w.run(&a).unwrap(), w.run(&b).unwrap(), "{w:?}");
        }
    }

    #[test]
    fn json_document_parses_and_deflate_round_trips() {
        let doc = Workload::Json.input(10_000);
        let value: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert!(value.as_array().is_some_and(|a| a.len() > 10));
        assert!(Workload::Json.run(b"[1, 2").is_err());

        let text = Workload::Deflate.input(100_000);
        let compressed = miniz_oxide::deflate::compress_to_vec(&text, 6);
        assert!(compressed.len() < text.len() / 3, "log text compresses: {}", compressed.len());
        assert_eq!(miniz_oxide::inflate::decompress_to_vec(&compressed).unwrap(), text);
    }

    #[test]
    fn sha256_is_sha256() {
        // FIPS 180-2's "abc".
        let hash = sha2::Sha256::digest(b"abc");
        assert_eq!(hash[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(Workload::Sha256.run(b"abc").unwrap(), fold(0, &hash));
    }

    #[test]
    fn codes_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::from_code(w.code()), Some(w));
        }
        assert_eq!(Workload::from_code(0), None);
    }
}
