//! Single-pass x86-64 code generation from a decoded [`Program`].
//!
//! Guest registers live in host registers for the whole run ([`HOST_REG`]); `rcx` is scratch
//! and `r15` holds guest address 0 of the instance's window, with the
//! [`VmContext`](super::context::VmContext) just below it. A guest access is one instruction on
//! `[r15 + rcx]` with the 32-bit address in `ecx` and no software check: the window's page
//! rights do the checking, and each access is listed in the trap table for the fault handler. Every basic block starts with
//! `sub [gas], cost` and a branch to a cold out-of-gas stub, so straight-line code carries no gas
//! bookkeeping. Every instruction has a label the host can enter at (after charging, or without
//! charging when resuming), which is how host calls and host-resolved jumps resume.

// `dynasm!` converts runtime register operands with `.into()`, which clippy flags at every use.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, AssemblyOffset, DynamicLabel, DynasmApi, DynasmLabelApi, ExecutableBuffer};

use super::buffer::CodeBuffer;

use super::context::{
    exit, Trap, ARG, CODE_BASE, EXIT, EXIT_INDEX, GAS, JUMP_TABLE, JUMP_TABLE_LEN, REGS,
};
use super::CompileError;
use crate::isa::Opcode;
use crate::program::{Inst, Program, INVALID_TARGET};

/// Host register (x86-64 encoding) holding each guest register. `rcx` (1) is scratch, `rsp` (4)
/// the native stack and `r15` the guest base.
pub(super) const HOST_REG: [u8; 13] = [3, 6, 7, 5, 8, 9, 10, 11, 12, 13, 14, 0, 2];

/// Generated code and where to enter it.
pub(super) struct Generated {
    pub buffer: ExecutableBuffer,
    /// `extern "sysv64" fn(guest_base: *mut u8, target: *const u8)`.
    pub entry: AssemblyOffset,
    /// The exit path that stores the registers (where faults resume).
    pub exit: AssemblyOffset,
    /// Every guest memory access, in code order.
    pub traps: Vec<Trap>,
    /// Native offset of every instruction (entered without charging gas).
    pub inst_offsets: Vec<AssemblyOffset>,
    /// For each jump-table entry, the native offset of its block's gas check (0 if invalid).
    pub jump_table: Vec<u32>,
}

struct Codegen<'a> {
    ops: CodeBuffer,
    insts: &'a [Inst],
    block_labels: Vec<Option<DynamicLabel>>,
    exit_label: DynamicLabel,
    /// Cold stubs emitted after the body: (label, block index, cost).
    oog_stubs: Vec<(DynamicLabel, u32, i32)>,
    traps: Vec<Trap>,
}

/// What a store writes.
#[derive(Clone, Copy)]
enum Stored {
    /// A guest register (host encoding).
    Register(u8),
    /// A sign-extended 32-bit immediate.
    Immediate(i32),
}

#[inline]
fn r(guest: u8) -> u8 {
    HOST_REG[usize::from(guest)]
}

#[inline]
fn imm(inst: &Inst) -> i32 {
    inst.x as i32
}

/// Generates code for `program`; instructions not supported yet are reported, not guessed.
pub(super) fn generate(program: &Program) -> Result<Generated, CompileError> {
    let insts = program.insts();
    // Sized for the typical output (about 20 bytes per instruction) so the buffer rarely grows.
    let mut ops = CodeBuffer::new(insts.len() * 24 + 4096);
    let mut block_labels = vec![None; insts.len()];
    for &b in program.block_start_indices() {
        block_labels[b as usize] = Some(ops.new_dynamic_label());
    }
    let exit_label = ops.new_dynamic_label();
    let mut cg = Codegen {
        ops,
        insts,
        block_labels,
        exit_label,
        oog_stubs: Vec::new(),
        traps: Vec::new(),
    };
    // Registers no instruction names are neither loaded nor stored: generated code cannot
    // observe or change them, so their values stay wherever the host put them.
    let mut used = [false; 13];
    for inst in insts {
        for r in [inst.ra, inst.rb, inst.rd] {
            if let Some(slot) = used.get_mut(usize::from(r)) {
                *slot = true;
            }
        }
    }
    let entry = cg.emit_entry_and_exit(&used);
    let mut inst_offsets = Vec::with_capacity(insts.len());
    for i in 0..insts.len() {
        if let Some(label) = cg.block_labels[i] {
            let cost = i32::try_from(program.block_cost_at(i as u32))
                .map_err(|_| CompileError::Unsupported("a block cost above 2^31".into()))?;
            let stub = cg.ops.new_dynamic_label();
            cg.oog_stubs.push((stub, i as u32, cost));
            dynasm!(cg.ops
                ; .arch x64
                ; =>label
                ; sub QWORD [r15 + GAS], cost
                ; jl =>stub
            );
        }
        inst_offsets.push(cg.ops.offset());
        cg.emit(i)?;
    }
    for (label, index, cost) in std::mem::take(&mut cg.oog_stubs) {
        dynasm!(cg.ops
            ; .arch x64
            ; =>label
            ; add QWORD [r15 + GAS], cost
        );
        cg.exit(exit::OUT_OF_GAS, index);
    }
    let exit = cg
        .ops
        .resolve(cg.exit_label)
        .map_err(|_| CompileError::Host("unresolved exit label".into()))?;
    let jump_table = program
        .jump_targets()
        .iter()
        .map(|&t| {
            let label = cg.block_labels.get(t as usize).copied().flatten();
            label
                .and_then(|l| cg.ops.resolve(l).ok())
                .map_or(0, |offset| offset.0 as u32)
        })
        .collect();
    let buffer = cg
        .ops
        .finalize()
        .map_err(|e| CompileError::Host(format!("cannot finalize the code buffer: {e}")))?;
    Ok(Generated {
        buffer,
        entry,
        exit,
        traps: cg.traps,
        inst_offsets,
        jump_table,
    })
}

impl Codegen<'_> {
    fn emit_entry_and_exit(&mut self, used: &[bool; 13]) -> AssemblyOffset {
        let entry = self.ops.offset();
        dynasm!(self.ops
            ; .arch x64
            ; push rbx ; push rbp ; push r12 ; push r13 ; push r14 ; push r15
            ; mov r15, rdi
            ; mov rcx, rsi
            ; mov rax, QWORD [r15 + REGS]
        );
        // `rax` holds the register array's address, so it is loaded last.
        let mut order: Vec<(usize, u8)> = HOST_REG
            .iter()
            .copied()
            .enumerate()
            .filter(|&(g, _)| used[g])
            .collect();
        order.sort_by_key(|&(_, h)| h == 0);
        for (g, h) in order {
            dynasm!(self.ops ; .arch x64 ; mov Rq(h), QWORD [rax + 8 * g as i32]);
        }
        dynasm!(self.ops ; .arch x64 ; jmp rcx);
        let exit_label = self.exit_label;
        dynasm!(self.ops ; .arch x64 ; =>exit_label ; mov rcx, QWORD [r15 + REGS]);
        for (g, &h) in HOST_REG.iter().enumerate().filter(|&(g, _)| used[g]) {
            dynasm!(self.ops ; .arch x64 ; mov QWORD [rcx + 8 * g as i32], Rq(h));
        }
        dynasm!(self.ops
            ; .arch x64
            ; pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop rbp ; pop rbx
            ; ret
        );
        entry
    }

    /// Leaves generated code with `code` for instruction `index`.
    fn exit(&mut self, code: u32, index: u32) {
        let exit_label = self.exit_label;
        dynasm!(self.ops
            ; .arch x64
            ; mov DWORD [r15 + EXIT], code as i32
            ; mov DWORD [r15 + EXIT_INDEX], index as i32
            ; jmp =>exit_label
        );
    }

    /// Jumps to the block starting at `target` (charging it), or panics at `from`.
    fn jump_to(&mut self, target: u32, from: u32) {
        match self.block_label(target) {
            Some(label) => dynasm!(self.ops ; .arch x64 ; jmp =>label),
            None => self.exit(exit::PANIC, from),
        }
    }

    fn block_label(&self, target: u32) -> Option<DynamicLabel> {
        if target == INVALID_TARGET {
            return None;
        }
        self.block_labels.get(target as usize).copied().flatten()
    }

    fn emit(&mut self, i: usize) -> Result<(), CompileError> {
        use Opcode::*;
        let inst = self.insts[i];
        let index = i as u32;
        let (a, b, d) = (r(inst.ra), r(inst.rb), r(inst.rd));
        let x = imm(&inst);
        match inst.op {
            Trap => self.exit(exit::PANIC, index),
            Fallthrough => self.jump_to(index + 1, index),
            Unlikely => {}
            Ecalli => {
                // The whole 64-bit field, as the host reads it (the id is its low 32 bits).
                dynasm!(self.ops ; .arch x64 ; mov QWORD [r15 + ARG], inst.x as i32);
                self.exit(exit::HOST_CALL, index);
            }
            LoadImm64 => {
                let value = (u64::from(inst.y) << 32 | u64::from(inst.x)) as i64;
                dynasm!(self.ops ; .arch x64 ; mov Rq(a), QWORD value);
            }
            LoadImm => dynasm!(self.ops ; .arch x64 ; mov Rq(a), x),
            MoveReg => dynasm!(self.ops ; .arch x64 ; mov Rq(d), Rq(a)),
            Jump => self.jump_to(inst.y, index),
            LoadImmJump => {
                dynasm!(self.ops ; .arch x64 ; mov Rq(a), x);
                self.jump_to(inst.y, index);
            }
            JumpInd => {
                dynasm!(self.ops ; .arch x64 ; lea ecx, [Rq(a) + x]);
                self.dynamic_jump(index);
            }
            LoadImmJumpInd => {
                // The target uses the old r_B, then r_A is written.
                dynasm!(self.ops
                    ; .arch x64
                    ; lea ecx, [Rq(b) + inst.y as i32]
                    ; mov Rq(a), x
                );
                self.dynamic_jump(index);
            }
            BranchEq | BranchNe | BranchLtU | BranchLtS | BranchGeU | BranchGeS => {
                dynasm!(self.ops ; .arch x64 ; cmp Rq(a), Rq(b));
                self.branch(inst.op, inst.y, index);
            }
            BranchEqImm | BranchNeImm | BranchLtUImm | BranchLeUImm | BranchGeUImm
            | BranchGtUImm | BranchLtSImm | BranchLeSImm | BranchGeSImm | BranchGtSImm => {
                dynasm!(self.ops ; .arch x64 ; cmp Rq(a), x);
                self.branch(inst.op, inst.y, index);
            }
            Sbrk => self.exit(exit::STEP, index),
            LoadU8 | LoadI8 | LoadU16 | LoadI16 | LoadU32 | LoadI32 | LoadU64 => {
                dynasm!(self.ops ; .arch x64 ; mov ecx, x);
                self.load(inst.op, a, index);
            }
            LoadIndU8 | LoadIndI8 | LoadIndU16 | LoadIndI16 | LoadIndU32 | LoadIndI32
            | LoadIndU64 => {
                dynasm!(self.ops ; .arch x64 ; lea ecx, [Rq(b) + x]);
                self.load(inst.op, a, index);
            }
            StoreU8 | StoreU16 | StoreU32 | StoreU64 => {
                dynasm!(self.ops ; .arch x64 ; mov ecx, x);
                self.store(inst.op, Stored::Register(a), index);
            }
            StoreIndU8 | StoreIndU16 | StoreIndU32 | StoreIndU64 => {
                dynasm!(self.ops ; .arch x64 ; lea ecx, [Rq(b) + x]);
                self.store(inst.op, Stored::Register(a), index);
            }
            StoreImmU8 | StoreImmU16 | StoreImmU32 | StoreImmU64 => {
                dynasm!(self.ops ; .arch x64 ; mov ecx, x);
                self.store(inst.op, Stored::Immediate(inst.y as i32), index);
            }
            StoreImmIndU8 | StoreImmIndU16 | StoreImmIndU32 | StoreImmIndU64 => {
                dynasm!(self.ops ; .arch x64 ; lea ecx, [Rq(a) + x]);
                self.store(inst.op, Stored::Immediate(inst.y as i32), index);
            }
            _ => return self.emit_alu(inst),
        }
        Ok(())
    }

    /// Records that the next instruction is the guest access of instruction `index`.
    fn trap_here(&mut self, index: u32) {
        let native = self.ops.offset().0 as u32;
        self.traps.push(Trap { native, index });
    }

    /// Loads from guest address `ecx` into `dest`, extended as `op` says.
    fn load(&mut self, op: Opcode, dest: u8, index: u32) {
        use Opcode::*;
        self.trap_here(index);
        let ops = &mut self.ops;
        match op {
            LoadU8 | LoadIndU8 => dynasm!(ops ; .arch x64 ; movzx Rd(dest), BYTE [r15 + rcx]),
            LoadI8 | LoadIndI8 => dynasm!(ops ; .arch x64 ; movsx Rq(dest), BYTE [r15 + rcx]),
            LoadU16 | LoadIndU16 => dynasm!(ops ; .arch x64 ; movzx Rd(dest), WORD [r15 + rcx]),
            LoadI16 | LoadIndI16 => dynasm!(ops ; .arch x64 ; movsx Rq(dest), WORD [r15 + rcx]),
            LoadU32 | LoadIndU32 => dynasm!(ops ; .arch x64 ; mov Rd(dest), DWORD [r15 + rcx]),
            LoadI32 | LoadIndI32 => dynasm!(ops ; .arch x64 ; movsxd Rq(dest), DWORD [r15 + rcx]),
            _ => dynasm!(ops ; .arch x64 ; mov Rq(dest), QWORD [r15 + rcx]),
        }
    }

    /// Stores the low bytes of `value` at guest address `ecx`, as wide as `op` says.
    fn store(&mut self, op: Opcode, value: Stored, index: u32) {
        use Opcode::*;
        let width = match op {
            StoreU8 | StoreIndU8 | StoreImmU8 | StoreImmIndU8 => 1,
            StoreU16 | StoreIndU16 | StoreImmU16 | StoreImmIndU16 => 2,
            StoreU32 | StoreIndU32 | StoreImmU32 | StoreImmIndU32 => 4,
            _ => 8,
        };
        self.trap_here(index);
        let ops = &mut self.ops;
        match (value, width) {
            (Stored::Register(v), 1) => dynasm!(ops ; .arch x64 ; mov BYTE [r15 + rcx], Rb(v)),
            (Stored::Register(v), 2) => dynasm!(ops ; .arch x64 ; mov WORD [r15 + rcx], Rw(v)),
            (Stored::Register(v), 4) => dynasm!(ops ; .arch x64 ; mov DWORD [r15 + rcx], Rd(v)),
            (Stored::Register(v), _) => dynasm!(ops ; .arch x64 ; mov QWORD [r15 + rcx], Rq(v)),
            (Stored::Immediate(v), 1) => {
                dynasm!(ops ; .arch x64 ; mov BYTE [r15 + rcx], v as i8)
            }
            (Stored::Immediate(v), 2) => {
                dynasm!(ops ; .arch x64 ; mov WORD [r15 + rcx], v as i16)
            }
            (Stored::Immediate(v), 4) => dynasm!(ops ; .arch x64 ; mov DWORD [r15 + rcx], v),
            (Stored::Immediate(v), _) => dynasm!(ops ; .arch x64 ; mov QWORD [r15 + rcx], v),
        }
    }

    /// Jumps to the 32-bit address in `ecx`: the halt address halts; zero, odd, out-of-range
    /// or invalid entries panic at `index`; anything else enters (and charges) the target block
    /// through the jump table the context points at.
    fn dynamic_jump(&mut self, index: u32) {
        let (halt, panic, panic_pop) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        let over = self.ops.new_dynamic_label();
        dynasm!(self.ops
            ; .arch x64
            ; cmp ecx, crate::interpreter::HALT_ADDRESS as i32
            ; je =>halt
            ; test ecx, ecx
            ; jz =>panic
            ; test ecx, 1
            ; jnz =>panic
            ; shr ecx, 1
            ; cmp rcx, QWORD [r15 + JUMP_TABLE_LEN]
            ; ja =>panic
            ; push rax
            ; mov rax, QWORD [r15 + JUMP_TABLE]
            ; mov ecx, DWORD [rax + rcx * 4 - 4]
            ; test ecx, ecx
            ; jz =>panic_pop
            ; add rcx, QWORD [r15 + CODE_BASE]
            ; pop rax
            ; jmp rcx
            ; =>panic_pop
            ; pop rax
            ; =>panic
        );
        self.exit(exit::PANIC, index);
        dynasm!(self.ops ; .arch x64 ; =>halt);
        self.exit(exit::HALT, index);
        dynasm!(self.ops ; .arch x64 ; =>over);
    }

    /// After a `cmp`: jump to the target block when the condition holds, else to the next one.
    fn branch(&mut self, op: Opcode, target: u32, index: u32) {
        use Opcode::*;
        let taken = match self.block_label(target) {
            Some(label) => label,
            None => {
                let stub = self.ops.new_dynamic_label();
                let over = self.ops.new_dynamic_label();
                dynasm!(self.ops ; .arch x64 ; jmp =>over ; =>stub);
                self.exit(exit::PANIC, index);
                dynasm!(self.ops ; .arch x64 ; =>over);
                stub
            }
        };
        match op {
            BranchEq | BranchEqImm => dynasm!(self.ops ; .arch x64 ; je =>taken),
            BranchNe | BranchNeImm => dynasm!(self.ops ; .arch x64 ; jne =>taken),
            BranchLtU | BranchLtUImm => dynasm!(self.ops ; .arch x64 ; jb =>taken),
            BranchLeUImm => dynasm!(self.ops ; .arch x64 ; jbe =>taken),
            BranchGeU | BranchGeUImm => dynasm!(self.ops ; .arch x64 ; jae =>taken),
            BranchGtUImm => dynasm!(self.ops ; .arch x64 ; ja =>taken),
            BranchLtS | BranchLtSImm => dynasm!(self.ops ; .arch x64 ; jl =>taken),
            BranchLeSImm => dynasm!(self.ops ; .arch x64 ; jle =>taken),
            BranchGeS | BranchGeSImm => dynasm!(self.ops ; .arch x64 ; jge =>taken),
            BranchGtSImm => dynasm!(self.ops ; .arch x64 ; jg =>taken),
            _ => unreachable!("not a branch"),
        }
        self.jump_to(index + 1, index);
    }

    fn emit_alu(&mut self, inst: Inst) -> Result<(), CompileError> {
        use Opcode::*;
        let (a, b, d) = (r(inst.ra), r(inst.rb), r(inst.rd));
        let x = imm(&inst);
        let ops = &mut self.ops;
        match inst.op {
            // Three registers: r_D = f(r_A, r_B). Short forms when r_D is an operand (or, for
            // addition, with `lea`); else computed in rcx.
            Add64 if d == a => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(b)),
            Add64 if d == b => dynasm!(ops ; .arch x64 ; add Rq(d), Rq(a)),
            Add64 => dynasm!(ops ; .arch x64 ; lea Rq(d), [Rq(a) + Rq(b)]),
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
            Add32 => dynasm!(ops ; .arch x64
                ; lea Rd(d), [Rq(a) + Rq(b)] ; movsxd Rq(d), Rd(d)),
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
            AddImm64 => dynasm!(ops ; .arch x64 ; lea Rq(a), [Rq(b) + x]),
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
            AddImm32 => dynasm!(ops ; .arch x64
                ; lea Rd(a), [Rq(b) + x] ; movsxd Rq(a), Rd(a)),
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
                let skip = ops.new_dynamic_label();
                dynasm!(ops ; .arch x64 ; test Rq(b), Rq(b));
                if inst.op == CmovIzImm {
                    dynasm!(ops ; .arch x64 ; jnz =>skip);
                } else {
                    dynasm!(ops ; .arch x64 ; jz =>skip);
                }
                dynasm!(ops ; .arch x64 ; mov Rq(a), x ; =>skip);
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
        let (zero, minus_one, done) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        let ops = &mut self.ops;
        // Operands are read before rax/rdx are overwritten (either may be a guest register).
        dynasm!(ops ; .arch x64 ; push rax ; push rdx);
        if wide {
            dynasm!(ops ; .arch x64 ; mov rcx, Rq(b) ; mov rax, Rq(a) ; test rcx, rcx ; jz =>zero);
        } else {
            dynasm!(ops ; .arch x64 ; mov ecx, Rd(b) ; mov eax, Rd(a) ; test ecx, ecx ; jz =>zero);
        }
        match (wide, signed) {
            (true, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div rcx),
            (false, false) => dynasm!(ops ; .arch x64 ; xor edx, edx ; div ecx),
            (true, true) => {
                dynasm!(ops ; .arch x64 ; cmp rcx, -1 ; je =>minus_one ; cqo ; idiv rcx)
            }
            (false, true) => {
                dynasm!(ops ; .arch x64 ; cmp ecx, -1 ; je =>minus_one ; cdq ; idiv ecx)
            }
        }
        // Normal result: quotient in (e)ax, remainder in (e)dx; 32-bit results sign-extended.
        match (wide, remainder) {
            (true, false) => dynasm!(ops ; .arch x64 ; mov rcx, rax),
            (true, true) => dynasm!(ops ; .arch x64 ; mov rcx, rdx),
            (false, false) => dynasm!(ops ; .arch x64 ; movsxd rcx, eax),
            (false, true) => dynasm!(ops ; .arch x64 ; movsxd rcx, edx),
        }
        dynasm!(ops ; .arch x64 ; jmp =>done ; =>zero);
        // x / 0 = all ones; x rem 0 = x.
        match (wide, remainder) {
            (_, false) => dynasm!(ops ; .arch x64 ; mov rcx, -1),
            (true, true) => dynasm!(ops ; .arch x64 ; mov rcx, rax),
            (false, true) => dynasm!(ops ; .arch x64 ; movsxd rcx, eax),
        }
        dynasm!(ops ; .arch x64 ; jmp =>done ; =>minus_one);
        // x / −1 = −x (MIN / −1 = MIN); x rem −1 = 0.
        match (wide, remainder) {
            (true, false) => dynasm!(ops ; .arch x64 ; neg rax ; mov rcx, rax),
            (false, false) => dynasm!(ops ; .arch x64 ; neg eax ; movsxd rcx, eax),
            (_, true) => dynasm!(ops ; .arch x64 ; xor ecx, ecx),
        }
        dynasm!(ops ; .arch x64 ; =>done ; pop rdx ; pop rax ; mov Rq(d), rcx);
    }

    /// Shifts and rotates whose count is a register (`cl`); the value is `r_A`, or the
    /// immediate `imm` for the `_alt` forms. The result goes to `dest`.
    fn shift_by_register(&mut self, op: Opcode, dest: u8, value: Option<u8>, imm: i32, count: u8) {
        use Opcode::*;
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

    /// Leading / trailing zero counts with `bsr` / `bsf` (present on every x86-64), whose
    /// zero input is handled explicitly (64 or 32).
    fn count_zeros(&mut self, op: Opcode, d: u8, a: u8) {
        use Opcode::*;
        let (zero, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let ops = &mut self.ops;
        match op {
            LeadingZeroBits64 => dynasm!(ops ; .arch x64
                ; bsr rcx, Rq(a) ; jz =>zero ; xor ecx, 63 ; jmp =>done ; =>zero ; mov ecx, 64),
            LeadingZeroBits32 => dynasm!(ops ; .arch x64
                ; bsr ecx, Rd(a) ; jz =>zero ; xor ecx, 31 ; jmp =>done ; =>zero ; mov ecx, 32),
            TrailingZeroBits64 => dynasm!(ops ; .arch x64
                ; bsf rcx, Rq(a) ; jnz =>done ; =>zero ; mov ecx, 64),
            _ => dynasm!(ops ; .arch x64
                ; bsf ecx, Rd(a) ; jnz =>done ; =>zero ; mov ecx, 32),
        }
        dynasm!(ops ; .arch x64 ; =>done ; mov Rq(d), rcx);
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
