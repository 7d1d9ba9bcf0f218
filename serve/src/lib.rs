//! Guests served over HTTP: any runtime of the registry, a fresh instance per request, bounded
//! against hostile guests and clients ([`server`]); and the load generator that checks it under
//! load with hostile requests mixed in ([`load`]).
//!
//! ```text
//! cargo run --release -p serve -- --runtime wasmtime --listen 127.0.0.1:8080 --timeout 100
//! curl -d Wasm http://127.0.0.1:8080/call/handle           # Hello, Wasm!
//! cargo run --release -p serve --bin load -- --runtime all  # 10,000 requests, 1,000 at once
//! ```
#![forbid(unsafe_code)]

pub mod load;
pub mod server;
