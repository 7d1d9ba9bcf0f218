//! Embeds the wasm-hostcall guest in wasmer, without the test harness: binds the imports the
//! guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-wasmer --example embed-wasmer`. To embed a guest in your own
//! program, copy this file and depend on `common`, the ABI; `src/imports.rs` binds every import.

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, MEMORY_EXPORT, OutputBuffer, ValueKind, decode_value};
use wasmer::{
    ExternType, Function, FunctionEnv, FunctionEnvMut, Imports, Instance, Memory, Module, RuntimeError, Store,
    WasmSlice,
};

/// What the function environment holds: the guest's memory, the request of the call in
/// progress, and the guest's response to it.
#[derive(Default)]
struct State {
    memory: Option<Memory>,
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// Runs `body` with the guest's whole memory (in place) and our state, for one import call; an
/// error becomes a trap.
fn with_memory<T>(
    mut env: FunctionEnvMut<'_, State>,
    body: impl FnOnce(&mut [u8], &mut State) -> anyhow::Result<T>,
) -> Result<T, RuntimeError> {
    let (state, store) = env.data_and_store_mut();
    let memory = state.memory.as_ref().ok_or_else(|| RuntimeError::new("the guest's memory is not bound yet"))?;
    let view = memory.view(&store);
    let mut memory = WasmSlice::<u8>::new(&view, 0, view.data_size()).and_then(WasmSlice::access)?;
    body(memory.as_mut(), state).map_err(|error| RuntimeError::user(error.into()))
}

fn main() -> anyhow::Result<()> {
    // 1. A store (its engine: the default compiler), the guest module compiled for it, and the
    //    environment our imports share.
    let mut store = Store::default();
    let module = Module::new(&store, guest_wasm::GUEST_WASM)?;
    let env = FunctionEnv::new(&mut store, State::default());

    // 2. The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
    let log = |kind| {
        move |env: FunctionEnvMut<State>, ptr: i32, len: i32| {
            with_memory(env, |memory, _| {
                println!("{}", decode_value(kind, memory, ptr, len)?);
                Ok(())
            })
        }
    };

    // 3. `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
    //    (or only the length it needs, if the buffer is too small: the status says which).
    let answer_str = |env: FunctionEnvMut<State>, ptr: i32, len: i32, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
        with_memory(env, |memory, _| {
            let out = OutputBuffer::new(out_ptr, out_cap, out_len_ptr);
            Ok(answer_into(ValueKind::Str, memory, ptr, len, out)?.code())
        })
    };

    // 4. A call with a request: the guest copies the request into its buffer with `request_read`,
    //    the same way, and hands its response back with `respond_str`. Both live in `State`.
    let request_read = |env: FunctionEnvMut<State>, out_ptr: i32, out_cap: i32, out_len_ptr: i32| {
        with_memory(env, |memory, state| {
            Ok(OutputBuffer::new(out_ptr, out_cap, out_len_ptr).write(memory, &state.request)?.code())
        })
    };
    let respond_str = |env: FunctionEnvMut<State>, ptr: i32, len: i32| {
        with_memory(env, |memory, state| {
            state.response = Some(decode_value(ValueKind::Str, memory, ptr, len)?.into_owned());
            Ok(())
        })
    };

    // The imports, each bound to our environment, under its name in the ABI.
    let mut imports = Imports::new();
    for (import, function) in [
        (Import::LogInt, Function::new_typed(&mut store, |value: i32| println!("{}", Event::Int(value)))),
        (Import::LogStr, Function::new_typed_with_env(&mut store, &env, log(ValueKind::Str))),
        (Import::LogAb, Function::new_typed_with_env(&mut store, &env, log(ValueKind::Ab))),
        (Import::LogCd, Function::new_typed_with_env(&mut store, &env, log(ValueKind::Cd))),
        (Import::AnswerStr, Function::new_typed_with_env(&mut store, &env, answer_str)),
        (Import::RequestRead, Function::new_typed_with_env(&mut store, &env, request_read)),
        (Import::RespondStr, Function::new_typed_with_env(&mut store, &env, respond_str)),
    ] {
        imports.define(IMPORT_MODULE, import.name(), function);
    }

    // 5. The guest imports the whole ABI: the imports this example leaves out trap if called.
    for import in module.imports() {
        if let ExternType::Function(ty) = import.ty()
            && !imports.exists(import.module(), import.name())
        {
            let message = format!("{}.{} is not implemented in this example", import.module(), import.name());
            let stub = Function::new(&mut store, ty, move |_| Err(RuntimeError::new(message.clone())));
            imports.define(import.module(), import.name(), stub);
        }
    }

    // 6. Instantiate, give the imports the guest's memory, and call `hello`: it logs four values
    //    and returns 4567.
    let instance = Instance::new(&mut store, &module, &imports)?;
    env.as_mut(&mut store).memory = Some(instance.exports.get_memory(MEMORY_EXPORT)?.clone());
    let hello = instance.exports.get_typed_function::<(), i32>(&store, "hello")?;
    println!("returned {}", hello.call(&mut store)?);

    // 7. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    env.as_mut(&mut store).request = request.as_bytes().to_vec();
    let handle = instance.exports.get_typed_function::<i32, i32>(&store, "handle")?;
    let status = handle.call(&mut store, i32::try_from(request.len())?)?;
    if let Some(response) = env.as_mut(&mut store).response.take() {
        println!("response {response}");
    }
    println!("returned {status}");
    Ok(())
}
