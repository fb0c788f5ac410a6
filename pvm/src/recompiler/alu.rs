//! Code for the computational instructions: ALU, shifts, multiplication, division and bit
//! counts. Each leaves its result in the destination's host register; `rcx` is scratch, and
//! `rax` / `rdx` (guest registers too) are saved around the instructions that need them.

// `dynasm!` converts runtime register operands with `.into()`, which clippy flags at every use.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, DynasmApi};

use super::buffer::Cond;
use super::codegen::{imm, r, Codegen};
use super::encode;
use super::CompileError;
use crate::isa::Opcode;
use crate::program::Inst;

impl Codegen<'_> {
    pub(super) fn emit_alu(&mut self, inst: Inst) -> Result<(), CompileError> {
        use Opcode::*;
        let (a, b, d) = (r(inst.ra), r(inst.rb), r(inst.rd));
        let x = imm(&inst);
        let ops = &mut self.ops;
        match inst.op {
            // Three registers: r_D = f(r_A, r_B). Short forms when r_D is an operand (or, for
            // addition, with `lea`); else computed in rcx.
            Add64 if d == a => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(b)),
            Add64 if d == b => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(a)),
            Add64 => encode::lea_sum(ops, true, d, a, b),
            Sub64 if d == a => dynasm!(ops ; .arch x64 ; sub Rq(d), Rq(b)),
            And if d == a => dynasm!(ops ; .arch x64 ; and Rq(d), Rq(b)),
            And if d == b => dynasm!(ops ; .arch x64 ; and Rq(d), Rq(a)),
            Xor if d == a => dynasm!(ops ; .arch x64 ; xor Rq(d), Rq(b)),
            Xor if d == b => dynasm!(ops ; .arch x64 ; xor Rq(d), Rq(a)),
            Or if d == a => dynasm!(ops ; .arch x64 ; or Rq(d), Rq(b)),
            Or if d == b => dynasm!(ops ; .arch x64 ; or Rq(d), Rq(a)),
            Mul64 if d == a => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(b)),
            Mul64 if d == b => dynasm!(ops ; .arch x64 ; imul Rq(d), Rq(a)),
            Sub64 if d != b => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(a) ; sub Rq(d), Rq(b)),
            And => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(a) ; and Rq(d), Rq(b)),
            Xor => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(a) ; xor Rq(d), Rq(b)),
            Or => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(a) ; or Rq(d), Rq(b)),
            Mul64 => dynasm!(ops ; .arch x64 ; mov Rq(d), Rq(a) ; imul Rq(d), Rq(b)),
            Sub64 => dynasm!(ops ; .arch x64 ; mov rcx, Rq(a) ; sub rcx, Rq(b) ; mov Rq(d), rcx),
            Add32 => {
                encode::lea_sum(ops, false, d, a, b);
                dynasm!(ops ; .arch x64 ; movsxd Rq(d), Rd(d));
            }
            Sub32 => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(a) ; sub ecx, Rd(b) ; movsxd rcx, ecx ; mov Rq(d), rcx),
            Mul32 => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(a) ; imul ecx, Rd(b) ; movsxd rcx, ecx ; mov Rq(d), rcx),
            AndInv => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(b) ; not rcx ; and rcx, Rq(a) ; mov Rq(d), rcx),
            OrInv => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(b) ; not rcx ; or rcx, Rq(a) ; mov Rq(d), rcx),
            Xnor => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(a) ; xor rcx, Rq(b) ; not rcx ; mov Rq(d), rcx),
            SetLtU => dynasm!(ops ; .arch x64
                ; cmp Rq(a), Rq(b) ; setb cl ; movzx ecx, cl ; mov Rq(d), rcx),
            SetLtS => dynasm!(ops ; .arch x64
                ; cmp Rq(a), Rq(b) ; setl cl ; movzx ecx, cl ; mov Rq(d), rcx),
            CmovIz => dynasm!(ops ; .arch x64 ; test Rq(b), Rq(b) ; cmovz Rq(d), Rq(a)),
            CmovNz => dynasm!(ops ; .arch x64 ; test Rq(b), Rq(b) ; cmovnz Rq(d), Rq(a)),
            Max => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(a) ; cmp rcx, Rq(b) ; cmovl rcx, Rq(b) ; mov Rq(d), rcx),
            MaxU => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(a) ; cmp rcx, Rq(b) ; cmovb rcx, Rq(b) ; mov Rq(d), rcx),
            Min => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(a) ; cmp rcx, Rq(b) ; cmovg rcx, Rq(b) ; mov Rq(d), rcx),
            MinU => dynasm!(ops ; .arch x64
                ; mov rcx, Rq(a) ; cmp rcx, Rq(b) ; cmova rcx, Rq(b) ; mov Rq(d), rcx),
            // Two registers and an immediate: r_A = f(r_B, imm).
            AddImm64 if a == b => encode::add_imm64(ops, a, x),
            AddImm64 => encode::lea_offset(ops, true, a, b, x),
            AndImm | XorImm | OrImm => {
                // In place on r_A (a copy of r_B first when they differ).
                if a != b {
                    dynasm!(ops ; .arch x64 ; mov Rq(a), Rq(b));
                }
                match inst.op {
                    AndImm => dynasm!(ops ; .arch x64 ; and Rq(a), x),
                    XorImm => dynasm!(ops ; .arch x64 ; xor Rq(a), x),
                    _ => dynasm!(ops ; .arch x64 ; or Rq(a), x),
                }
            }
            MulImm64 => dynasm!(ops ; .arch x64 ; imul rcx, Rq(b), x ; mov Rq(a), rcx),
            AddImm32 => {
                encode::lea_offset(ops, false, a, b, x);
                dynasm!(ops ; .arch x64 ; movsxd Rq(a), Rd(a));
            }
            MulImm32 => dynasm!(ops ; .arch x64
                ; imul ecx, Rd(b), x ; movsxd rcx, ecx ; mov Rq(a), rcx),
            NegAddImm64 => dynasm!(ops ; .arch x64
                ; mov rcx, QWORD i64::from(x) ; sub rcx, Rq(b) ; mov Rq(a), rcx),
            NegAddImm32 => dynasm!(ops ; .arch x64
                ; mov ecx, x ; sub ecx, Rd(b) ; movsxd rcx, ecx ; mov Rq(a), rcx),
            SetLtUImm => dynasm!(ops ; .arch x64
                ; cmp Rq(b), x ; setb cl ; movzx ecx, cl ; mov Rq(a), rcx),
            SetLtSImm => dynasm!(ops ; .arch x64
                ; cmp Rq(b), x ; setl cl ; movzx ecx, cl ; mov Rq(a), rcx),
            SetGtUImm => dynasm!(ops ; .arch x64
                ; cmp Rq(b), x ; seta cl ; movzx ecx, cl ; mov Rq(a), rcx),
            SetGtSImm => dynasm!(ops ; .arch x64
                ; cmp Rq(b), x ; setg cl ; movzx ecx, cl ; mov Rq(a), rcx),
            ShloLImm64 | ShloRImm64 | SharRImm64 | RotR64Imm => {
                // In place on r_A (a copy of r_B first when they differ).
                if a != b {
                    dynasm!(ops ; .arch x64 ; mov Rq(a), Rq(b));
                }
                let count = (x & 63) as i8;
                match inst.op {
                    ShloLImm64 => dynasm!(ops ; .arch x64 ; shl Rq(a), count),
                    ShloRImm64 => dynasm!(ops ; .arch x64 ; shr Rq(a), count),
                    SharRImm64 => dynasm!(ops ; .arch x64 ; sar Rq(a), count),
                    _ => dynasm!(ops ; .arch x64 ; ror Rq(a), count),
                }
            }
            ShloLImm32 => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(b) ; shl ecx, (x & 31) as i8 ; movsxd rcx, ecx ; mov Rq(a), rcx),
            ShloRImm32 => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(b) ; shr ecx, (x & 31) as i8 ; movsxd rcx, ecx ; mov Rq(a), rcx),
            SharRImm32 => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(b) ; sar ecx, (x & 31) as i8 ; movsxd rcx, ecx ; mov Rq(a), rcx),
            RotR32Imm => dynasm!(ops ; .arch x64
                ; mov ecx, Rd(b) ; ror ecx, (x & 31) as i8 ; movsxd rcx, ecx ; mov Rq(a), rcx),
            CmovIzImm | CmovNzImm => {
                dynasm!(ops ; .arch x64 ; test Rq(b), Rq(b));
                let keep = if inst.op == CmovIzImm {
                    Cond::NotEq
                } else {
                    Cond::Eq
                };
                let skip = ops.jcc_short(keep);
                dynasm!(ops ; .arch x64 ; mov Rq(a), x);
                ops.bind(skip);
            }
            // Two registers: r_D = f(r_A).
            SignExtend8 => dynasm!(ops ; .arch x64 ; movsx rcx, Rb(a) ; mov Rq(d), rcx),
            SignExtend16 => dynasm!(ops ; .arch x64 ; movsx rcx, Rw(a) ; mov Rq(d), rcx),
            ZeroExtend16 => dynasm!(ops ; .arch x64 ; movzx ecx, Rw(a) ; mov Rq(d), rcx),
            ReverseBytes => dynasm!(ops ; .arch x64 ; mov rcx, Rq(a) ; bswap rcx ; mov Rq(d), rcx),
            DivU64 | RemU64 | DivS64 | RemS64 | DivU32 | RemU32 | DivS32 | RemS32 => {
                self.division(inst.op, d, a, b)
            }
            ShloL64 | ShloR64 | SharR64 | RotL64 | RotR64 | ShloL32 | ShloR32 | SharR32
            | RotL32 | RotR32 => self.shift_by_register(inst.op, d, Some(a), 0, b),
            ShloLImmAlt64 | ShloRImmAlt64 | SharRImmAlt64 | RotR64ImmAlt | ShloLImmAlt32
            | ShloRImmAlt32 | SharRImmAlt32 | RotR32ImmAlt => {
                // The immediate shifted by r_B; the result goes to r_A.
                self.shift_by_register(inst.op, a, None, x, b)
            }
            MulUpperUU | MulUpperSS | MulUpperSU => self.mul_upper(inst.op, d, a, b),
            LeadingZeroBits64 | LeadingZeroBits32 | TrailingZeroBits64 | TrailingZeroBits32 => {
                self.count_zeros(inst.op, d, a)
            }
            CountSetBits64 | CountSetBits32 => {
                if !std::arch::is_x86_feature_detected!("popcnt") {
                    return Err(CompileError::Unsupported(format!(
                        "{} on a CPU without popcnt",
                        inst.op.name()
                    )));
                }
                if inst.op == CountSetBits64 {
                    dynasm!(ops ; .arch x64 ; popcnt rcx, Rq(a) ; mov Rq(d), rcx);
                } else {
                    dynasm!(ops ; .arch x64 ; popcnt ecx, Rd(a) ; mov Rq(d), rcx);
                }
            }
            other => return Err(CompileError::Unsupported(other.name().into())),
        }
        Ok(())
    }

    /// Division and remainder without traps: a zero divisor and MIN / −1 are handled before
    /// `div`/`idiv`. `rax` and `rdx` hold guest registers, so they are saved around it.
    fn division(&mut self, op: Opcode, d: u8, a: u8, b: u8) {
        use Opcode::*;
        let wide = matches!(op, DivU64 | RemU64 | DivS64 | RemS64);
        let signed = matches!(op, DivS64 | RemS64 | DivS32 | RemS32);
        let remainder = matches!(op, RemU64 | RemS64 | RemU32 | RemS32);
        let ops = &mut self.ops;
        // Operands are read before rax/rdx are overwritten (either may be a guest register).
        dynasm!(ops ; .arch x64 ; push rax ; push rdx);
        if wide {
            dynasm!(ops ; .arch x64 ; mov rcx, Rq(b) ; mov rax, Rq(a) ; test rcx, rcx);
        } else {
            dynasm!(ops ; .arch x64 ; mov ecx, Rd(b) ; mov eax, Rd(a) ; test ecx, ecx);
        }
        let zero = ops.jcc_short(Cond::Eq);
        let mut minus_one = None;
        match (wide, signed) {
            (true, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div rcx),
            (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div ecx),
            (true, true) => {
                dynasm!(ops ; .arch x64 ; cmp rcx, -1);
                minus_one = Some(ops.jcc_short(Cond::Eq));
                dynasm!(ops ; .arch x64 ; cqo ; idiv rcx);
            }
            (false, true) => {
                dynasm!(ops ; .arch x64 ; cmp ecx, -1);
                minus_one = Some(ops.jcc_short(Cond::Eq));
                dynasm!(ops ; .arch x64 ; cdq ; idiv ecx);
            }
        }
        // Normal result: quotient in (e)ax, remainder in (e)dx; 32-bit results sign-extended.
        match (wide, remainder) {
            (true, false) => dynasm!(ops ; .arch x64 ; mov rcx, rax),
            (true, true) => dynasm!(ops ; .arch x64 ; mov rcx, rdx),
            (false, false) => dynasm!(ops ; .arch x64 ; movsxd rcx, eax),
            (false, true) => dynasm!(ops ; .arch x64 ; movsxd rcx, edx),
        }
        let done_normal = ops.jmp_short();
        ops.bind(zero);
        // x / 0 = all ones; x rem 0 = x.
        match (wide, remainder) {
            (_, false) => dynasm!(ops ; .arch x64 ; mov rcx, -1),
            (true, true) => dynasm!(ops ; .arch x64 ; mov rcx, rax),
            (false, true) => dynasm!(ops ; .arch x64 ; movsxd rcx, eax),
        }
        let mut done_other = None;
        if let Some(minus_one) = minus_one {
            done_other = Some(ops.jmp_short());
            ops.bind(minus_one);
            // x / −1 = −x (MIN / −1 = MIN); x rem −1 = 0.
            match (wide, remainder) {
                (true, false) => dynasm!(ops ; .arch x64 ; neg rax ; mov rcx, rax),
                (false, false) => dynasm!(ops ; .arch x64 ; neg eax ; movsxd rcx, eax),
                (_, true) => dynasm!(ops ; .arch x64 ; xor ecx, ecx),
            }
        }
        ops.bind(done_normal);
        if let Some(done) = done_other {
            ops.bind(done);
        }
        dynasm!(ops ; .arch x64 ; pop rdx ; pop rax ; mov Rq(d), rcx);
    }

    /// Shifts and rotates whose count is a register (`cl`); the value is `r_A`, or the
    /// immediate `imm` for the `_alt` forms. The result goes to `dest`.
    fn shift_by_register(&mut self, op: Opcode, dest: u8, value: Option<u8>, imm: i32, count: u8) {
        use Opcode::*;
        if self.features.bmi2 && self.shift_with_bmi2(op, dest, value, imm, count) {
            return;
        }
        let ops = &mut self.ops;
        dynasm!(ops ; .arch x64 ; push rax ; mov rcx, Rq(count));
        match value {
            Some(v) => dynasm!(ops ; .arch x64 ; mov rax, Rq(v)),
            None => dynasm!(ops ; .arch x64 ; mov rax, QWORD i64::from(imm)),
        }
        match op {
            ShloL64 | ShloLImmAlt64 => dynasm!(ops ; .arch x64 ; shl rax, cl ; mov rcx, rax),
            ShloR64 | ShloRImmAlt64 => dynasm!(ops ; .arch x64 ; shr rax, cl ; mov rcx, rax),
            SharR64 | SharRImmAlt64 => dynasm!(ops ; .arch x64 ; sar rax, cl ; mov rcx, rax),
            RotL64 => dynasm!(ops ; .arch x64 ; rol rax, cl ; mov rcx, rax),
            RotR64 | RotR64ImmAlt => dynasm!(ops ; .arch x64 ; ror rax, cl ; mov rcx, rax),
            ShloL32 | ShloLImmAlt32 => dynasm!(ops ; .arch x64 ; shl eax, cl ; movsxd rcx, eax),
            ShloR32 | ShloRImmAlt32 => dynasm!(ops ; .arch x64 ; shr eax, cl ; movsxd rcx, eax),
            SharR32 | SharRImmAlt32 => dynasm!(ops ; .arch x64 ; sar eax, cl ; movsxd rcx, eax),
            RotL32 => dynasm!(ops ; .arch x64 ; rol eax, cl ; movsxd rcx, eax),
            RotR32 | RotR32ImmAlt => dynasm!(ops ; .arch x64 ; ror eax, cl ; movsxd rcx, eax),
            _ => unreachable!("not a shift"),
        }
        dynasm!(ops ; .arch x64 ; pop rax ; mov Rq(dest), rcx);
    }

    /// Shifts (not rotates) by a register with BMI2's `shlx` / `shrx` / `sarx`, which take the
    /// count from any register and mask it to 6 (or 5) bits, as PVM does: no `cl`, no saved
    /// register. Returns false for the rotates, which have no such form.
    fn shift_with_bmi2(
        &mut self,
        op: Opcode,
        dest: u8,
        value: Option<u8>,
        imm: i32,
        count: u8,
    ) -> bool {
        use Opcode::*;
        let ops = &mut self.ops;
        let wide = match op {
            ShloL64 | ShloR64 | SharR64 | ShloLImmAlt64 | ShloRImmAlt64 | SharRImmAlt64 => true,
            ShloL32 | ShloR32 | SharR32 | ShloLImmAlt32 | ShloRImmAlt32 | SharRImmAlt32 => false,
            _ => return false,
        };
        // The value: r_A, or the immediate in rcx.
        let v = match value {
            Some(v) => v,
            None => {
                dynasm!(ops ; .arch x64 ; mov rcx, imm);
                1
            }
        };
        // 64-bit results go straight to the destination; 32-bit ones through ecx, then
        // sign-extended.
        let out = if wide { dest } else { 1 };
        match op {
            ShloL64 | ShloLImmAlt64 => dynasm!(ops ; .arch x64 ; shlx Rq(out), Rq(v), Rq(count)),
            ShloR64 | ShloRImmAlt64 => dynasm!(ops ; .arch x64 ; shrx Rq(out), Rq(v), Rq(count)),
            SharR64 | SharRImmAlt64 => dynasm!(ops ; .arch x64 ; sarx Rq(out), Rq(v), Rq(count)),
            ShloL32 | ShloLImmAlt32 => dynasm!(ops ; .arch x64 ; shlx Rd(out), Rd(v), Rd(count)),
            ShloR32 | ShloRImmAlt32 => dynasm!(ops ; .arch x64 ; shrx Rd(out), Rd(v), Rd(count)),
            _ => dynasm!(ops ; .arch x64 ; sarx Rd(out), Rd(v), Rd(count)),
        }
        if !wide {
            dynasm!(ops ; .arch x64 ; movsxd Rq(dest), ecx);
        }
        true
    }

    /// Leading / trailing zero counts: `lzcnt` / `tzcnt` where available, else `bsr` / `bsf`
    /// (present on every x86-64) with the zero input handled explicitly (64 or 32).
    fn count_zeros(&mut self, op: Opcode, d: u8, a: u8) {
        use Opcode::*;
        let ops = &mut self.ops;
        if self.features.lzcnt_tzcnt {
            // Defined for zero (the operand width), exactly as PVM counts.
            match op {
                LeadingZeroBits64 => dynasm!(ops ; .arch x64 ; lzcnt Rq(d), Rq(a)),
                LeadingZeroBits32 => dynasm!(ops ; .arch x64 ; lzcnt Rd(d), Rd(a)),
                TrailingZeroBits64 => dynasm!(ops ; .arch x64 ; tzcnt Rq(d), Rq(a)),
                _ => dynasm!(ops ; .arch x64 ; tzcnt Rd(d), Rd(a)),
            }
            return;
        }
        match op {
            LeadingZeroBits64 | LeadingZeroBits32 => {
                if op == LeadingZeroBits64 {
                    dynasm!(ops ; .arch x64 ; bsr rcx, Rq(a));
                } else {
                    dynasm!(ops ; .arch x64 ; bsr ecx, Rd(a));
                }
                let zero = ops.jcc_short(Cond::Eq);
                let bits = if op == LeadingZeroBits64 { 64 } else { 32 };
                dynasm!(ops ; .arch x64 ; xor ecx, bits - 1);
                let done = ops.jmp_short();
                ops.bind(zero);
                dynasm!(ops ; .arch x64 ; mov ecx, bits);
                ops.bind(done);
            }
            _ => {
                let bits = if op == TrailingZeroBits64 {
                    dynasm!(ops ; .arch x64 ; bsf rcx, Rq(a));
                    64
                } else {
                    dynasm!(ops ; .arch x64 ; bsf ecx, Rd(a));
                    32
                };
                let done = ops.jcc_short(Cond::NotEq);
                dynasm!(ops ; .arch x64 ; mov ecx, bits);
                ops.bind(done);
            }
        }
        dynasm!(ops ; .arch x64 ; mov Rq(d), rcx);
    }

    /// High 64 bits of the 128-bit product (signed × unsigned: unsigned high part minus `b`
    /// when `a` is negative).
    fn mul_upper(&mut self, op: Opcode, d: u8, a: u8, b: u8) {
        let ops = &mut self.ops;
        dynasm!(ops ; .arch x64 ; push rax ; push rdx ; mov rcx, Rq(b) ; mov rax, Rq(a));
        match op {
            Opcode::MulUpperUU => dynasm!(ops ; .arch x64 ; mul rcx ; mov rcx, rdx),
            Opcode::MulUpperSS => dynasm!(ops ; .arch x64 ; imul rcx ; mov rcx, rdx),
            _ => dynasm!(ops ; .arch x64
                ; mov rdx, rax ; sar rdx, 63 ; and rdx, rcx ; push rdx
                ; mul rcx
                ; pop rcx ; sub rdx, rcx ; mov rcx, rdx),
        }
        dynasm!(ops ; .arch x64 ; pop rdx ; pop rax ; mov Rq(d), rcx);
    }
}
