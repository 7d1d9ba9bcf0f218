//! The Rust guest's stack (`guest/build.rs`: 32 KiB instead of Rust's 1 MiB, so that the guest
//! starts with one page of memory) holds its deepest call with room to spare. Every export of
//! the guest runs on a new instance whose stack was painted first; the lowest byte the call
//! changed shows how deep its stack went. The deepest must use under half the stack: a change
//! that needs more (a large array on the stack, deep recursion) fails here, with the figure,
//! rather than as a trap on some runtime later.

use common::{AB, CD, ab_config};
use harness::{Config, Instance, Sink, WASM_PAGE_SIZE};
use runtimes::all_tiers;
use wasmparser::{ConstExpr, Operator, Parser, Payload};

/// What the stack is painted with before a call.
const PAINT: u8 = 0xA5;

/// The guest's initial memory in pages, and the top of its stack: `__stack_pointer`'s initial
/// value (the first global, which wasm-ld makes the stack pointer; the stack comes first in
/// memory and grows down to address 0).
fn memory_layout(wasm: &[u8]) -> (u64, u32) {
    let mut pages = None;
    let mut stack_top = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.expect("the guest parses") {
            Payload::MemorySection(reader) => {
                pages = reader.into_iter().next().map(|memory| memory.expect("memory").initial);
            }
            Payload::GlobalSection(reader) => {
                let global = reader.into_iter().next().expect("a global").expect("the stack pointer global");
                assert!(global.ty.mutable, "the first global is the (mutable) stack pointer");
                stack_top = Some(i32_const(&global.init_expr));
            }
            _ => {}
        }
    }
    (pages.expect("the guest has a memory"), stack_top.expect("the guest has a stack pointer"))
}

fn i32_const(expr: &ConstExpr<'_>) -> u32 {
    match expr.get_operators_reader().read().expect("an operator") {
        Operator::I32Const { value } => value.cast_unsigned(),
        other => panic!("the stack pointer starts at {other:?}, not a constant"),
    }
}

/// Calls `export` of the guest as it is called in use: a handler with a request of its kind, the
/// kernel and the allocator with arguments, anything else without any.
fn call(instance: &mut dyn Instance, export: &str, params: usize) {
    let ab = bincode::serde::encode_to_vec(AB { a: 7, b: "seven, as text".into() }, ab_config()).expect("AB");
    let cd = CD::new(7, "seven").expect("CD");
    // Whether the call returns or traps (`handle_panics`, `scenario_guest_panics`) does not
    // matter here: how deep its stack went does.
    let _ = match (export, params) {
        ("handle_ab", _) => instance.call_with_input(export, &ab).map(drop),
        ("handle_cd", _) => instance.call_with_input(export, bytemuck::bytes_of(&cd.to_wire())).map(drop),
        (handler, 1) if handler.starts_with("handle") => instance.call_with_input(export, b"Wasm").map(drop),
        ("kernel", 1) => instance.call(export, &[100_000]).map(drop),
        (common::ALLOCATOR_EXPORT, 2) => instance.call(export, &[4096, 8]).map(drop),
        (_, 0) => instance.call(export, &[]).map(drop),
        _ => panic!("{export} takes {params} arguments: say here how it is called"),
    };
}

#[test]
fn the_deepest_call_of_the_guest_uses_under_half_its_stack() {
    let (pages, stack_top) = memory_layout(guest_wasm::GUEST_WASM);
    assert_eq!(pages, 1, "the guest starts with {pages} pages of memory, not one (guest/build.rs)");
    let stack_size = stack_top as usize;
    assert!(stack_top < WASM_PAGE_SIZE, "a stack of {stack_size} bytes does not leave the data room in a page");

    // Any runtime does: the stack is the guest's code's, in its linear memory.
    let tier = all_tiers(&Config::default()).into_iter().next().expect("a runtime");
    let label = tier.label();
    let engine = tier.engine.unwrap_or_else(|f| panic!("{label}: {f}"));
    let module = engine.load_module(guest_wasm::GUEST_WASM).unwrap_or_else(|f| panic!("{label}: {f}"));

    let mut deepest = (0, String::new());
    let mut called = 0;
    for export in module.shape().functions() {
        // The two that end only at a limit: their stack is a loop's.
        if ["handle_spins", "handle_grows"].contains(&export.as_str()) {
            continue;
        }
        let params = module.shape().function(&export).map_or(0, |(params, _)| params.len());
        let mut instance = engine.instantiate_module(&module, Sink::Discard).unwrap_or_else(|f| panic!("{f}"));
        instance.write_memory(0, &vec![PAINT; stack_size]).expect("paint the stack");
        call(instance.as_mut(), &export, params);
        let memory = instance.read_memory().expect("read memory");
        let lowest = memory[..stack_size].iter().position(|&byte| byte != PAINT).unwrap_or(stack_size);
        let used = stack_size - lowest;
        if used > deepest.0 {
            deepest = (used, export);
        }
        called += 1;
    }
    assert!(called >= 20, "only {called} exports called");
    let (used, export) = deepest;
    println!("deepest stack: {used} of {stack_size} bytes ({export}), over {called} exports");
    assert!(used > 0, "no call used the stack: the painting did not work");
    assert!(used < stack_size / 2, "{export} used {used} of the guest's {stack_size}-byte stack");
}
