//! Operand decoding (GP §A.5): registers, sign-extended immediates and pc-relative targets,
//! read from the zero-padded code `ζ` and bounded by the instruction's skip length.

use super::{Format, Opcode};

/// The decoded operands of one instruction. Unused fields are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Args {
    /// First register operand (`r_A`), already clamped to 12.
    pub ra: u8,
    /// Second register operand (`r_B`).
    pub rb: u8,
    /// Destination of three-register and two-register (F8) instructions (`r_D`).
    pub rd: u8,
    /// First immediate (`ν_X`), sign-extended to 64 bits.
    pub imm1: u64,
    /// Second immediate (`ν_Y`), sign-extended to 64 bits.
    pub imm2: u64,
    /// Branch or jump target `ı + offset`, computed in ℤ (may lie outside the code).
    pub target: i64,
}

/// The byte at `at` of `ζ = code ++ [0, 0, …]`.
#[inline(always)]
fn zeta(code: &[u8], at: usize) -> u8 {
    code.get(at).copied().unwrap_or(0)
}

/// Eight bytes of `ζ` from `at`, little-endian (one unaligned load away from the code's end).
#[inline(always)]
fn read_u64(code: &[u8], at: usize) -> u64 {
    match code.get(at..at + 8) {
        Some(bytes) => u64::from_le_bytes(bytes.try_into().expect("eight bytes")),
        None => read_u64_near_end(code, at),
    }
}

#[cold]
fn read_u64_near_end(code: &[u8], at: usize) -> u64 {
    (0..8).fold(0, |value, i| {
        value | u64::from(zeta(code, at + i)) << (8 * i)
    })
}

/// `X_len`: a little-endian `len`-byte value from `ζ[at..]`, sign-extended to 64 bits (len ≤ 4 or 8).
#[inline(always)]
fn signed_imm(code: &[u8], at: usize, len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    let shift = 64 - 8 * len as u32;
    (((read_u64(code, at) << shift) as i64) >> shift) as u64
}

#[inline(always)]
fn reg(nibble: u8) -> u8 {
    nibble.min(12)
}

/// The skip length `ℓ` of the instruction at `pc`: the distance to the next set bit of
/// `mask ++ [1, 1, …]` after `pc`, minus one, clamped to 24.
#[inline]
pub fn skip_len(mask: &[u8], code_len: usize, pc: usize) -> usize {
    let start = pc + 1;
    let byte = start / 8;
    // 32 bits from the byte holding `start` cover bits start..start+24 after the shift.
    let mut word = match mask.get(byte..byte + 8) {
        Some(bytes) => u64::from_le_bytes(bytes.try_into().expect("eight bytes")),
        None => (0..5).fold(0, |word, i| {
            word | u64::from(mask.get(byte + i).copied().unwrap_or(0)) << (8 * i)
        }),
    };
    word >>= start % 8;
    // The mask is followed by ones: the code's end counts as an instruction start.
    let to_end = code_len.saturating_sub(start);
    if to_end < 32 {
        word |= 1 << to_end;
    }
    (word.trailing_zeros() as usize).min(24)
}

/// Decodes the operands of `op` at `pc`, given its skip length `skip`.
pub fn decode_args(op: Opcode, code: &[u8], pc: usize, skip: usize) -> Args {
    let b1 = zeta(code, pc + 1);
    let lo = reg(b1 & 15);
    let hi = reg(b1 >> 4);
    let here = pc as i64;
    let mut args = Args::default();
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => args.imm1 = signed_imm(code, pc + 1, skip.min(4)),
        Format::RegImm64 => {
            args.ra = lo;
            args.imm1 = read_u64(code, pc + 2);
        }
        Format::ImmImm => {
            let lx = usize::from(b1 % 8).min(4);
            let ly = skip.saturating_sub(lx + 1).min(4);
            args.imm1 = signed_imm(code, pc + 2, lx);
            args.imm2 = signed_imm(code, pc + 2 + lx, ly);
        }
        Format::Offset => {
            let l = skip.min(4);
            args.target = here + signed_imm(code, pc + 1, l) as i64;
        }
        Format::RegImm => {
            args.ra = lo;
            args.imm1 = signed_imm(code, pc + 2, skip.saturating_sub(1).min(4));
        }
        Format::RegImmImm | Format::RegImmOffset => {
            args.ra = lo;
            let lx = usize::from((b1 >> 4) % 8).min(4);
            let ly = skip.saturating_sub(lx + 1).min(4);
            args.imm1 = signed_imm(code, pc + 2, lx);
            let y = signed_imm(code, pc + 2 + lx, ly);
            if op.format() == Format::RegImmOffset {
                args.target = here + y as i64;
            } else {
                args.imm2 = y;
            }
        }
        Format::RegReg => {
            args.rd = lo;
            args.ra = hi;
        }
        Format::RegRegImm => {
            args.ra = lo;
            args.rb = hi;
            args.imm1 = signed_imm(code, pc + 2, skip.saturating_sub(1).min(4));
        }
        Format::RegRegOffset => {
            args.ra = lo;
            args.rb = hi;
            let l = skip.saturating_sub(1).min(4);
            args.target = here + signed_imm(code, pc + 2, l) as i64;
        }
        Format::RegRegImmImm => {
            args.ra = lo;
            args.rb = hi;
            let b2 = zeta(code, pc + 2);
            let lx = usize::from(b2 % 8).min(4);
            let ly = skip.saturating_sub(lx + 2).min(4);
            args.imm1 = signed_imm(code, pc + 3, lx);
            args.imm2 = signed_imm(code, pc + 3 + lx, ly);
        }
        Format::RegRegReg => {
            args.ra = lo;
            args.rb = hi;
            // PolkaVM and the JAR spec take the low nibble of byte 2; the GP text the whole byte.
            args.rd = reg(zeta(code, pc + 2) & 15);
        }
    }
    args
}

/// The operands of one instruction in the interpreter's compact form (see
/// [`crate::program::Inst`]): registers, the first immediate truncated to 32 bits, and in `y` the
/// second immediate, the raw target pc (`u32::MAX` when outside `0..2^32`), or the high half of
/// `load_imm_64`'s value. Equal to [`decode_args`] followed by that truncation (tested), without
/// building 64-bit intermediates: this is the decoder's hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CompactArgs {
    pub ra: u8,
    pub rb: u8,
    pub rd: u8,
    pub x: u32,
    pub y: u32,
}

/// `X_len` (len ≤ 4) sign-extended and truncated to 32 bits.
#[inline(always)]
fn imm32(code: &[u8], at: usize, len: usize) -> u32 {
    // Branch-free (lengths vary at random from one instruction to the next): keep `len` bytes
    // and sign-extend from the top one by flipping and subtracting its sign bit.
    let bits = 8 * len as u32;
    let sign = (1u64 << bits) >> 1;
    let value = read_u64(code, at) & ((1u64 << bits) - 1);
    ((value ^ sign).wrapping_sub(sign)) as u32
}

/// `pc + offset` as a raw target (`u32::MAX` when it leaves `0..2^32`).
#[inline(always)]
fn target32(pc: usize, offset: u32) -> u32 {
    u32::try_from(pc as i64 + i64::from(offset as i32)).unwrap_or(u32::MAX)
}

/// Decodes the operands of `op` at `pc` straight into their compact form.
#[inline(always)]
pub(crate) fn decode_compact(op: Opcode, code: &[u8], pc: usize, skip: usize) -> CompactArgs {
    let b1 = zeta(code, pc + 1);
    let lo = reg(b1 & 15);
    let hi = reg(b1 >> 4);
    let mut c = CompactArgs::default();
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => c.x = imm32(code, pc + 1, skip.min(4)),
        Format::RegImm64 => {
            c.ra = lo;
            let v = read_u64(code, pc + 2);
            (c.x, c.y) = (v as u32, (v >> 32) as u32);
        }
        Format::ImmImm => {
            let lx = usize::from(b1 % 8).min(4);
            let ly = skip.saturating_sub(lx + 1).min(4);
            c.x = imm32(code, pc + 2, lx);
            c.y = imm32(code, pc + 2 + lx, ly);
        }
        Format::Offset => c.y = target32(pc, imm32(code, pc + 1, skip.min(4))),
        Format::RegImm => {
            c.ra = lo;
            c.x = imm32(code, pc + 2, skip.saturating_sub(1).min(4));
        }
        Format::RegImmImm | Format::RegImmOffset => {
            c.ra = lo;
            let lx = usize::from((b1 >> 4) % 8).min(4);
            let ly = skip.saturating_sub(lx + 1).min(4);
            c.x = imm32(code, pc + 2, lx);
            let y = imm32(code, pc + 2 + lx, ly);
            c.y = if op.format() == Format::RegImmOffset {
                target32(pc, y)
            } else {
                y
            };
        }
        Format::RegReg => {
            c.rd = lo;
            c.ra = hi;
        }
        Format::RegRegImm => {
            c.ra = lo;
            c.rb = hi;
            c.x = imm32(code, pc + 2, skip.saturating_sub(1).min(4));
        }
        Format::RegRegOffset => {
            c.ra = lo;
            c.rb = hi;
            c.y = target32(pc, imm32(code, pc + 2, skip.saturating_sub(1).min(4)));
        }
        Format::RegRegImmImm => {
            c.ra = lo;
            c.rb = hi;
            let lx = usize::from(zeta(code, pc + 2) % 8).min(4);
            let ly = skip.saturating_sub(lx + 2).min(4);
            c.x = imm32(code, pc + 3, lx);
            c.y = imm32(code, pc + 3 + lx, ly);
        }
        Format::RegRegReg => {
            c.ra = lo;
            c.rb = hi;
            c.rd = reg(zeta(code, pc + 2) & 15);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_sign_extend_from_their_encoded_length() {
        assert_eq!(signed_imm(&[0x80], 0, 1), 0xFFFF_FFFF_FFFF_FF80);
        assert_eq!(signed_imm(&[0x7F], 0, 1), 0x7F);
        assert_eq!(signed_imm(&[0x00, 0x80, 0x00], 0, 3), 0x8000);
        assert_eq!(signed_imm(&[0x00, 0x00, 0x80], 0, 3), 0xFFFF_FFFF_FF80_0000);
        assert_eq!(signed_imm(&[0xFF; 4], 0, 0), 0);
    }

    #[test]
    fn operands_past_the_code_read_as_zero() {
        // load_imm_64 r3 with only two immediate bytes present.
        let code = [20, 3, 0x34, 0x12];
        let a = decode_args(Opcode::LoadImm64, &code, 0, 3);
        assert_eq!(a.ra, 3);
        assert_eq!(a.imm1, 0x1234);
    }

    #[test]
    fn register_nibbles_clamp_to_12_and_rd_uses_the_low_nibble() {
        let code = [190, 0xFD, 0xF3];
        let a = decode_args(Opcode::Add32, &code, 0, 2);
        assert_eq!((a.ra, a.rb, a.rd), (12, 12, 3));
    }

    #[test]
    fn skip_matches_a_bit_by_bit_reference() {
        let reference = |mask: &[u8], len: usize, pc: usize| {
            (0..24)
                .find(|j| {
                    let n = pc + 1 + j;
                    n >= len || mask[n / 8] & (1 << (n % 8)) != 0
                })
                .unwrap_or(24)
        };
        let mut state = 0x1234_5678_9abc_def1u64;
        for len in [1usize, 7, 8, 9, 30, 64, 100] {
            for _ in 0..50 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut mask: Vec<u8> = (0..len.div_ceil(8))
                    .map(|i| ((state >> (i % 8 * 8)) as u8) & ((state >> 3) as u8 | 0x11))
                    .collect();
                if len % 8 != 0 {
                    *mask.last_mut().unwrap() &= (1u8 << (len % 8)) - 1;
                }
                for pc in 0..len {
                    assert_eq!(
                        skip_len(&mask, len, pc),
                        reference(&mask, len, pc),
                        "len {len} pc {pc}"
                    );
                }
            }
        }
    }

    #[test]
    fn compact_decoding_equals_full_decoding_truncated() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for &op in Opcode::ALL {
            for _ in 0..200 {
                let len = 1 + (next() % 20) as usize;
                let code: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let pc = (next() % len as u64) as usize;
                let skip = (next() % 25) as usize;
                let full = decode_args(op, &code, pc, skip);
                let targeted = matches!(
                    op.format(),
                    Format::Offset | Format::RegImmOffset | Format::RegRegOffset
                );
                let y = if op.format() == Format::RegImm64 {
                    (full.imm1 >> 32) as u32
                } else if targeted {
                    u32::try_from(full.target).unwrap_or(u32::MAX)
                } else {
                    full.imm2 as u32
                };
                let want = CompactArgs {
                    ra: full.ra,
                    rb: full.rb,
                    rd: full.rd,
                    x: full.imm1 as u32,
                    y,
                };
                let got = decode_compact(op, &code, pc, skip);
                assert_eq!(got, want, "{op:?} {code:?} pc {pc} skip {skip}");
            }
        }
    }

    #[test]
    fn skip_is_clamped_to_24() {
        let mut mask = vec![0u8; 5];
        mask[0] = 1;
        assert_eq!(skip_len(&mask, 40, 0), 24);
        assert_eq!(skip_len(&mask, 10, 0), 9);
    }
}
