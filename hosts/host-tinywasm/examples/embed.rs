//! Embeds the wasm-hostcall guest in tinywasm, without the test harness: binds the imports the
//! guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-tinywasm --example embed-tinywasm`. To embed a guest in your own
//! program, copy this file and depend on `common`, the ABI; `src/imports.rs` binds every import.
//!
//! tinywasm 0.10 lends no view of a guest's memory, only copies: this example copies the whole
//! memory into each import that reads it, and back out of each that writes it (fine for a small
//! guest). `host-tinywasm` shares the memory's storage with tinywasm instead (`src/memory.rs`).

use std::cell::RefCell;
use std::rc::Rc;

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, MEMORY_EXPORT, OutputBuffer, ValueKind, decode_value};
use tinywasm::types::ImportType;
use tinywasm::{Error, FuncContext, HostFunction, Imports, ModuleInstance, Store};

/// What the imports share: the request of the call in progress, and the guest's response to it.
#[derive(Default)]
struct State {
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// An error of an import body as the trap that ends the guest's call.
fn trap(error: impl std::fmt::Display) -> Error {
    Error::Other(error.to_string())
}

/// A copy of the guest's whole memory.
fn read_memory(ctx: &FuncContext<'_>) -> tinywasm::Result<Vec<u8>> {
    let memory = ctx.memory(MEMORY_EXPORT)?;
    memory.read_vec(ctx.store(), 0, memory.len(ctx.store())?)
}

/// Writes a copy made by [`read_memory`] back, with what the import changed in it.
fn write_memory(ctx: &mut FuncContext<'_>, bytes: &[u8]) -> tinywasm::Result<()> {
    let memory = ctx.memory(MEMORY_EXPORT)?;
    memory.copy_from_slice(ctx.store_mut(), 0, bytes)
}

fn main() -> anyhow::Result<()> {
    // 1. The guest module, parsed and validated, and a store for its instance.
    let module = tinywasm::parse_bytes(guest_wasm::GUEST_WASM)?;
    let mut store = Store::default();
    let state = Rc::new(RefCell::new(State::default()));
    let mut imports = Imports::new();

    // 2. The guest imports the whole ABI. Every function it imports starts as a stub that traps;
    //    the imports this example implements replace theirs below.
    for import in module.imports() {
        if let ImportType::Func(ty) = import.ty {
            let message = format!("{}.{} is not implemented in this example", import.module, import.name);
            let stub = HostFunction::from_untyped(&mut store, ty, move |_, _| Err(trap(&message)));
            imports.define(import.module, import.name, stub);
        }
    }

    // 3. The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
    let log_int = HostFunction::from(&mut store, |_, value: i32| {
        println!("{}", Event::Int(value));
        Ok(())
    });
    imports.define(IMPORT_MODULE, Import::LogInt.name(), log_int);
    for (import, kind) in
        [(Import::LogStr, ValueKind::Str), (Import::LogAb, ValueKind::Ab), (Import::LogCd, ValueKind::Cd)]
    {
        let log = HostFunction::from(&mut store, move |ctx, (ptr, len): (i32, i32)| {
            let memory = read_memory(&ctx)?;
            println!("{}", decode_value(kind, &memory, ptr, len).map_err(trap)?);
            Ok(())
        });
        imports.define(IMPORT_MODULE, import.name(), log);
    }

    // 4. `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
    //    (or only the length it needs, if the buffer is too small: the status says which).
    let answer_str = HostFunction::from(
        &mut store,
        |mut ctx, (ptr, len, out_ptr, out_cap, out_len_ptr): (i32, i32, i32, i32, i32)| {
            let mut memory = read_memory(&ctx)?;
            let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
            let status = answer_into(ValueKind::Str, &mut memory, ptr, len, out).map_err(trap)?;
            write_memory(&mut ctx, &memory)?;
            Ok(status.code())
        },
    );
    imports.define(IMPORT_MODULE, Import::AnswerStr.name(), answer_str);

    // 5. A call with a request: the guest copies the request into its buffer with `request_read`,
    //    the same way, and hands its response back with `respond_str`. Both live in `State`.
    let shared = state.clone();
    let request_read =
        HostFunction::from(&mut store, move |mut ctx, (out_ptr, out_cap, out_len_ptr): (i32, i32, i32)| {
            let mut memory = read_memory(&ctx)?;
            let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
            let status = out.write(&mut memory, &shared.borrow().request).map_err(trap)?;
            write_memory(&mut ctx, &memory)?;
            Ok(status.code())
        });
    imports.define(IMPORT_MODULE, Import::RequestRead.name(), request_read);
    let shared = state.clone();
    let respond_str = HostFunction::from(&mut store, move |ctx, (ptr, len): (i32, i32)| {
        let memory = read_memory(&ctx)?;
        shared.borrow_mut().response =
            Some(decode_value(ValueKind::Str, &memory, ptr, len).map_err(trap)?.into_owned());
        Ok(())
    });
    imports.define(IMPORT_MODULE, Import::RespondStr.name(), respond_str);

    // 6. Instantiate, and call `hello`: it logs four values and returns 4567.
    let instance = ModuleInstance::instantiate(&mut store, &module, Some(imports))?;
    let hello = instance.func::<(), i32>(&store, "hello")?;
    println!("returned {}", hello.call(&mut store, ())?);

    // 7. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    state.borrow_mut().request = request.as_bytes().to_vec();
    let handle = instance.func::<i32, i32>(&store, "handle")?;
    let status = handle.call(&mut store, i32::try_from(request.len())?)?;
    if let Some(response) = state.borrow_mut().response.take() {
        println!("response {response}");
    }
    println!("returned {status}");
    Ok(())
}
