//! Embeds the wasm-hostcall guest in WAMR through the safe `wamrx` API, without the test harness:
//! binds the imports the guest's `hello` and `handle` use, calls `hello`, then calls `handle` with
//! a request.
//!
//! Run it with `cargo run -p host-wamr --features wamr --example embed-wamr`. To embed a guest in
//! your own program, copy this file and depend on `common`, the ABI, and `wamrx`;
//! `src/imports.rs` binds every import with the raw `wamrx-sys` API instead.
//!
//! Two things `wamrx` decides for us here: a host function gets only its arguments (so it reaches
//! the guest's memory through the instance, kept in a shared cell), and it cannot return an error
//! (so a bad argument traps by panicking: `wamrx` catches the panic at the boundary and makes the
//! guest's call fail with "host function panicked").

use std::cell::{OnceCell, RefCell};
use std::rc::{Rc, Weak};

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, MEMORY_EXPORT, OutputBuffer, ValueKind, decode_value};
use wamrx::{Engine, FuncType, Instance, Linker, Module, Val, ValType};

/// What the host functions share: the instance (set once it exists; they hold it weakly, since it
/// holds them), the request of the call in progress, and the guest's response to it.
#[derive(Default)]
struct State {
    instance: Weak<OnceCell<Instance>>,
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

type Shared = Rc<RefCell<State>>;

/// Runs `body` with the guest's whole memory and our state. A failure panics: the guest's call
/// traps.
fn with_memory<T>(shared: &Shared, body: impl FnOnce(&mut [u8], &mut State) -> Result<T, String>) -> T {
    let mut state = shared.borrow_mut();
    let cell = state.instance.upgrade().expect("the instance is gone");
    let instance = cell.get().expect("an import called before the instance exists");
    let mut memory = instance.get_memory(MEMORY_EXPORT).expect("the guest exports no memory");
    body(memory.data_mut(), &mut state).unwrap_or_else(|error| panic!("{error}"))
}

/// The `i32` arguments of an import call.
fn i32s(params: &[Val]) -> Vec<i32> {
    params.iter().map(|v| if let Val::I32(v) = v { *v } else { panic!("not an i32: {v}") }).collect()
}

fn main() -> anyhow::Result<()> {
    // 1. The engine, and a linker that registers host functions with WAMR. WAMR resolves a
    //    module's imports when it loads it, so they are all defined before the module.
    let engine = Engine::new()?;
    let mut linker = Linker::new(&engine);
    let shared: Shared = Rc::default();

    // 2. Every import of the ABI: the ones this example implements, and a stub that traps for the
    //    others.
    for import in Import::ALL {
        let ty =
            FuncType::new(import.params().iter().map(|_| ValType::I32), import.results().iter().map(|_| ValType::I32));
        let shared = Rc::clone(&shared);
        match import {
            // 3. The `log_*` imports: decode the argument with `common`, print it.
            Import::LogInt => linker.define_func(IMPORT_MODULE, import.name(), ty, |params, _| {
                println!("{}", Event::Int(i32s(params)[0]));
            })?,
            Import::LogStr | Import::LogAb | Import::LogCd => {
                let kind = import.value_kind().unwrap_or(ValueKind::Str);
                linker.define_func(IMPORT_MODULE, import.name(), ty, move |params, _| {
                    let [ptr, len] = i32s(params)[..] else { panic!("two arguments expected") };
                    with_memory(&shared, |memory, _| {
                        println!("{}", decode_value(kind, memory, ptr, len).map_err(|e| e.to_string())?);
                        Ok(())
                    });
                })?
            }
            // 4. `answer_str`: a greeting for the guest's text, written into a buffer the guest
            //    provides (or only the length it needs, if the buffer is too small: the status
            //    says which).
            Import::AnswerStr => linker.define_func(IMPORT_MODULE, import.name(), ty, move |params, results| {
                let [ptr, len, out_ptr, out_cap, out_len_ptr] = i32s(params)[..] else {
                    panic!("five arguments expected")
                };
                let status = with_memory(&shared, |memory, _| {
                    let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
                    answer_into(ValueKind::Str, memory, ptr, len, out).map_err(|e| e.to_string())
                });
                results[0] = Val::I32(status.code());
            })?,
            // 5. A call with a request: the guest copies the request into its buffer with
            //    `request_read`, the same way, and hands its response back with `respond_str`.
            Import::RequestRead => linker.define_func(IMPORT_MODULE, import.name(), ty, move |params, results| {
                let [out_ptr, out_cap, out_len_ptr] = i32s(params)[..] else { panic!("three arguments expected") };
                let status = with_memory(&shared, |memory, state| {
                    OutputBuffer::new(out_ptr, out_cap, out_len_ptr)
                        .write(memory, &state.request)
                        .map_err(|e| e.to_string())
                });
                results[0] = Val::I32(status.code());
            })?,
            Import::RespondStr => linker.define_func(IMPORT_MODULE, import.name(), ty, move |params, _| {
                let [ptr, len] = i32s(params)[..] else { panic!("two arguments expected") };
                with_memory(&shared, |memory, state| {
                    let response = decode_value(ValueKind::Str, memory, ptr, len).map_err(|e| e.to_string())?;
                    state.response = Some(response.into_owned());
                    Ok(())
                });
            })?,
            _ => linker.define_func(IMPORT_MODULE, import.name(), ty, move |_, _| {
                panic!("{IMPORT_MODULE}.{} is not implemented in this example", import.name())
            })?,
        };
    }

    // 6. Load the guest, instantiate it, and keep the instance where the imports find it.
    let module = Module::new(&engine, guest_wasm::GUEST_WASM)?;
    let instance = Rc::new(OnceCell::new());
    shared.borrow_mut().instance = Rc::downgrade(&instance);
    let _ = instance.set(linker.instantiate(module)?);
    let instance = instance.get().expect("just set");

    // 7. Call `hello`: it logs four values and returns 4567.
    let call = |name: &str, params: &[Val]| -> anyhow::Result<Val> {
        let mut results = [Val::I32(0)];
        instance.get_func(name)?.call(params, &mut results)?;
        Ok(results[0])
    };
    println!("returned {}", call("hello", &[])?);

    // 8. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    shared.borrow_mut().request = request.as_bytes().to_vec();
    let status = call("handle", &[Val::I32(i32::try_from(request.len())?)])?;
    if let Some(response) = shared.borrow_mut().response.take() {
        println!("response {response}");
    }
    println!("returned {status}");
    Ok(())
}
