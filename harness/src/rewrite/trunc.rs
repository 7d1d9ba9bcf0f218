//! Trapping float-to-integer conversions checked in the module itself, for runtimes that get them
//! wrong at the edges (used by host-silverfir: Silverfir-nano 0.6's JIT converts the values
//! exactly at the upper bound, 2^31 and 2^32 from `f32`, 2^63 and 2^64 from either, instead of
//! trapping; its interpreter, which host-silverfir does not offer, converts a NaN or out-of-range
//! operand computed by the previous instruction to whatever its frame slot held).
//!
//! Each of the eight trapping conversions (`i32.trunc_f32_s` ... `i64.trunc_f64_u`) is replaced
//! with a call to a function appended to the module, of the same type, which checks the operand
//! against the conversion's exclusive bounds and converts an operand in range with the saturating
//! instruction (which gives the same result there); out of range, it traps the way the
//! conversion does, with the conversion applied to a constant that traps the same way (NaN: an
//! invalid conversion; any other value: an integer overflow). Appending the functions (rather
//! than importing anything) leaves every existing function index as it was.
//!
//! The module is validated first, and the result again: a rewrite never turns an invalid module
//! into a valid one.

use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{Operator, Parser, Payload, Validator};

/// One trapping conversion.
#[derive(Debug, Clone)]
struct Conversion {
    /// Whether it converts from `f64` (else `f32`).
    from_f64: bool,
    /// Whether it converts to `i64` (else `i32`).
    to_i64: bool,
    /// The largest value below the range (bits of the source type), and the smallest above it.
    below: u64,
    above: u64,
    /// The trapping instruction and its saturating counterpart.
    trapping: Instruction<'static>,
    saturating: Instruction<'static>,
}

/// The eight conversions, in the order of their functions: the bounds are those of the
/// WebAssembly specification's `trunc` (the same as wasmtime's and Silverfir-nano's interpreter's).
const CONVERSIONS: [Conversion; 8] = [
    conversion(false, false, 0xCF00_0001, 0x4F00_0000, Instruction::I32TruncF32S, Instruction::I32TruncSatF32S),
    conversion(false, false, 0xBF80_0000, 0x4F80_0000, Instruction::I32TruncF32U, Instruction::I32TruncSatF32U),
    conversion(
        true,
        false,
        0xC1E0_0000_0020_0000,
        0x41E0_0000_0000_0000,
        Instruction::I32TruncF64S,
        Instruction::I32TruncSatF64S,
    ),
    conversion(
        true,
        false,
        0xBFF0_0000_0000_0000,
        0x41F0_0000_0000_0000,
        Instruction::I32TruncF64U,
        Instruction::I32TruncSatF64U,
    ),
    conversion(false, true, 0xDF00_0001, 0x5F00_0000, Instruction::I64TruncF32S, Instruction::I64TruncSatF32S),
    conversion(false, true, 0xBF80_0000, 0x5F80_0000, Instruction::I64TruncF32U, Instruction::I64TruncSatF32U),
    conversion(
        true,
        true,
        0xC3E0_0000_0000_0001,
        0x43E0_0000_0000_0000,
        Instruction::I64TruncF64S,
        Instruction::I64TruncSatF64S,
    ),
    conversion(
        true,
        true,
        0xBFF0_0000_0000_0000,
        0x43F0_0000_0000_0000,
        Instruction::I64TruncF64U,
        Instruction::I64TruncSatF64U,
    ),
];

const fn conversion(
    from_f64: bool,
    to_i64: bool,
    below: u64,
    above: u64,
    trapping: Instruction<'static>,
    saturating: Instruction<'static>,
) -> Conversion {
    Conversion { from_f64, to_i64, below, above, trapping, saturating }
}

/// Which of [`CONVERSIONS`] `op` is, if it is one.
fn which(op: &Operator<'_>) -> Option<usize> {
    Some(match op {
        Operator::I32TruncF32S => 0,
        Operator::I32TruncF32U => 1,
        Operator::I32TruncF64S => 2,
        Operator::I32TruncF64U => 3,
        Operator::I64TruncF32S => 4,
        Operator::I64TruncF32U => 5,
        Operator::I64TruncF64S => 6,
        Operator::I64TruncF64U => 7,
        _ => return None,
    })
}

/// `wasm` with its trapping float-to-integer conversions replaced by calls to checked functions
/// (see the module documentation), or `None` if it has none. Fails on a module that does not
/// validate.
pub fn check_truncations(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let types = Validator::new().validate_all(wasm).map_err(|e| e.to_string())?;
    let mut uses = false;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.map_err(|e| e.to_string())? {
            for op in body.get_operators_reader().map_err(|e| e.to_string())? {
                if which(&op.map_err(|e| e.to_string())?).is_some() {
                    uses = true;
                    break;
                }
            }
        }
        if uses {
            break;
        }
    }
    if !uses {
        return Ok(None);
    }
    let types = types.as_ref();
    let mut checker = Checker { first_type: types.core_type_count_in_module(), first_function: types.function_count() };
    let wasm = super::reencode(&mut checker, wasm)?;
    Validator::new().validate_all(&wasm).map_err(|e| format!("the checked module does not validate: {e}"))?;
    Ok(Some(wasm))
}

/// The re-encoder: where the appended types and functions start.
struct Checker {
    first_type: u32,
    first_function: u32,
}

/// The index of conversion `index`'s type among the four appended: `(f32|f64) -> (i32|i64)`.
fn type_offset(conversion: &Conversion) -> u32 {
    u32::from(conversion.from_f64) + 2 * u32::from(conversion.to_i64)
}

impl Reencode for Checker {
    type Error = Infallible;

    fn instruction<'a>(&mut self, op: Operator<'a>) -> Result<Instruction<'a>, reencode::Error<Self::Error>> {
        match which(&op) {
            Some(index) => Ok(Instruction::Call(self.first_function + u32::try_from(index).unwrap_or(0))),
            None => reencode::utils::instruction(self, op),
        }
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for (from, to) in [
            (ValType::F32, ValType::I32),
            (ValType::F64, ValType::I32),
            (ValType::F32, ValType::I64),
            (ValType::F64, ValType::I64),
        ] {
            types.ty().function([from], [to]);
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for conversion in &CONVERSIONS {
            functions.function(self.first_type + type_offset(conversion));
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        for conversion in &CONVERSIONS {
            code.function(&checked(conversion));
        }
        Ok(())
    }
}

/// The checked conversion, as a function `(x) -> result`.
fn checked(conversion: &Conversion) -> Function {
    // A constant of the source type with these bits (an `f32`'s in the low half).
    let constant = |bits: u64| {
        if conversion.from_f64 {
            Instruction::F64Const(Ieee64::new(bits))
        } else {
            Instruction::F32Const(Ieee32::new(u32::try_from(bits).unwrap_or(0)))
        }
    };
    let (gt, lt, ne) = if conversion.from_f64 {
        (Instruction::F64Gt, Instruction::F64Lt, Instruction::F64Ne)
    } else {
        (Instruction::F32Gt, Instruction::F32Lt, Instruction::F32Ne)
    };
    // 2^100, out of every conversion's range; a quiet NaN.
    let (huge, nan) =
        if conversion.from_f64 { (0x4630_0000_0000_0000, 0x7FF8_0000_0000_0000) } else { (0x7180_0000, 0x7FC0_0000) };
    let mut f = Function::new([]);
    for instruction in [
        // In range (NaN is not): the saturating conversion gives the same result.
        Instruction::LocalGet(0),
        constant(conversion.below),
        gt,
        Instruction::LocalGet(0),
        constant(conversion.above),
        lt,
        Instruction::I32And,
        Instruction::If(BlockType::Empty),
        Instruction::LocalGet(0),
        conversion.saturating.clone(),
        Instruction::Return,
        Instruction::End,
        // NaN: an invalid conversion.
        Instruction::LocalGet(0),
        Instruction::LocalGet(0),
        ne,
        Instruction::If(BlockType::Empty),
        constant(nan),
        conversion.trapping.clone(),
        Instruction::Drop,
        Instruction::Unreachable,
        Instruction::End,
        // Out of range: an integer overflow.
        constant(huge),
        conversion.trapping.clone(),
        Instruction::Drop,
        Instruction::Unreachable,
        Instruction::End,
    ] {
        f.instruction(&instruction);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(text: &str) -> Vec<u8> {
        crate::module_bytes(text.as_bytes()).expect("valid text").into_owned()
    }

    #[test]
    fn conversions_become_calls_to_appended_functions() {
        let module = wat(r#"(module
          (import "env" "log_int" (func (param i32)))
          (func (export "run") (param f32 f64) (result i64)
            (drop (i32.trunc_f32_s (local.get 0)))
            (drop (i32.trunc_sat_f64_u (local.get 1)))
            (i64.trunc_f64_u (local.get 1))))"#);
        let checked = check_truncations(&module).unwrap().expect("something to check");
        let mut bodies = Vec::new();
        for payload in Parser::new(0).parse_all(&checked) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops: Vec<String> =
                    body.get_operators_reader().unwrap().into_iter().map(|op| format!("{:?}", op.unwrap())).collect();
                bodies.push(ops);
            }
        }
        assert_eq!(bodies.len(), 1 + 8);
        // Functions: the import (0), run (1), then the eight checked conversions (2..10).
        assert!(bodies[0].contains(&"Call { function_index: 2 }".to_owned()), "{:?}", bodies[0]);
        assert!(bodies[0].contains(&"I32TruncSatF64U".to_owned()), "saturating conversions are kept");
        assert!(bodies[0].contains(&"Call { function_index: 9 }".to_owned()), "{:?}", bodies[0]);
        assert!(!bodies[0].iter().any(|op| op == "I32TruncF32S" || op == "I64TruncF64U"));
    }

    #[test]
    fn nothing_to_check_without_a_trapping_conversion() {
        let module = wat(r#"(module (func (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))"#);
        assert_eq!(check_truncations(&module), Ok(None));
        assert!(check_truncations(b"\0asm\x01\0\0\0\x01\xff").is_err());
    }

    /// The bounds are the exclusive ones: each is out of its conversion's range, and the value
    /// next to it, inside, converts.
    #[test]
    fn bounds_are_the_ranges_of_the_conversions() {
        let ranges: [(i128, i128); 8] = [
            (i32::MIN.into(), i32::MAX.into()),
            (0, u32::MAX.into()),
            (i32::MIN.into(), i32::MAX.into()),
            (0, u32::MAX.into()),
            (i64::MIN.into(), i64::MAX.into()),
            (0, u64::MAX.into()),
            (i64::MIN.into(), i64::MAX.into()),
            (0, u64::MAX.into()),
        ];
        for (c, (min, max)) in CONVERSIONS.iter().zip(ranges) {
            // The value with these bits, truncated (exactly: every bound is below 2^65).
            #[allow(clippy::cast_possible_truncation, reason = "values below 2^65, already integral when large")]
            let value = |bits: u64| -> i128 {
                if c.from_f64 {
                    f64::from_bits(bits) as i128
                } else {
                    f32::from_bits(u32::try_from(bits).unwrap()) as i128
                }
            };
            assert!(value(c.below) < min && value(c.above) > max, "{c:?}");
            // One step towards zero: inside (both bounds are away from zero, the lower one negative).
            assert!((min..=max).contains(&value(c.below - 1)) && (min..=max).contains(&value(c.above - 1)), "{c:?}");
        }
    }
}
