//! Lowering to WebAssembly 1.0: rewrites a module that uses `memory.copy` and `memory.fill` (bulk
//! memory) into one a 1.0 runtime can run, the way `wasm-opt --llvm-memory-copy-fill-lowering`
//! does (used by host-wasm3).
//!
//! wasm3 0.4.7, for one, implements WebAssembly 1.0 (with sign-extension and saturating conversions), but
//! Rust and LLVM now target more by default: `memcpy` and `memset` become `memory.copy` and
//! `memory.fill`, and `call_indirect` encodes its table index as a padded 5-byte LEB (the
//! reference-types encoding; 1.0 wants a single zero byte). This module re-encodes the module
//! (which writes every index in its shortest form) and replaces each `memory.copy` and
//! `memory.fill` with a call to a function it appends, written in WebAssembly 1.0 with the same
//! semantics: the whole range is checked first (an out-of-bounds range traps with an
//! out-of-bounds memory access, having written nothing), then the bytes are copied (as by
//! `memmove`, overlapping ranges included) or filled, eight at a time, then one at a time.
//! Appending (rather than importing) the two functions leaves every existing function index as
//! it was. Everything else in the module is kept as it is; a module that needs any other
//! feature wasm3 lacks still fails its validation.

use wasm_encoder::reencode::{Error, Reencode, RoundtripReencoder, utils};
use wasm_encoder::{
    BlockType, CodeSection, Function, FunctionSection, Instruction, InstructionSink, MemArg, MemArgTarget, TypeSection,
    ValType,
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// The lowering of one module: the indices of the type and the two functions it appends.
struct Lowering {
    helper_type: u32,
    copy: u32,
    fill: u32,
}

impl Reencode for Lowering {
    type Error = std::convert::Infallible;

    fn instruction<'a>(&mut self, arg: Operator<'a>) -> Result<Instruction<'a>, Error<Self::Error>> {
        match arg {
            Operator::MemoryCopy { dst_mem: 0, src_mem: 0 } => Ok(Instruction::Call(self.copy)),
            Operator::MemoryFill { mem: 0 } => Ok(Instruction::Call(self.fill)),
            other => utils::instruction(self, other),
        }
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32, ValType::I32, ValType::I32], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        functions.function(self.helper_type);
        functions.function(self.helper_type);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), Error<Self::Error>> {
        utils::parse_code_section(self, code, section)?;
        code.function(&copy_function());
        code.function(&fill_function());
        Ok(())
    }
}

/// `wasm` re-encoded, with `memory.copy` and `memory.fill` lowered to WebAssembly 1.0 if it uses
/// them. `None` if the module cannot be lowered (it is not a valid module, or it lacks a type,
/// function or code section, so it has no code to lower).
pub fn lower(wasm: &[u8]) -> Option<Vec<u8>> {
    let (mut types, mut functions, mut has_code) = (None, 0u32, false);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::TypeSection(reader) => types = Some(reader.count()),
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        functions = functions.checked_add(1)?;
                    }
                }
            }
            Payload::FunctionSection(reader) => functions = functions.checked_add(reader.count())?,
            Payload::CodeSectionStart { .. } => has_code = true,
            _ => {}
        }
    }
    if !has_code {
        // Nothing to lower: re-encoding alone (shortest LEBs) is enough.
        let mut module = wasm_encoder::Module::new();
        RoundtripReencoder.parse_core_module(&mut module, Parser::new(0), wasm).ok()?;
        return Some(module.finish());
    }
    let mut lowering = Lowering { helper_type: types?, copy: functions, fill: functions.checked_add(1)? };
    let mut module = wasm_encoder::Module::new();
    lowering.parse_core_module(&mut module, Parser::new(0), wasm).ok()?;
    Some(module.finish())
}

/// `memarg` for a byte (alignment 1) or an 8-byte word accessed at offset 0.
fn mem_arg(align: u32) -> MemArg {
    MemArg { offset: 0, align, target: MemArgTarget::Memory(0), ordering: None }
}

/// Traps with an out-of-bounds memory access (reads the last byte of the 4 GiB address space,
/// which wasm3, holding at most 65,535 pages, never has) if `base + len` (as unsigned 64-bit
/// numbers) is past the end of memory. Locals: `base`, `len`.
///
/// `memory.size` comes first: wasm3 0.4.7 fails to compile a `memory.size` while another value
/// waits in its register ("no operation found for opcode").
fn check_range(f: &mut Function, base: u32, len: u32) {
    f.instructions()
        .memory_size(0)
        .i64_extend_i32_u()
        .i64_const(16)
        .i64_shl()
        .local_get(base)
        .i64_extend_i32_u()
        .local_get(len)
        .i64_extend_i32_u()
        .i64_add()
        .i64_lt_u()
        .if_(BlockType::Empty)
        .i32_const(-1)
        .i32_load8_u(mem_arg(0))
        .drop()
        .end();
}

/// Emits a loop that runs `body` until `exit` leaves a true `i32` (checked before each pass):
/// `block loop <exit> br_if 1 <body> br 0 end end`.
fn until<'a>(
    ins: &mut InstructionSink<'a>,
    exit: impl FnOnce(&mut InstructionSink<'a>),
    body: impl FnOnce(&mut InstructionSink<'a>),
) {
    ins.block(BlockType::Empty).loop_(BlockType::Empty);
    exit(ins);
    ins.br_if(1);
    body(ins);
    ins.br(0).end().end();
}

/// The forward loops of `memory.copy` and `memory.fill`: `word` (8 bytes at `i`) while at least 8
/// remain before `len`, then `byte` (the one at `i`) while `i < len`, `i` advancing past each.
fn forwards<'a>(
    ins: &mut InstructionSink<'a>,
    i: u32,
    len: u32,
    word: impl FnOnce(&mut InstructionSink<'a>),
    byte: impl FnOnce(&mut InstructionSink<'a>),
) {
    until(
        ins,
        |ins| {
            ins.local_get(len).local_get(i).i32_sub().i32_const(8).i32_lt_u();
        },
        |ins| {
            word(ins);
            advance(ins, i, 8);
        },
    );
    until(
        ins,
        |ins| {
            ins.local_get(i).local_get(len).i32_ge_u();
        },
        |ins| {
            byte(ins);
            advance(ins, i, 1);
        },
    );
}

/// Pushes the address `base + i` (locals).
fn address(ins: &mut InstructionSink<'_>, base: u32, i: u32) {
    ins.local_get(base).local_get(i).i32_add();
}

/// `i += step` (a local; wrapping, as `i32.add` is).
fn advance(ins: &mut InstructionSink<'_>, i: u32, step: i32) {
    ins.local_get(i).i32_const(step).i32_add().local_set(i);
}

/// `memory.copy` as a function `(dst, src, len)`: checks both ranges, then copies forwards when
/// `dst <= src` and backwards otherwise (so that overlapping ranges copy as `memmove`), 8 bytes at
/// a time while at least 8 remain, then byte by byte. Local 3 is the count copied (forwards) or
/// left (backwards).
fn copy_function() -> Function {
    let (dst, src, len, i) = (0, 1, 2, 3);
    let mut f = Function::new([(1, ValType::I32)]);
    check_range(&mut f, src, len);
    check_range(&mut f, dst, len);
    // The word or the byte at `src + i` to `dst + i`.
    let word = |ins: &mut InstructionSink<'_>| {
        address(ins, dst, i);
        address(ins, src, i);
        ins.i64_load(mem_arg(0)).i64_store(mem_arg(0));
    };
    let byte = |ins: &mut InstructionSink<'_>| {
        address(ins, dst, i);
        address(ins, src, i);
        ins.i32_load8_u(mem_arg(0)).i32_store8(mem_arg(0));
    };
    let mut ins = f.instructions();
    ins.local_get(dst).local_get(src).i32_le_u().if_(BlockType::Empty);
    forwards(&mut ins, i, len, word, byte);
    ins.else_();
    // Backwards: i = len; words while i >= 8, then bytes while i > 0.
    ins.local_get(len).local_set(i);
    until(
        &mut ins,
        |ins| {
            ins.local_get(i).i32_const(8).i32_lt_u();
        },
        |ins| {
            advance(ins, i, -8);
            word(ins);
        },
    );
    until(
        &mut ins,
        |ins| {
            ins.local_get(i).i32_eqz();
        },
        |ins| {
            advance(ins, i, -1);
            byte(ins);
        },
    );
    ins.end().end();
    f
}

/// `memory.fill` as a function `(dst, value, len)`: checks the range, then stores the value's low
/// byte 8 at a time while at least 8 remain, then byte by byte. Local 3 is the count written,
/// local 4 the byte repeated in a 64-bit word.
fn fill_function() -> Function {
    let (dst, value, len, i, word) = (0, 1, 2, 3, 4);
    let mut f = Function::new([(1, ValType::I32), (1, ValType::I64)]);
    check_range(&mut f, dst, len);
    let mut ins = f.instructions();
    ins.local_get(value)
        .i32_const(0xff)
        .i32_and()
        .i64_extend_i32_u()
        .i64_const(0x0101_0101_0101_0101)
        .i64_mul()
        .local_set(word);
    forwards(
        &mut ins,
        i,
        len,
        |ins| {
            address(ins, dst, i);
            ins.local_get(word).i64_store(mem_arg(0));
        },
        |ins| {
            address(ins, dst, i);
            ins.local_get(value).i32_store8(mem_arg(0));
        },
    );
    ins.end();
    f
}
