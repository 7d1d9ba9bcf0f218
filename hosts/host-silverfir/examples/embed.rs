//! Embeds the wasm-hostcall guest in Silverfir-nano, without the test harness: binds the imports
//! the guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-silverfir --example embed-silverfir`. To embed a guest in your
//! own program, copy this file and depend on `common`, the ABI; `src/imports.rs` binds every
//! import.

use std::cell::RefCell;
use std::rc::Rc;

use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, OutputBuffer, ValueKind, decode_value};
use sf_nano_core::{Caller, Config, Engine, Instance, Value, WasmError};

/// What the imports share: the request of the call in progress, and the guest's response to it.
#[derive(Default)]
struct State {
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// An error of an import body as the trap that ends the guest's call. Silverfir-nano's errors
/// carry only a static message, so the error itself is printed.
fn trap(error: impl std::fmt::Display) -> WasmError {
    eprintln!("the guest's call is refused: {error}");
    WasmError::trap("a host function refused the guest's call")
}

/// An import's body: the call (its memory), the arguments, the results, the shared state.
type Body = fn(&mut Caller<'_>, &[Value], &mut [Value], &RefCell<State>) -> Result<(), WasmError>;

/// The guest's whole memory, borrowed for the length of one import call.
fn memory<'a>(caller: &'a mut Caller<'_>) -> Result<&'a mut [u8], WasmError> {
    caller.memory_mut().ok_or_else(|| trap("the guest has no memory"))
}

/// The `i32` argument `index` of an import call.
fn arg(args: &[Value], index: usize) -> Result<i32, WasmError> {
    match args.get(index) {
        Some(Value::I32(value)) => Ok(*value),
        _ => Err(trap(format!("argument {index} is not an i32"))),
    }
}

fn main() -> anyhow::Result<()> {
    let state = Rc::new(RefCell::new(State::default()));
    let mut imports = Vec::new();

    // 1. Each import this example implements is a function of the call's memory, arguments and
    //    results, and of the state above.
    let bind = |name: &str, body: Body| {
        let state = Rc::clone(&state);
        sf_nano_core::Import::func(IMPORT_MODULE, name, move |caller, args, results| {
            body(caller, args, results, &state)
        })
    };

    // 2. The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
    imports.push(bind(Import::LogInt.name(), |_, args, _, _| {
        println!("{}", Event::Int(arg(args, 0)?));
        Ok(())
    }));
    let logs: [(Import, Body); 3] = [
        (Import::LogStr, |c, a, _, _| log(ValueKind::Str, c, a)),
        (Import::LogAb, |c, a, _, _| log(ValueKind::Ab, c, a)),
        (Import::LogCd, |c, a, _, _| log(ValueKind::Cd, c, a)),
    ];
    for (import, body) in logs {
        imports.push(bind(import.name(), body));
    }

    // 3. `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
    //    (or only the length it needs, if the buffer is too small: the status says which).
    imports.push(bind(Import::AnswerStr.name(), |caller, args, results, _| {
        let out = OutputBuffer::new(arg(args, 2)?, arg(args, 3)?, arg(args, 4)?);
        let status = answer_into(ValueKind::Str, memory(caller)?, arg(args, 0)?, arg(args, 1)?, out).map_err(trap)?;
        results[0] = Value::I32(status.code());
        Ok(())
    }));

    // 4. A call with a request: the guest copies the request into its buffer with `request_read`,
    //    the same way, and hands its response back with `respond_str`.
    imports.push(bind(Import::RequestRead.name(), |caller, args, results, state| {
        let out = OutputBuffer::new(arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
        let status = out.write(memory(caller)?, &state.borrow().request).map_err(trap)?;
        results[0] = Value::I32(status.code());
        Ok(())
    }));
    imports.push(bind(Import::RespondStr.name(), |caller, args, _, state| {
        let response = decode_value(ValueKind::Str, memory(caller)?, arg(args, 0)?, arg(args, 1)?).map_err(trap)?;
        state.borrow_mut().response = Some(response.into_owned());
        Ok(())
    }));
    // The guest imports the whole ABI, and Silverfir-nano needs every import bound: the others
    // are stubs that trap (bound last: the first binding of a name is the one used).
    for import in Import::ALL {
        imports.push(sf_nano_core::Import::func(IMPORT_MODULE, import.name(), move |_, _, _| {
            Err(trap(format!("{import} is not implemented in this example")))
        }));
    }

    // 5. An engine (its JIT, by default) and an instance of the guest with these imports; call
    //    `hello`: it logs four values and returns 4567.
    let engine = Engine::new(Config::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut instance = Instance::new(&engine, guest_wasm::GUEST_WASM, &imports)?;
    let returned = instance.invoke("hello", &[])?;
    if let [Value::I32(value)] = returned.as_slice() {
        println!("returned {value}");
    }

    // 6. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    state.borrow_mut().request = request.as_bytes().to_vec();
    let returned = instance.invoke("handle", &[Value::I32(i32::try_from(request.len())?)])?;
    if let Some(response) = state.borrow_mut().response.take() {
        println!("response {response}");
    }
    if let [Value::I32(status)] = returned.as_slice() {
        println!("returned {status}");
    }
    Ok(())
}

/// A `log_*` import: decodes its argument `(ptr, len)` as `kind` and prints it.
fn log(kind: ValueKind, caller: &mut Caller<'_>, args: &[Value]) -> Result<(), WasmError> {
    println!("{}", decode_value(kind, memory(caller)?, arg(args, 0)?, arg(args, 1)?).map_err(trap)?);
    Ok(())
}
