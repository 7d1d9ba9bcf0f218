//! Embeds the wasm-hostcall guest in dlr-wasm-interpreter, without the test harness: binds the
//! imports the guest's `hello` and `handle` use, calls `hello`, then calls `handle` with a request.
//!
//! Run it with `cargo run -p host-dlr --example embed-dlr`. To embed a guest in your own program,
//! copy this file and depend on `common`, the ABI; `src/imports.rs` binds every import.
//!
//! dlr's host functions are not callbacks: when the guest calls an import, the call returns to
//! this program ([`StoredRunState::HostCalled`]) with the import's `hostcode` and arguments; the
//! program runs the import and resumes the guest with its result. This example uses the safe,
//! checked API (`dlr-wasm-interpreter-checked`); without limits (no fuel, no memory limit): for a
//! trusted guest only.

use anyhow::{Context, anyhow, bail};
use common::answer::answer_into;
use common::{Event, IMPORT_MODULE, Import, MEMORY_EXPORT, OutputBuffer, ValueKind, decode_value};
use dlr_wasm_interpreter::{ExternType, FuncAddr, MemAddr, decode_and_validate};
use dlr_wasm_interpreter_checked::{Store, Stored, StoredExternVal, StoredRunState, StoredValue};

/// What the host keeps beside the store: the request of the call in progress, and the guest's
/// response to it.
#[derive(Default)]
struct State {
    request: Vec<u8>,
    response: Option<Event<'static>>,
}

/// Runs the import `name` with `args` on the guest's `memory`: what a host function's body is.
fn host_function(name: &str, args: &[i32], memory: &mut [u8], state: &mut State) -> anyhow::Result<Option<i32>> {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let kind = |import: Import| import.value_kind().context("a value-carrying import");
    match Import::from_name(name) {
        // The `log_*` imports: decode the argument with `common`, print it. A bad argument traps.
        Some(Import::LogInt) => println!("{}", Event::Int(arg(0))),
        Some(import @ (Import::LogStr | Import::LogAb | Import::LogCd)) => {
            println!("{}", decode_value(kind(import)?, memory, arg(0), arg(1))?);
        }
        // `answer_str`: a greeting for the guest's text, written into a buffer the guest provides
        // (or only the length it needs, if the buffer is too small: the status says which).
        Some(Import::AnswerStr) => {
            let out = OutputBuffer::new(arg(2), arg(3), arg(4));
            return Ok(Some(answer_into(ValueKind::Str, memory, arg(0), arg(1), out)?.code()));
        }
        // A call with a request: the guest copies the request into its buffer with
        // `request_read`, the same way, and hands its response back with `respond_str`.
        Some(Import::RequestRead) => {
            let out = OutputBuffer::new(arg(0), arg(1), arg(2));
            return Ok(Some(out.write(memory, &state.request)?.code()));
        }
        Some(Import::RespondStr) => {
            state.response = Some(decode_value(ValueKind::Str, memory, arg(0), arg(1))?.into_owned());
        }
        _ => bail!("{IMPORT_MODULE}.{name} is not implemented in this example"),
    }
    Ok(None)
}

/// Calls `func` with `params` and runs it to its end, running each import the guest calls.
fn run(
    store: &mut Store<'_, ()>,
    imports: &[String],
    memory: Stored<MemAddr>,
    state: &mut State,
    func: Stored<FuncAddr>,
    params: Vec<StoredValue>,
) -> anyhow::Result<Vec<StoredValue>> {
    let mut run = store.invoke(func, params, None)?;
    loop {
        run = match run {
            StoredRunState::Finished { values, .. } => return Ok(values),
            StoredRunState::Resumable { resumable, .. } => store.resume_wasm(resumable)?,
            StoredRunState::HostCalled { host_call, resumable } => {
                let args: Vec<i32> = host_call
                    .params
                    .iter()
                    .map(|v| match v {
                        StoredValue::I32(v) => Ok(v.cast_signed()),
                        _ => Err(anyhow!("the ABI's imports take i32s")),
                    })
                    .collect::<anyhow::Result<_>>()?;
                let name = &imports[host_call.hostcode];
                let result = host_function(name, &args, store.mem_data_mut(memory), state)?;
                let results = result.map(|r| StoredValue::I32(r.cast_unsigned())).into_iter().collect();
                store.finish_host_call(resumable, results)?
            }
        };
    }
}

fn main() -> anyhow::Result<()> {
    // 1. The guest module, decoded and validated (dlr interprets these bytes in place: the module
    //    borrows them, and so does the store), and an empty store.
    let module = decode_and_validate(guest_wasm::GUEST_WASM, &mut ()).map_err(|e| anyhow!("{e}"))?;
    let mut store = Store::new(());

    // 2. Every import is a host function; its `hostcode` is its index in `imports`.
    let mut imports = Vec::new();
    let mut externs = Vec::new();
    for (module_name, name, ty) in module.imports() {
        let ExternType::Func(ty) = ty else { bail!("{module_name}.{name} is not a function") };
        externs.push(StoredExternVal::Func(store.func_alloc(ty, imports.len())));
        imports.push(name.to_owned());
    }

    // 3. Instantiate, find the memory, and call `hello`: it logs four values and returns 4567.
    let instance = store.module_instantiate(&module, externs, None)?.module_addr;
    let memory = store.instance_export(instance, MEMORY_EXPORT)?.as_mem().context("the guest's memory")?;
    let export = |store: &Store<'_, ()>, name: &str| -> anyhow::Result<Stored<FuncAddr>> {
        store.instance_export(instance, name)?.as_func().with_context(|| format!("the export {name}"))
    };
    let mut state = State::default();
    let hello = export(&store, "hello")?;
    if let [StoredValue::I32(value)] = run(&mut store, &imports, memory, &mut state, hello, Vec::new())?[..] {
        println!("returned {}", value.cast_signed());
    }

    // 4. Call `handle(request_len)` with the request "Wasm": it greets the request through
    //    `answer_str` and responds with the greeting.
    let request = "Wasm";
    state.request = request.as_bytes().to_vec();
    let handle = export(&store, "handle")?;
    let len = StoredValue::I32(u32::try_from(request.len())?);
    let status = run(&mut store, &imports, memory, &mut state, handle, vec![len])?;
    if let Some(response) = state.response.take() {
        println!("response {response}");
    }
    if let [StoredValue::I32(status)] = status[..] {
        println!("returned {}", status.cast_signed());
    }
    Ok(())
}
