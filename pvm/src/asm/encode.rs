//! Operand encoding: the inverse of [`crate::isa::decode_args`], with minimal lengths.
//!
//! Every encoding is self-contained (all operand bytes lie inside the instruction), so the
//! decoder, which derives the last immediate's length from the skip, reads back exactly the
//! encoded values.

use crate::isa::{Args, Format, Opcode};

/// Why operands cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// A register index above 12.
    Register(u8),
    /// An immediate that is not a sign-extended 32-bit value.
    Immediate(u64),
    /// A target whose offset from the instruction does not fit 32 bits.
    Offset(i64),
}

/// The fewest bytes (0..=4) whose little-endian sign extension gives `value`; `None` when `value`
/// is not a sign-extended 32-bit value.
pub(crate) fn imm_len(value: u64) -> Option<usize> {
    match value as i64 {
        0 => Some(0),
        -0x80..=0x7F => Some(1),
        -0x8000..=0x7FFF => Some(2),
        -0x80_0000..=0x7F_FFFF => Some(3),
        -0x8000_0000..=0x7FFF_FFFF => Some(4),
        _ => None,
    }
}

/// The offset `target - pc` as a sign-extended value, if it fits 32 bits.
pub(crate) fn offset(target: i64, pc: u64) -> Option<u64> {
    let pc = i64::try_from(pc).ok()?;
    let off = target.checked_sub(pc)?;
    i32::try_from(off).ok().map(|o| i64::from(o) as u64)
}

/// Bytes needed for the offset from `pc` to `target` (4 when it does not fit; the encoder then
/// reports the error).
pub(crate) fn offset_len(target: i64, pc: u64) -> usize {
    offset(target, pc).and_then(imm_len).unwrap_or(4)
}

/// Whether `op` carries a pc-relative target.
pub(crate) fn has_target(op: Opcode) -> bool {
    matches!(
        op.format(),
        Format::Offset | Format::RegImmOffset | Format::RegRegOffset
    )
}

fn reg(r: u8) -> Result<u8, EncodeError> {
    if r <= 12 {
        Ok(r)
    } else {
        Err(EncodeError::Register(r))
    }
}

fn imm(value: u64) -> Result<(u64, usize), EncodeError> {
    imm_len(value)
        .map(|len| (value, len))
        .ok_or(EncodeError::Immediate(value))
}

fn push(out: &mut Vec<u8>, (value, len): (u64, usize)) {
    out.extend_from_slice(&value.to_le_bytes()[..len]);
}

/// Appends the encoding of `op` (opcode byte `byte`) with `args` at `pc`.
///
/// Immediates use their minimal length. The offset uses `off_len` bytes when given (it must be
/// at least the minimal length and at most 4, else the minimal length is used), so that a layout
/// pass can keep an instruction's size fixed.
pub(crate) fn encode(
    op: Opcode,
    byte: u8,
    args: &Args,
    pc: u64,
    off_len: Option<usize>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let off = || -> Result<(u64, usize), EncodeError> {
        let value = offset(args.target, pc).ok_or(EncodeError::Offset(args.target))?;
        let (value, min) = imm(value)?;
        let len = match off_len {
            Some(l) if l >= min && l <= 4 => l,
            _ => min,
        };
        Ok((value, len))
    };
    out.push(byte);
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => push(out, imm(args.imm1)?),
        Format::RegImm64 => {
            out.push(reg(args.ra)?);
            out.extend_from_slice(&args.imm1.to_le_bytes());
        }
        Format::ImmImm => {
            let (x, y) = (imm(args.imm1)?, imm(args.imm2)?);
            out.push(x.1 as u8);
            push(out, x);
            push(out, y);
        }
        Format::Offset => push(out, off()?),
        Format::RegImm => {
            out.push(reg(args.ra)?);
            push(out, imm(args.imm1)?);
        }
        Format::RegImmImm | Format::RegImmOffset => {
            let x = imm(args.imm1)?;
            let y = if op.format() == Format::RegImmOffset {
                off()?
            } else {
                imm(args.imm2)?
            };
            out.push(reg(args.ra)? | (x.1 as u8) << 4);
            push(out, x);
            push(out, y);
        }
        Format::RegReg => out.push(reg(args.rd)? | reg(args.ra)? << 4),
        Format::RegRegImm => {
            out.push(reg(args.ra)? | reg(args.rb)? << 4);
            push(out, imm(args.imm1)?);
        }
        Format::RegRegOffset => {
            out.push(reg(args.ra)? | reg(args.rb)? << 4);
            push(out, off()?);
        }
        Format::RegRegImmImm => {
            out.push(reg(args.ra)? | reg(args.rb)? << 4);
            let (x, y) = (imm(args.imm1)?, imm(args.imm2)?);
            out.push(x.1 as u8);
            push(out, x);
            push(out, y);
        }
        Format::RegRegReg => {
            out.push(reg(args.ra)? | reg(args.rb)? << 4);
            out.push(reg(args.rd)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::decode_args;

    #[test]
    fn minimal_lengths() {
        assert_eq!(imm_len(0), Some(0));
        assert_eq!(imm_len(1), Some(1));
        assert_eq!(imm_len(-1i64 as u64), Some(1));
        assert_eq!(imm_len(127), Some(1));
        assert_eq!(imm_len(128), Some(2));
        assert_eq!(imm_len(-128i64 as u64), Some(1));
        assert_eq!(imm_len(-129i64 as u64), Some(2));
        assert_eq!(imm_len(0x7F_FFFF), Some(3));
        assert_eq!(imm_len(0x80_0000), Some(4));
        assert_eq!(imm_len(0x8000_0000), None);
        assert_eq!(imm_len(0xFFFF_FFFF_8000_0000), Some(4));
    }

    #[test]
    fn encoding_inverts_decoding() {
        let args = Args {
            ra: 3,
            rb: 12,
            rd: 7,
            imm1: -200i64 as u64,
            imm2: 0x1234_5678,
            target: 2,
        };
        for &op in Opcode::ALL {
            let mut code = vec![0xAA; 100];
            encode(op, 0, &args, 100, None, &mut code).unwrap();
            let got = decode_args(op, &code, 100, code.len() - 101);
            let want = crate::asm::tests::project(op, &args);
            assert_eq!(got, want, "{op:?}");
        }
    }
}
