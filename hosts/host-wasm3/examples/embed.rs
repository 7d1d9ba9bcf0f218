//! Embeds the wasm-hostcall guest in wasm3, without the test harness: binds the imports the
//! guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-wasm3 --features wasm3 --example embed-wasm3`. To embed a guest
//! in your own program, copy this file and depend on `common`, the ABI, and `wasm3`;
//! `src/imports.rs` binds every import (on wasm3's C API, which `answer_*_alloc` needs).
//!
//! One thing comes from `host-wasm3`: [`host_wasm3::lower_for_wasm3`]. wasm3 0.4.7 (the one the
//! `wasm3` crate bundles) implements WebAssembly 1.0, and Rust now compiles `memcpy` to
//! `memory.copy`; the lowering rewrites those into plain 1.0 code wasm3 can run.
//!
//! The `wasm3` crate hands a host function the guest's memory as a raw pointer, valid until the
//! guest runs again (wasm3 moves the memory when it grows): each import borrows it anew, for the
//! length of its body.

use std::cell::RefCell;
use std::rc::Rc;

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, OutputBuffer, ValueKind, decode_value};
use wasm3::error::Trap;
use wasm3::{CallContext, Environment};

/// Our state: the request of the call in progress, and the guest's response to it.
#[derive(Default)]
struct State {
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// An error of an import body as the trap that ends the guest's call (wasm3's host functions can
/// only return one of its own traps), after printing it.
fn trap(error: impl std::fmt::Display) -> Trap {
    eprintln!("embed-wasm3: {error}");
    Trap::Abort
}

/// The guest's whole memory, as it is now, for the length of one import call.
fn memory<'a>(context: &'a mut CallContext<'_>) -> &'a mut [u8] {
    // SAFETY: wasm3 is single-threaded and does not run while the host function does, so
    // nothing else uses the memory; the slice is dropped before the host function returns.
    #[allow(unsafe_code)]
    unsafe {
        &mut *context.memory_mut()
    }
}

fn main() -> anyhow::Result<()> {
    // 1. An environment, a runtime with a 64 KiB stack, and the guest (lowered for wasm3) loaded.
    let wasm = host_wasm3::lower_for_wasm3(guest_wasm::GUEST_WASM)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .unwrap_or_else(|| guest_wasm::GUEST_WASM.to_vec());
    let environment = Environment::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = environment.create_runtime(64 * 1024).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut module = runtime.parse_and_load_module(wasm).map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = Rc::new(RefCell::new(State::default()));

    // 2. The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
    //    (Imports this example does not link trap when the guest calls them.)
    let link_error = |e: wasm3::error::Error| anyhow::anyhow!("{e}");
    module
        .link_closure(IMPORT_MODULE, Import::LogInt.name(), |_, value: i32| {
            println!("{}", Event::Int(value));
            Ok(())
        })
        .map_err(link_error)?;
    for (import, kind) in
        [(Import::LogStr, ValueKind::Str), (Import::LogAb, ValueKind::Ab), (Import::LogCd, ValueKind::Cd)]
    {
        module
            .link_closure(IMPORT_MODULE, import.name(), move |mut context, (ptr, len): (i32, i32)| {
                println!("{}", decode_value(kind, memory(&mut context), ptr, len).map_err(trap)?);
                Ok(())
            })
            .map_err(link_error)?;
    }

    // 3. `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
    //    (or only the length it needs, if the buffer is too small: the status says which).
    module
        .link_closure(
            IMPORT_MODULE,
            Import::AnswerStr.name(),
            |mut context, (ptr, len, out_ptr, out_cap, out_len_ptr): (i32, i32, i32, i32, i32)| {
                let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
                Ok(answer_into(ValueKind::Str, memory(&mut context), ptr, len, out).map_err(trap)?.code())
            },
        )
        .map_err(link_error)?;

    // 4. A call with a request: the guest copies the request into its buffer with `request_read`,
    //    the same way, and hands its response back with `respond_str`. Both live in our state.
    let reader = Rc::clone(&state);
    module
        .link_closure(
            IMPORT_MODULE,
            Import::RequestRead.name(),
            move |mut context, (out_ptr, out_cap, out_len_ptr): (i32, i32, i32)| {
                let request = &reader.borrow().request;
                let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
                Ok(out.write(memory(&mut context), request).map_err(trap)?.code())
            },
        )
        .map_err(link_error)?;
    let responder = Rc::clone(&state);
    module
        .link_closure(IMPORT_MODULE, Import::RespondStr.name(), move |mut context, (ptr, len): (i32, i32)| {
            let response = decode_value(ValueKind::Str, memory(&mut context), ptr, len).map_err(trap)?.into_owned();
            responder.borrow_mut().response = Some(response);
            Ok(())
        })
        .map_err(link_error)?;

    // 5. Call `hello`: it logs four values and returns 4567.
    let hello = module.find_function::<(), i32>("hello").map_err(link_error)?;
    println!("returned {}", hello.call().map_err(link_error)?);

    // 6. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    state.borrow_mut().request = request.as_bytes().to_vec();
    let handle = module.find_function::<i32, i32>("handle").map_err(link_error)?;
    let status = handle.call(i32::try_from(request.len())?).map_err(link_error)?;
    if let Some(response) = state.borrow_mut().response.take() {
        println!("response {response}");
    }
    println!("returned {status}");
    Ok(())
}
