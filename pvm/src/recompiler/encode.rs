//! Hand-encoded forms of a few hot instructions whose operands are runtime registers.
//!
//! dynasmrt must assume a runtime base register could be `rbp` or `r13` (which need a
//! displacement) and that a displacement could be large, so it always encodes `[base + index]`
//! with a zero `disp8` and `[base + disp]` with a SIB byte and a `disp32`. AMD Zen executes such
//! an `lea` as a complex one, with two cycles of latency instead of one; in a loop whose counter
//! is updated by `add_imm` that doubles the time per iteration. The forms below choose the short
//! encoding the operands allow. The differential and register-combination tests run every
//! operand combination through them.

use super::buffer::CodeBuffer;

/// `rbp` and `r13`: as a base without a displacement, their ModRM encoding means something else.
fn needs_displacement(base: u8) -> bool {
    base & 7 == 5
}

/// A REX prefix with `W` for 64-bit operands, or `None` when no bit is needed.
fn rex(wide: bool, reg: u8, index: u8, base: u8) -> Option<u8> {
    let bits = u8::from(wide) << 3 | (reg >> 3) << 2 | (index >> 3) << 1 | base >> 3;
    (bits != 0).then_some(0x40 | bits)
}

/// `lea dest, [base + index]` (64-bit address; `wide` selects a 64- or 32-bit result). Falls back
/// to `mov` + `add` only when both registers are `rbp`/`r13` class.
pub(super) fn lea_sum(ops: &mut CodeBuffer, wide: bool, dest: u8, a: u8, b: u8) {
    let (base, index) = if needs_displacement(a) {
        (b, a)
    } else {
        (a, b)
    };
    // `rsp` cannot be an index; no guest register lives there, but stay correct regardless.
    debug_assert!(index != 4);
    let modrm_mod = if needs_displacement(base) { 0x40 } else { 0x00 };
    if let Some(rex) = rex(wide, dest, index, base) {
        ops.bytes(&[rex]);
    }
    ops.bytes(&[
        0x8D,
        modrm_mod | (dest & 7) << 3 | 4,
        (index & 7) << 3 | (base & 7),
    ]);
    if modrm_mod == 0x40 {
        ops.bytes(&[0]);
    }
}

/// `lea dest, [base + disp]` (64-bit address; `wide` selects a 64- or 32-bit result), with no
/// SIB byte unless the base is `rsp`/`r12`, and the shortest displacement.
pub(super) fn lea_offset(ops: &mut CodeBuffer, wide: bool, dest: u8, base: u8, disp: i32) {
    if let Some(rex) = rex(wide, dest, 0, base) {
        ops.bytes(&[rex]);
    }
    let short = i8::try_from(disp).ok();
    let modrm_mod = match (disp, short) {
        (0, _) if !needs_displacement(base) => 0x00,
        (_, Some(_)) => 0x40,
        _ => 0x80,
    };
    ops.bytes(&[0x8D, modrm_mod | (dest & 7) << 3 | (base & 7)]);
    if base & 7 == 4 {
        ops.bytes(&[0x24]);
    }
    match modrm_mod {
        0x40 => ops.bytes(&[disp as i8 as u8]),
        0x80 => ops.bytes(&disp.to_le_bytes()),
        _ => {}
    }
}

/// `op r/m64, imm` in the `83 /ext ib` or `81 /ext id` form, on a register.
fn alu_imm64(ops: &mut CodeBuffer, ext: u8, reg: u8, imm: i32) {
    let rex = 0x48 | reg >> 3;
    let modrm = 0xC0 | ext << 3 | (reg & 7);
    match i8::try_from(imm) {
        Ok(short) => ops.bytes(&[rex, 0x83, modrm, short as u8]),
        Err(_) => {
            let v = imm.to_le_bytes();
            ops.bytes(&[rex, 0x81, modrm, v[0], v[1], v[2], v[3]]);
        }
    }
}

/// `add reg, imm` (64-bit, immediate sign-extended).
pub(super) fn add_imm64(ops: &mut CodeBuffer, reg: u8, imm: i32) {
    alu_imm64(ops, 0, reg, imm);
}

/// Flags of `cmp reg, imm` (64-bit, immediate sign-extended): `test reg, reg` for zero, which
/// sets every flag a conditional jump reads exactly as `cmp reg, 0` does.
pub(super) fn cmp_imm64(ops: &mut CodeBuffer, reg: u8, imm: i32) {
    if imm == 0 {
        let r = reg >> 3 | reg >> 3 << 2;
        ops.bytes(&[0x48 | r, 0x85, 0xC0 | (reg & 7) << 3 | (reg & 7)]);
    } else {
        alu_imm64(ops, 7, reg, imm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(emit: impl FnOnce(&mut CodeBuffer)) -> Vec<u8> {
        let mut ops = CodeBuffer::new(64, 64).unwrap();
        emit(&mut ops);
        ops.finish().unwrap().bytes().to_vec()
    }

    // Expected bytes checked against a disassembler (objdump -M intel).
    #[test]
    fn encodings_match_the_reference_disassembly() {
        // lea r14, [r11 + r12]
        assert_eq!(
            encoded(|o| lea_sum(o, true, 14, 11, 12)),
            [0x4F, 0x8D, 0x34, 0x23]
        );
        // lea r14, [r12 + r13]: r13 cannot be a base without a displacement, so it is the index.
        assert_eq!(
            encoded(|o| lea_sum(o, true, 14, 13, 12)),
            [0x4F, 0x8D, 0x34, 0x2C]
        );
        // lea eax, [rbp + rbp + 0]
        assert_eq!(
            encoded(|o| lea_sum(o, false, 0, 5, 5)),
            [0x8D, 0x44, 0x2D, 0x00]
        );
        // lea r13, [r13 - 1]
        assert_eq!(
            encoded(|o| lea_offset(o, true, 13, 13, -1)),
            [0x4D, 0x8D, 0x6D, 0xFF]
        );
        // lea ecx, [rbx]
        assert_eq!(encoded(|o| lea_offset(o, false, 1, 3, 0)), [0x8D, 0x0B]);
        // lea ecx, [r12 + 0x1000]
        assert_eq!(
            encoded(|o| lea_offset(o, false, 1, 12, 0x1000)),
            [0x41, 0x8D, 0x8C, 0x24, 0x00, 0x10, 0x00, 0x00]
        );
        // add rdx, -1
        assert_eq!(encoded(|o| add_imm64(o, 2, -1)), [0x48, 0x83, 0xC2, 0xFF]);
        // cmp r9, 0x12345
        assert_eq!(
            encoded(|o| cmp_imm64(o, 9, 0x12345)),
            [0x49, 0x81, 0xF9, 0x45, 0x23, 0x01, 0x00]
        );
        // test r13, r13
        assert_eq!(encoded(|o| cmp_imm64(o, 13, 0)), [0x4D, 0x85, 0xED]);
    }
}
