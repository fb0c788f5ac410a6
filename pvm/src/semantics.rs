//! The meaning of every computational instruction, defined once as pure functions over register
//! values. The interpreter calls these; the recompiler's code is checked against them.

use crate::isa::Opcode;

/// Sign-extends the low 32 bits (`X_4(x mod 2³²)`).
#[inline(always)]
pub fn s32(x: u64) -> u64 {
    x as u32 as i32 as i64 as u64
}

#[inline(always)]
fn sext(x: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((x << shift) as i64) >> shift) as u64
}

/// Unsigned division; x / 0 = 2⁶⁴ − 1.
#[inline(always)]
pub fn div_u64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(u64::MAX)
}

/// Signed division truncating toward zero; x / 0 = −1, MIN / −1 = MIN.
#[inline(always)]
pub fn div_s64(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 {
        u64::MAX
    } else {
        a.wrapping_div(b) as u64
    }
}

/// Unsigned remainder; x rem 0 = x.
#[inline(always)]
pub fn rem_u64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

/// Signed remainder with the dividend's sign; x rem 0 = x, MIN rem −1 = 0.
#[inline(always)]
pub fn rem_s64(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 {
        a as u64
    } else {
        a.wrapping_rem(b) as u64
    }
}

/// 32-bit unsigned division, result sign-extended.
#[inline(always)]
pub fn div_u32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    match a.checked_div(b) {
        Some(q) => s32(u64::from(q)),
        None => u64::MAX,
    }
}

/// 32-bit signed division, result sign-extended.
#[inline(always)]
pub fn div_s32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32 as i32, b as u32 as i32);
    if b == 0 {
        u64::MAX
    } else {
        a.wrapping_div(b) as i64 as u64
    }
}

/// 32-bit unsigned remainder, result sign-extended.
#[inline(always)]
pub fn rem_u32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    s32(u64::from(a.checked_rem(b).unwrap_or(a)))
}

/// 32-bit signed remainder, result sign-extended.
#[inline(always)]
pub fn rem_s32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32 as i32, b as u32 as i32);
    if b == 0 {
        a as i64 as u64
    } else {
        a.wrapping_rem(b) as i64 as u64
    }
}

/// High 64 bits of the signed × signed product.
#[inline(always)]
pub fn mul_upper_ss(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64
}

/// High 64 bits of the unsigned × unsigned product.
#[inline(always)]
pub fn mul_upper_uu(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) >> 64) as u64
}

/// High 64 bits of the signed × unsigned product.
#[inline(always)]
pub fn mul_upper_su(a: u64, b: u64) -> u64 {
    ((i128::from(a as i64) * i128::from(b)) >> 64) as u64
}

/// Three-operand ALU instructions (F12): `ω'_D = f(ω_A, ω_B)`; `d` is the old `ω_D` (for cmov).
#[inline(always)]
pub fn reg3(op: Opcode, a: u64, b: u64, d: u64) -> u64 {
    use Opcode::*;
    match op {
        Add32 => s32(a.wrapping_add(b)),
        Sub32 => s32(a.wrapping_sub(b)),
        Mul32 => s32(a.wrapping_mul(b)),
        DivU32 => div_u32(a, b),
        DivS32 => div_s32(a, b),
        RemU32 => rem_u32(a, b),
        RemS32 => rem_s32(a, b),
        ShloL32 => s32(a << (b % 32)),
        ShloR32 => s32(u64::from((a as u32) >> (b % 32))),
        SharR32 => ((a as u32 as i32) >> (b % 32)) as i64 as u64,
        Add64 => a.wrapping_add(b),
        Sub64 => a.wrapping_sub(b),
        Mul64 => a.wrapping_mul(b),
        DivU64 => div_u64(a, b),
        DivS64 => div_s64(a, b),
        RemU64 => rem_u64(a, b),
        RemS64 => rem_s64(a, b),
        ShloL64 => a << (b % 64),
        ShloR64 => a >> (b % 64),
        SharR64 => ((a as i64) >> (b % 64)) as u64,
        And => a & b,
        Xor => a ^ b,
        Or => a | b,
        MulUpperSS => mul_upper_ss(a, b),
        MulUpperUU => mul_upper_uu(a, b),
        MulUpperSU => mul_upper_su(a, b),
        SetLtU => u64::from(a < b),
        SetLtS => u64::from((a as i64) < (b as i64)),
        CmovIz => {
            if b == 0 {
                a
            } else {
                d
            }
        }
        CmovNz => {
            if b != 0 {
                a
            } else {
                d
            }
        }
        RotL64 => a.rotate_left((b % 64) as u32),
        RotL32 => s32(u64::from((a as u32).rotate_left((b % 32) as u32))),
        RotR64 => a.rotate_right((b % 64) as u32),
        RotR32 => s32(u64::from((a as u32).rotate_right((b % 32) as u32))),
        AndInv => a & !b,
        OrInv => a | !b,
        Xnor => !(a ^ b),
        Max => (a as i64).max(b as i64) as u64,
        MaxU => a.max(b),
        Min => (a as i64).min(b as i64) as u64,
        MinU => a.min(b),
        _ => unreachable_op(op),
    }
}

/// Two-register-plus-immediate ALU instructions (F9): `ω'_A = f(ω_B, ν)`; `a` is the old `ω_A`.
#[inline(always)]
pub fn reg2_imm(op: Opcode, b: u64, imm: u64, a: u64) -> u64 {
    use Opcode::*;
    match op {
        AddImm32 => s32(b.wrapping_add(imm)),
        AndImm => b & imm,
        XorImm => b ^ imm,
        OrImm => b | imm,
        MulImm32 => s32(b.wrapping_mul(imm)),
        SetLtUImm => u64::from(b < imm),
        SetLtSImm => u64::from((b as i64) < (imm as i64)),
        ShloLImm32 => s32(b << (imm % 32)),
        ShloRImm32 => s32(u64::from((b as u32) >> (imm % 32))),
        SharRImm32 => ((b as u32 as i32) >> (imm % 32)) as i64 as u64,
        NegAddImm32 => s32(imm.wrapping_sub(b)),
        SetGtUImm => u64::from(b > imm),
        SetGtSImm => u64::from((b as i64) > (imm as i64)),
        ShloLImmAlt32 => s32(imm << (b % 32)),
        ShloRImmAlt32 => s32(u64::from((imm as u32) >> (b % 32))),
        SharRImmAlt32 => ((imm as u32 as i32) >> (b % 32)) as i64 as u64,
        CmovIzImm => {
            if b == 0 {
                imm
            } else {
                a
            }
        }
        CmovNzImm => {
            if b != 0 {
                imm
            } else {
                a
            }
        }
        AddImm64 => b.wrapping_add(imm),
        MulImm64 => b.wrapping_mul(imm),
        ShloLImm64 => b << (imm % 64),
        ShloRImm64 => b >> (imm % 64),
        SharRImm64 => ((b as i64) >> (imm % 64)) as u64,
        NegAddImm64 => imm.wrapping_sub(b),
        ShloLImmAlt64 => imm << (b % 64),
        ShloRImmAlt64 => imm >> (b % 64),
        SharRImmAlt64 => ((imm as i64) >> (b % 64)) as u64,
        RotR64Imm => b.rotate_right((imm % 64) as u32),
        RotR64ImmAlt => imm.rotate_right((b % 64) as u32),
        RotR32Imm => s32(u64::from((b as u32).rotate_right((imm % 32) as u32))),
        RotR32ImmAlt => s32(u64::from((imm as u32).rotate_right((b % 32) as u32))),
        _ => unreachable_op(op),
    }
}

/// Two-register instructions (F8) other than `move_reg` and `sbrk`: `ω'_D = f(ω_A)`.
#[inline(always)]
pub fn reg2(op: Opcode, a: u64) -> u64 {
    use Opcode::*;
    match op {
        CountSetBits64 => u64::from(a.count_ones()),
        CountSetBits32 => u64::from((a as u32).count_ones()),
        LeadingZeroBits64 => u64::from(a.leading_zeros()),
        LeadingZeroBits32 => u64::from((a as u32).leading_zeros()),
        TrailingZeroBits64 => u64::from(a.trailing_zeros()),
        TrailingZeroBits32 => u64::from((a as u32).trailing_zeros()),
        SignExtend8 => sext(a, 8),
        SignExtend16 => sext(a, 16),
        ZeroExtend16 => a & 0xFFFF,
        ReverseBytes => a.swap_bytes(),
        MoveReg => a,
        _ => unreachable_op(op),
    }
}

/// Whether a conditional branch is taken, comparing `a` with `b` (register or immediate).
#[inline(always)]
pub fn branch_taken(op: Opcode, a: u64, b: u64) -> bool {
    use Opcode::*;
    match op {
        BranchEq | BranchEqImm => a == b,
        BranchNe | BranchNeImm => a != b,
        BranchLtU | BranchLtUImm => a < b,
        BranchLeUImm => a <= b,
        BranchGeU | BranchGeUImm => a >= b,
        BranchGtUImm => a > b,
        BranchLtS | BranchLtSImm => (a as i64) < (b as i64),
        BranchLeSImm => (a as i64) <= (b as i64),
        BranchGeS | BranchGeSImm => (a as i64) >= (b as i64),
        BranchGtSImm => (a as i64) > (b as i64),
        _ => unreachable_op(op),
    }
}

/// Load width in bytes and whether the value is sign-extended, for every load instruction.
pub fn load_kind(op: Opcode) -> Option<(u32, bool)> {
    use Opcode::*;
    Some(match op {
        LoadU8 | LoadIndU8 => (1, false),
        LoadI8 | LoadIndI8 => (1, true),
        LoadU16 | LoadIndU16 => (2, false),
        LoadI16 | LoadIndI16 => (2, true),
        LoadU32 | LoadIndU32 => (4, false),
        LoadI32 | LoadIndI32 => (4, true),
        LoadU64 | LoadIndU64 => (8, false),
        _ => return None,
    })
}

/// Store width in bytes, for every store instruction.
pub fn store_width(op: Opcode) -> Option<u32> {
    use Opcode::*;
    Some(match op {
        StoreU8 | StoreIndU8 | StoreImmU8 | StoreImmIndU8 => 1,
        StoreU16 | StoreIndU16 | StoreImmU16 | StoreImmIndU16 => 2,
        StoreU32 | StoreIndU32 | StoreImmU32 | StoreImmIndU32 => 4,
        StoreU64 | StoreIndU64 | StoreImmU64 | StoreImmIndU64 => 8,
        _ => return None,
    })
}

#[cold]
#[inline(never)]
fn unreachable_op(op: Opcode) -> ! {
    panic!("semantics: {op} is not handled by this function (a decoder bug)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Opcode::*;

    const MIN64: u64 = 1 << 63;
    const NEG1: u64 = u64::MAX;

    #[test]
    fn division_by_zero_and_overflow() {
        assert_eq!(reg3(DivU64, 7, 0, 0), u64::MAX);
        assert_eq!(reg3(DivS64, 7, 0, 0), u64::MAX);
        assert_eq!(reg3(RemU64, 7, 0, 0), 7);
        assert_eq!(reg3(RemS64, 7, 0, 0), 7);
        assert_eq!(reg3(DivS64, MIN64, NEG1, 0), MIN64);
        assert_eq!(reg3(RemS64, MIN64, NEG1, 0), 0);
        assert_eq!(reg3(DivU32, 7, 0, 0), u64::MAX);
        assert_eq!(reg3(DivS32, 7, 0, 0), u64::MAX);
        assert_eq!(reg3(RemU32, 0x8000_0007, 0, 0), 0xFFFF_FFFF_8000_0007);
        assert_eq!(reg3(RemS32, 0xFFFF_FFF9, 0, 0), (-7i64) as u64);
        assert_eq!(reg3(DivS32, 0x8000_0000, NEG1, 0), 0xFFFF_FFFF_8000_0000);
        assert_eq!(reg3(RemS32, 0x8000_0000, 0xFFFF_FFFF, 0), 0);
        assert_eq!(reg3(DivS64, (-7i64) as u64, 2, 0), (-3i64) as u64);
        assert_eq!(reg3(RemS64, (-7i64) as u64, 2, 0), (-1i64) as u64);
        // Upper bits of 32-bit operands are ignored.
        assert_eq!(reg3(DivU32, 0xFFFF_FFFF_0000_0010, 0x1_0000_0002, 0), 8);
    }

    #[test]
    fn thirty_two_bit_results_are_sign_extended() {
        assert_eq!(reg3(ShloR32, 0x8000_0000, 0, 0), 0xFFFF_FFFF_8000_0000);
        assert_eq!(reg3(DivU32, 0xFFFF_FFFF, 1, 0), u64::MAX);
        assert_eq!(reg3(Add32, 0x7FFF_FFFF, 1, 0), 0xFFFF_FFFF_8000_0000);
        assert_eq!(reg3(Sub32, 0, 1, 0), u64::MAX);
        assert_eq!(reg2_imm(ShloRImm32, 0xFFFF_FFFF, 4, 0), 0x0FFF_FFFF);
        assert_eq!(reg2_imm(AddImm32, 0xFFFF_FFFF_0000_0001, 0, 0), 1);
        assert_eq!(reg3(RotR32, 1, 1, 0), 0xFFFF_FFFF_8000_0000);
    }

    #[test]
    fn shift_counts_are_masked() {
        assert_eq!(reg3(ShloL64, 1, 64, 0), 1);
        assert_eq!(reg3(ShloL64, 1, 65, 0), 2);
        assert_eq!(reg3(ShloL32, 1, 33, 0), 2);
        assert_eq!(reg3(SharR64, MIN64, 127, 0), u64::MAX);
        assert_eq!(reg2_imm(ShloLImmAlt64, 65, 1, 0), 2);
        assert_eq!(reg2_imm(SharRImmAlt32, 31, 0x8000_0000, 0), u64::MAX);
    }

    #[test]
    fn cmov_keeps_the_old_value_when_false() {
        assert_eq!(reg3(CmovIz, 5, 0, 9), 5);
        assert_eq!(reg3(CmovIz, 5, 1, 9), 9);
        assert_eq!(reg3(CmovNz, 5, 1, 9), 5);
        assert_eq!(reg2_imm(CmovIzImm, 0, 7, 3), 7);
        assert_eq!(reg2_imm(CmovNzImm, 0, 7, 3), 3);
    }

    #[test]
    fn unsigned_compares_use_the_sign_extended_immediate() {
        let imm = (-1i64) as u64; // an immediate byte 0xFF
        assert!(branch_taken(BranchLtUImm, 5, imm));
        assert!(!branch_taken(BranchLtSImm, 5, imm));
        assert_eq!(reg2_imm(SetLtUImm, 5, imm, 0), 1);
        assert_eq!(reg2_imm(SetGtSImm, 5, imm, 0), 1);
        assert_eq!(reg2_imm(AndImm, 0x1234, (-16i64) as u64, 0), 0x1230);
    }

    #[test]
    fn mul_upper_variants() {
        assert_eq!(mul_upper_uu(u64::MAX, u64::MAX), u64::MAX - 1);
        assert_eq!(mul_upper_ss(NEG1, NEG1), 0);
        assert_eq!(mul_upper_su(NEG1, 2), u64::MAX);
        assert_eq!(mul_upper_su(NEG1, u64::MAX), u64::MAX);
    }

    #[test]
    fn bit_counting() {
        assert_eq!(reg2(LeadingZeroBits64, 0), 64);
        assert_eq!(reg2(LeadingZeroBits32, 0xFFFF_FFFF_0000_0000), 32);
        assert_eq!(reg2(TrailingZeroBits32, 0xFFFF_FFFF_0000_0000), 32);
        assert_eq!(reg2(CountSetBits32, u64::MAX), 32);
        assert_eq!(reg2(SignExtend8, 0x80), 0xFFFF_FFFF_FFFF_FF80);
        assert_eq!(reg2(ZeroExtend16, 0xFFFF_FFFF), 0xFFFF);
        assert_eq!(
            reg2(ReverseBytes, 0x0102_0304_0506_0708),
            0x0807_0605_0403_0201
        );
    }
}
