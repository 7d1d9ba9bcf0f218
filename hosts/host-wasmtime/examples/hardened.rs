//! The hardened wasmtime host in two files: this one and `src/imports.rs`, which binds every import
//! of the ABI with all its checks (the guest's allocator validated, the call state, re-entry
//! refused, a panic caught, a cap on what a guest may log). Runs the guest's `hello`, then
//! `handle` with a request, under fuel, memory and table limits.
//!
//! Run it with `cargo run -p host-wasmtime --example hardened-wasmtime`. To use it in your own
//! program, copy this file as `src/main.rs` and `src/imports.rs` beside it, and depend on
//! `common`, `host-imports`, `guest-wasm` (the guest, or read your own) and `wasmtime` (README,
//! "Copy a host"). `.ci/run` does exactly that in a crate outside this workspace.

#[path = "../src/imports.rs"]
mod imports;

use common::MEMORY_EXPORT;
use host_imports::{GuestAllocator, Recorder, Sink};
use wasmtime::{Config, Engine, Linker, Module, Result, Store, StoreLimitsBuilder};

use crate::imports::{HostCalls, State, define_imports, find_allocator};

/// The most a guest may use: memory, table elements, payload logged, CPU (fuel units).
const MAX_MEMORY_BYTES: usize = 64 << 20;
const MAX_TABLE_ELEMENTS: usize = 10_000;
const MAX_LOG_BYTES: usize = 64 << 20;
const FUEL: u64 = 1_000_000_000;

fn main() -> Result<()> {
    // 1. An engine that meters fuel, the guest compiled for it, and every import bound once.
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, guest_wasm::GUEST_WASM)?;
    let mut linker = Linker::new(&engine);
    define_imports(&mut linker, HostCalls::Blocking)?;

    // 2. A store per instance: its limits, its fuel, and the recorder the imports write to.
    let state = State {
        memory: None,
        allocator: GuestAllocator::Missing,
        recorder: Recorder::new(Sink::Record, MAX_LOG_BYTES),
        store_limits: StoreLimitsBuilder::new()
            .memory_size(MAX_MEMORY_BYTES)
            .table_elements(MAX_TABLE_ELEMENTS)
            .instances(1)
            .memories(1)
            .tables(1)
            .build(),
    };
    let mut store = Store::new(&engine, state);
    store.limiter(|state| &mut state.store_limits);
    store.set_fuel(FUEL)?;

    // 3. Instantiate, then look up the guest's memory and allocator once.
    let instance = linker.instantiate(&mut store, &module)?;
    store.data_mut().memory = instance.get_memory(&mut store, MEMORY_EXPORT);
    store.data_mut().allocator = find_allocator(&mut store, &instance);

    // 4. Call `hello`: it logs four values and returns 4567. The events logged before a failure
    //    are kept, so print them first, whatever the call returned.
    let hello = instance.get_typed_func::<(), i32>(&mut store, "hello")?;
    let returned = hello.call(&mut store, ());
    for event in store.data_mut().recorder.take_events() {
        println!("{event}");
    }
    println!("returned {}", returned?);

    // 5. Call `handle(request_len)` with the request "Wasm": the guest reads it with
    //    `request_read`, and answers with `respond_str`. The call's state lives in the recorder.
    let request = b"Wasm";
    store.data_mut().recorder.begin_call(request);
    let handle = instance.get_typed_func::<i32, i32>(&mut store, "handle")?;
    let status = handle.call(&mut store, i32::try_from(request.len())?);
    let response = store.data_mut().recorder.end_call();
    for event in store.data_mut().recorder.take_events() {
        println!("{event}");
    }
    if let Some(response) = response {
        println!("response {response}");
    }
    println!("returned {}", status?);
    Ok(())
}
