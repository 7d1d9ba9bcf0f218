//! Embeds the wasm-hostcall guest in submilli-wasm, without the test harness: binds the imports the
//! guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-submilli --example embed-submilli`. To embed a guest in your own
//! program, copy this file and depend on `common`, the ABI; `src/imports.rs` binds every import.

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, MEMORY_EXPORT, OutputBuffer, ValueKind, decode_value};
use submilli_wasm::{Caller, Engine, Error, Extern, ExternType, Linker, Module, Store};

/// What the store holds: the request of the call in progress, and the guest's response to it.
#[derive(Default)]
struct State {
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// An error of an import body as the trap that ends the guest's call.
fn trap(error: impl std::fmt::Display) -> Error {
    Error::msg(error.to_string())
}

/// The guest's whole memory, borrowed for the length of one import call. (submilli cannot borrow
/// the memory and the store's data at once: the imports below that need both take what they
/// need out of the store first.)
fn memory<'a>(caller: &'a mut Caller<'_, State>) -> Result<&'a mut [u8], Error> {
    match caller.get_export(MEMORY_EXPORT) {
        Some(Extern::Memory(memory)) => Ok(memory.data_mut(caller)),
        _ => Err(trap("the guest exports no memory")),
    }
}

fn main() -> anyhow::Result<()> {
    // 1. An engine, the guest module compiled for it, and a store that holds our state.
    let engine = Engine::default();
    let module = Module::new(&engine, guest_wasm::GUEST_WASM)?;
    let mut store = Store::new(&engine, State::default());
    let mut linker = Linker::new(&engine);

    // 2. The guest imports the whole ABI. Every function it imports starts as a stub that traps;
    //    the imports this example implements replace theirs below.
    for import in module.imports() {
        if let ExternType::Func(ty) = import.ty() {
            let message = format!("{}.{} is not implemented in this example", import.module(), import.name());
            linker.func_new(import.module(), import.name(), ty, move |_, _, _| Err(trap(&message)))?;
        }
    }
    linker.allow_shadowing(true);

    // 3. The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
    linker.func_wrap(IMPORT_MODULE, Import::LogInt.name(), |value: i32| println!("{}", Event::Int(value)))?;
    for (import, kind) in
        [(Import::LogStr, ValueKind::Str), (Import::LogAb, ValueKind::Ab), (Import::LogCd, ValueKind::Cd)]
    {
        linker.func_wrap(IMPORT_MODULE, import.name(), move |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            println!("{}", decode_value(kind, memory(&mut caller)?, ptr, len).map_err(trap)?);
            Ok(())
        })?;
    }

    // 4. `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
    //    (or only the length it needs, if the buffer is too small: the status says which).
    let answer_str =
        |mut caller: Caller<'_, State>, ptr: i32, len: i32, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
            let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
            Ok(answer_into(ValueKind::Str, memory(&mut caller)?, ptr, len, out).map_err(trap)?.code())
        };
    linker.func_wrap(IMPORT_MODULE, Import::AnswerStr.name(), answer_str)?;

    // 5. A call with a request: the guest copies the request into its buffer with `request_read`,
    //    the same way, and hands its response back with `respond_str`. Both live in the store.
    let request_read = |mut caller: Caller<'_, State>, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
        let request = std::mem::take(&mut caller.data_mut().request);
        let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
        let written = memory(&mut caller).and_then(|memory| out.write(memory, &request).map_err(trap));
        caller.data_mut().request = request;
        Ok(written?.code())
    };
    linker.func_wrap(IMPORT_MODULE, Import::RequestRead.name(), request_read)?;
    linker.func_wrap(
        IMPORT_MODULE,
        Import::RespondStr.name(),
        |mut caller: Caller<'_, State>, ptr: i32, len: i32| {
            let response = decode_value(ValueKind::Str, memory(&mut caller)?, ptr, len).map_err(trap)?.into_owned();
            caller.data_mut().response = Some(response);
            Ok(())
        },
    )?;

    // 6. Instantiate, and call `hello`: it logs four values and returns 4567.
    let instance = linker.instantiate(&mut store, &module)?;
    let hello = instance.get_typed_func::<(), i32>(&mut store, "hello")?;
    println!("returned {}", hello.call(&mut store, ())?);

    // 7. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    store.data_mut().request = request.as_bytes().to_vec();
    let handle = instance.get_typed_func::<i32, i32>(&mut store, "handle")?;
    let status = handle.call(&mut store, i32::try_from(request.len())?)?;
    if let Some(response) = store.data_mut().response.take() {
        println!("response {response}");
    }
    println!("returned {status}");
    Ok(())
}
