//! Single-pass x86-64 code generation from a decoded [`Program`].
//!
//! Guest registers live in host registers for the whole run ([`HOST_REG`]); `rcx` is scratch
//! and `r15` holds guest address 0 of the instance's window, with the
//! [`VmContext`](super::context::VmContext) just below it. A guest access is one instruction on
//! `[r15 + rcx]` with the 32-bit address in `ecx` and no software check: the window's page
//! rights do the checking, and each access is listed in the trap table for the fault handler.
//! Every basic block starts with `sub [gas], cost` and a branch to a cold out-of-gas stub, so
//! straight-line code carries no gas bookkeeping. Every instruction's native offset is recorded:
//! the host enters there when resuming, and a block is entered (and charged) at its gas check,
//! a fixed number of bytes before its first instruction.
//!
//! Layout: entry and exit trampolines, one exit thunk per exit code, the body in instruction
//! order (a branch's not-taken path falls into the next block with no jump), then the cold stubs
//! (`mov ecx, index; jmp thunk`) that out-of-gas checks and invalid targets branch to.

// `dynasm!` converts runtime register operands with `.into()`, which clippy flags at every use.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, DynasmApi};

use super::buffer::{CodeBuffer, Cond, Rel32};
use super::context::{
    exit, Trap, ARG, CODE_BASE, EXIT, EXIT_INDEX, GAS, JUMP_TABLE, JUMP_TABLE_LEN, REGS,
};
use super::cpu::CpuFeatures;
use super::encode;
use super::exec::ExecutableCode;
use super::CompileError;
use crate::interpreter::HALT_ADDRESS;
use crate::isa::Opcode;
use crate::program::{Inst, Program, INVALID_TARGET};

/// Host register (x86-64 encoding) holding each guest register. `rcx` (1) is scratch, `rsp` (4)
/// the native stack and `r15` the guest base.
pub(super) const HOST_REG: [u8; 13] = [3, 6, 7, 5, 8, 9, 10, 11, 12, 13, 14, 0, 2];

// A dynamic jump maps its address `a` to `(a ror 1) − 1` and compares that with the jump
// table's length: odd addresses, zero and the halt address all land out of range, so one
// compare sends them to the cold path, which tells halt from panic.
const _: () = assert!(
    (HALT_ADDRESS.rotate_right(1) - 1) as usize >= crate::blob::MAX_JUMP_TABLE_ENTRIES
        && crate::blob::MAX_JUMP_TABLE_ENTRIES <= 0x7FFF_FFFF
);

/// An upper bound on the bytes one instruction needs: its gas check, body and cold stubs (the
/// largest, a signed division, is under 80).
const MAX_BYTES_PER_INST: usize = 160;
/// Trampolines and thunks.
const FIXED_CODE_BYTES: usize = 4096;
/// Largest worst-case code reservation: programs that could need more run on the interpreter
/// (`Backend::Auto`) rather than reserve address space without bound. Below 2 GiB, so every
/// jump inside the code reaches with a 32-bit displacement.
const MAX_CODE_RESERVATION: usize = 2 << 30;
/// Most bytes populated up front; beyond this, pages fault in as code is written, so a large
/// program does not commit memory it may not use.
const MAX_POPULATE: usize = 64 << 20;

/// `(bytes reserved, bytes populated up front)` for the code of `insts` instructions: the
/// worst case (no instruction emits anywhere near `MAX_BYTES_PER_INST`, stubs included) and the
/// typical size (about 14 bytes per instruction).
fn code_reservation(insts: usize) -> Result<(usize, usize), CompileError> {
    let reserve = insts
        .checked_mul(MAX_BYTES_PER_INST)
        .and_then(|n| n.checked_add(FIXED_CODE_BYTES))
        .filter(|&n| n <= MAX_CODE_RESERVATION)
        .ok_or_else(|| {
            CompileError::Unsupported(format!(
                "a program of {insts} instructions (more than {} can be compiled)",
                (MAX_CODE_RESERVATION - FIXED_CODE_BYTES) / MAX_BYTES_PER_INST
            ))
        })?;
    let populate = (insts * 16 + FIXED_CODE_BYTES).min(MAX_POPULATE);
    Ok((reserve, populate))
}

/// Generated code and where to enter it.
pub(super) struct Generated {
    pub code: ExecutableCode,
    /// `extern "sysv64" fn(guest_base: *mut u8, target: *const u8)`.
    pub entry: u32,
    /// The exit path that stores the registers (where faults resume).
    pub exit: u32,
    /// Every guest memory access, in code order.
    pub traps: Vec<Trap>,
    /// Native offset of every instruction (entered without charging gas).
    pub inst_offsets: Vec<u32>,
    /// For each jump-table entry, the native offset of its block's gas check (0 if invalid).
    pub jump_table: Vec<u32>,
}

/// Offsets of the shared exit paths. Each takes the instruction index in `ecx`, except
/// `dynamic_jump_failed`, which takes it on the stack (`ecx` holds the mapped address).
struct Thunks {
    exit: u32,
    panic: u32,
    step: u32,
    host_call: u32,
    out_of_gas: u32,
    dynamic_jump_failed: u32,
}

/// A cold stub emitted after the body: jumps at `from` (and `also`) lead to it; it passes
/// `index` to `thunk`.
struct ColdStub {
    from: Rel32,
    also: Option<Rel32>,
    index: u32,
    thunk: u32,
    /// Pass the index on the stack (`push`) rather than in `ecx`.
    on_stack: bool,
}

/// Where a jump to a block goes.
enum BlockEntry {
    /// Already emitted, at this offset.
    At(u32),
    /// Emitted later: patched at the end.
    Later,
    /// Not a valid target: the jump panics.
    Invalid,
}

pub(super) struct Codegen<'a> {
    pub(super) ops: CodeBuffer,
    program: &'a Program,
    insts: &'a [Inst],
    inst_offsets: Vec<u32>,
    /// Jumps to blocks not emitted yet: (displacement, target instruction).
    forward: Vec<(Rel32, u32)>,
    cold: Vec<ColdStub>,
    traps: Vec<Trap>,
    thunks: Thunks,
    /// Extensions the code may use.
    pub(super) features: CpuFeatures,
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
pub(super) fn r(guest: u8) -> u8 {
    // The decoder clamps register operands to 12; indexing by the low nibble needs no bounds
    // check (entries 13–15 repeat register 12's and are never used).
    const BY_NIBBLE: [u8; 16] = {
        let mut table = [HOST_REG[12]; 16];
        let mut i = 0;
        while i < 13 {
            table[i] = HOST_REG[i];
            i += 1;
        }
        table
    };
    debug_assert!(guest < 13);
    BY_NIBBLE[usize::from(guest & 15)]
}

#[inline]
pub(super) fn imm(inst: &Inst) -> i32 {
    inst.x as i32
}

/// Bytes of a block's gas check: `sub qword [r15 + GAS], imm8/imm32` and `jl rel32`.
#[inline]
fn gas_check_len(cost: i32) -> u32 {
    if (0..128).contains(&cost) {
        5 + 6
    } else {
        8 + 6
    }
}

/// Generates code for `program`; instructions not supported yet are reported, not guessed.
pub(super) fn generate(
    program: &Program,
    features: CpuFeatures,
) -> Result<Generated, CompileError> {
    let insts = program.insts();
    let (reserve, populate) = code_reservation(insts.len())?;
    let mut ops = CodeBuffer::new(reserve, populate)
        .map_err(|e| CompileError::Host(format!("cannot map memory for code: {e}")))?;
    // Registers no instruction names are neither loaded nor stored: generated code cannot
    // observe or change them, so their values stay wherever the host put them.
    let used: [bool; 13] = std::array::from_fn(|g| program.names_register(g));
    let (entry, thunks) = emit_trampolines_and_thunks(&mut ops, &used);
    let mut cg = Codegen {
        ops,
        program,
        insts,
        inst_offsets: Vec::with_capacity(insts.len()),
        forward: Vec::with_capacity(program.block_start_indices().len()),
        cold: Vec::with_capacity(program.block_start_indices().len() + 64),
        traps: Vec::with_capacity(insts.len() / 2),
        thunks,
        features,
    };
    // Blocks cover the instructions contiguously: each starts with its gas check.
    let starts = program.block_start_indices();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(insts.len(), |&next| next as usize);
        let cost = i32::try_from(program.block_cost_at(start))
            .map_err(|_| CompileError::Unsupported("a block cost above 2^31".into()))?;
        cg.gas_check(start, cost);
        for i in start as usize..end {
            cg.inst_offsets.push(cg.ops.here());
            cg.emit(i)?;
        }
    }
    debug_assert_eq!(cg.inst_offsets.len(), insts.len());
    for stub in std::mem::take(&mut cg.cold) {
        let at = cg.ops.here();
        cg.ops.patch(stub.from, at);
        if let Some(also) = stub.also {
            cg.ops.patch(also, at);
        }
        if stub.on_stack {
            let v = stub.index.to_le_bytes();
            cg.ops.bytes(&[0x68, v[0], v[1], v[2], v[3]]);
        } else {
            cg.ops.mov_ecx(stub.index);
        }
        cg.ops.jmp_to(stub.thunk);
    }
    for (at, target) in std::mem::take(&mut cg.forward) {
        let entry = cg.entry_of(target);
        cg.ops.patch(at, entry);
    }
    let jump_table = program
        .jump_targets()
        .iter()
        .map(|&t| match cg.block_entry(t) {
            BlockEntry::At(offset) => offset,
            _ => 0,
        })
        .collect();
    let exit = cg.thunks.exit;
    let Codegen {
        ops,
        inst_offsets,
        traps,
        ..
    } = cg;
    let code = ops
        .finish()
        .map_err(|e| CompileError::Host(format!("cannot map executable code: {e}")))?;
    Ok(Generated {
        code,
        entry,
        exit,
        traps,
        inst_offsets,
        jump_table,
    })
}

/// The entry trampoline `(guest_base, target)`, the exit path and the exit thunks.
fn emit_trampolines_and_thunks(ops: &mut CodeBuffer, used: &[bool; 13]) -> (u32, Thunks) {
    // The System V callee-saved registers the code changes: r15 and the named guest registers
    // among rbx, rbp and r12–r14 (fewer pushes and pops on every entry and exit).
    let saved: Vec<u8> = [3u8, 5, 12, 13, 14]
        .into_iter()
        .filter(|&h| HOST_REG.iter().zip(used).any(|(&r, &u)| u && r == h))
        .chain([15])
        .collect();
    let entry = ops.here();
    for &h in &saved {
        dynasm!(ops ; .arch x64 ; push Rq(h));
    }
    dynasm!(ops
        ; .arch x64
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
        dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD [rax + 8 * g as i32]);
    }
    dynasm!(ops ; .arch x64 ; jmp rcx);
    let exit_path = ops.here();
    dynasm!(ops ; .arch x64 ; mov rcx, QWORD [r15 + REGS]);
    for (g, &h) in HOST_REG.iter().enumerate().filter(|&(g, _)| used[g]) {
        dynasm!(ops ; .arch x64 ; mov QWORD [rcx + 8 * g as i32], Rq(h));
    }
    for &h in saved.iter().rev() {
        dynasm!(ops ; .arch x64 ; pop Rq(h));
    }
    dynasm!(ops ; .arch x64 ; ret);
    let mut thunk = |code: u32| {
        let at = ops.here();
        dynasm!(ops
            ; .arch x64
            ; mov DWORD [r15 + EXIT], code as i32
            ; mov DWORD [r15 + EXIT_INDEX], ecx
        );
        ops.jmp_to(exit_path);
        at
    };
    let (panic, halt, step) = (thunk(exit::PANIC), thunk(exit::HALT), thunk(exit::STEP));
    let (host_call, out_of_gas) = (thunk(exit::HOST_CALL), thunk(exit::OUT_OF_GAS));
    // ecx = (address ror 1) − 1, or 0 for an empty jump-table entry; the index is on the stack.
    let dynamic_jump_failed = ops.here();
    dynasm!(ops
        ; .arch x64
        ; inc ecx
        ; rol ecx, 1
        ; cmp ecx, HALT_ADDRESS as i32
        ; pop rcx
    );
    ops.jcc_to(Cond::Eq, halt);
    ops.jmp_to(panic);
    (
        entry,
        Thunks {
            exit: exit_path,
            panic,
            step,
            host_call,
            out_of_gas,
            dynamic_jump_failed,
        },
    )
}

impl Codegen<'_> {
    /// Whether instruction `index` begins a basic block.
    fn is_block_start(&self, index: u32) -> bool {
        index == 0
            || self
                .insts
                .get(index as usize - 1)
                .is_some_and(|i| i.op.is_terminator())
    }

    /// The block check: `sub qword [r15 + GAS], cost` and `jl` to a cold out-of-gas stub.
    fn gas_check(&mut self, index: u32, cost: i32) {
        // REX.W+B, 83 /5 ib or 81 /5 id, ModRM [r15 + disp8].
        let disp = GAS as i8 as u8;
        if gas_check_len(cost) == 11 {
            self.ops.bytes(&[0x49, 0x83, 0x6F, disp, cost as u8]);
        } else {
            let c = cost.to_le_bytes();
            self.ops
                .bytes(&[0x49, 0x81, 0x6F, disp, c[0], c[1], c[2], c[3]]);
        }
        let from = self.ops.jcc_forward(Cond::Less);
        let thunk = self.thunks.out_of_gas;
        self.cold_stub(from, index, thunk);
    }

    fn cold_stub(&mut self, from: Rel32, index: u32, thunk: u32) {
        self.cold.push(ColdStub {
            from,
            also: None,
            index,
            thunk,
            on_stack: false,
        });
    }

    /// Offset of the gas check of block `target` (which has been emitted).
    fn entry_of(&self, target: u32) -> u32 {
        let cost = self.program.block_cost_at(target) as i32;
        self.inst_offsets[target as usize] - gas_check_len(cost)
    }

    fn block_entry(&self, target: u32) -> BlockEntry {
        if target == INVALID_TARGET
            || target as usize >= self.insts.len()
            || !self.is_block_start(target)
        {
            BlockEntry::Invalid
        } else if (target as usize) < self.inst_offsets.len() {
            BlockEntry::At(self.entry_of(target))
        } else {
            BlockEntry::Later
        }
    }

    /// Leaves generated code with `thunk`'s exit code for instruction `index`.
    fn exit(&mut self, thunk: u32, index: u32) {
        self.ops.mov_ecx(index);
        self.ops.jmp_to(thunk);
    }

    /// Jumps to the block starting at `target` (charging it), or panics at `from`. The block
    /// right after `from` is the next code, so no jump is needed to reach it.
    fn jump_to(&mut self, target: u32, from: u32) {
        match self.block_entry(target) {
            BlockEntry::Later if target == from + 1 => {}
            BlockEntry::At(offset) => self.ops.jmp_to(offset),
            BlockEntry::Later => {
                let at = self.ops.jmp_forward();
                self.forward.push((at, target));
            }
            BlockEntry::Invalid => self.exit(self.thunks.panic, from),
        }
    }

    /// After a `cmp`: jumps to the target block when `cond` holds, else falls into the next one.
    fn branch(&mut self, cond: Cond, target: u32, index: u32) {
        match self.block_entry(target) {
            BlockEntry::At(offset) => self.ops.jcc_to(cond, offset),
            BlockEntry::Later => {
                let at = self.ops.jcc_forward(cond);
                self.forward.push((at, target));
            }
            BlockEntry::Invalid => {
                let at = self.ops.jcc_forward(cond);
                let thunk = self.thunks.panic;
                self.cold_stub(at, index, thunk);
            }
        }
        self.jump_to(index + 1, index);
    }

    fn emit(&mut self, i: usize) -> Result<(), CompileError> {
        use Opcode::*;
        let inst = self.insts[i];
        let index = i as u32;
        let (a, b) = (r(inst.ra), r(inst.rb));
        let x = imm(&inst);
        match inst.op {
            Trap => self.exit(self.thunks.panic, index),
            Fallthrough => self.jump_to(index + 1, index),
            Unlikely => {}
            Ecalli => {
                // The whole 64-bit field, as the host reads it (the id is its low 32 bits).
                dynasm!(self.ops ; .arch x64 ; mov QWORD [r15 + ARG], inst.x as i32);
                self.exit(self.thunks.host_call, index);
            }
            LoadImm64 => {
                let value = (u64::from(inst.y) << 32 | u64::from(inst.x)) as i64;
                dynasm!(self.ops ; .arch x64 ; mov Rq(a), QWORD value);
            }
            LoadImm => dynasm!(self.ops ; .arch x64 ; mov Rq(a), x),
            MoveReg => dynasm!(self.ops ; .arch x64 ; mov Rq(r(inst.rd)), Rq(a)),
            Jump => self.jump_to(inst.y, index),
            LoadImmJump => {
                dynasm!(self.ops ; .arch x64 ; mov Rq(a), x);
                self.jump_to(inst.y, index);
            }
            JumpInd => {
                encode::lea_offset(&mut self.ops, false, 1, a, x);
                self.dynamic_jump(index);
            }
            LoadImmJumpInd => {
                // The target uses the old r_B, then r_A is written.
                encode::lea_offset(&mut self.ops, false, 1, b, inst.y as i32);
                dynasm!(self.ops ; .arch x64 ; mov Rq(a), x);
                self.dynamic_jump(index);
            }
            BranchEq | BranchNe | BranchLtU | BranchLtS | BranchGeU | BranchGeS => {
                dynasm!(self.ops ; .arch x64 ; cmp Rq(a), Rq(b));
                self.branch(branch_cond(inst.op), inst.y, index);
            }
            BranchEqImm | BranchNeImm | BranchLtUImm | BranchLeUImm | BranchGeUImm
            | BranchGtUImm | BranchLtSImm | BranchLeSImm | BranchGeSImm | BranchGtSImm => {
                encode::cmp_imm64(&mut self.ops, a, x);
                self.branch(branch_cond(inst.op), inst.y, index);
            }
            Sbrk => self.exit(self.thunks.step, index),
            LoadU8 | LoadI8 | LoadU16 | LoadI16 | LoadU32 | LoadI32 | LoadU64 => {
                self.ops.mov_ecx(inst.x);
                self.load(inst.op, a, index);
            }
            LoadIndU8 | LoadIndI8 | LoadIndU16 | LoadIndI16 | LoadIndU32 | LoadIndI32
            | LoadIndU64 => {
                encode::lea_offset(&mut self.ops, false, 1, b, x);
                self.load(inst.op, a, index);
            }
            StoreU8 | StoreU16 | StoreU32 | StoreU64 => {
                self.ops.mov_ecx(inst.x);
                self.store(inst.op, Stored::Register(a), index);
            }
            StoreIndU8 | StoreIndU16 | StoreIndU32 | StoreIndU64 => {
                encode::lea_offset(&mut self.ops, false, 1, b, x);
                self.store(inst.op, Stored::Register(a), index);
            }
            StoreImmU8 | StoreImmU16 | StoreImmU32 | StoreImmU64 => {
                self.ops.mov_ecx(inst.x);
                self.store(inst.op, Stored::Immediate(inst.y as i32), index);
            }
            StoreImmIndU8 | StoreImmIndU16 | StoreImmIndU32 | StoreImmIndU64 => {
                encode::lea_offset(&mut self.ops, false, 1, a, x);
                self.store(inst.op, Stored::Immediate(inst.y as i32), index);
            }
            _ => return self.emit_alu(inst),
        }
        Ok(())
    }

    /// Records that the next instruction is the guest access of instruction `index`.
    fn trap_here(&mut self, index: u32) {
        let native = self.ops.here();
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

    /// Jumps to the 32-bit address in `ecx`. A valid jump-table address enters (and charges)
    /// the target block through the table the context points at; everything else (the halt
    /// address, zero, odd, out-of-range or invalid entries) goes to a cold stub, which halts or
    /// panics at `index`.
    fn dynamic_jump(&mut self, index: u32) {
        dynasm!(self.ops
            ; .arch x64
            ; ror ecx, 1
            ; dec ecx
            ; cmp ecx, DWORD [r15 + JUMP_TABLE_LEN]
        );
        let out_of_range = self.ops.jcc_forward(Cond::AboveEq);
        dynasm!(self.ops
            ; .arch x64
            ; push rax
            ; mov rax, QWORD [r15 + JUMP_TABLE]
            ; mov ecx, DWORD [rax + rcx * 4]
            ; pop rax
            ; test ecx, ecx
        );
        let invalid_entry = self.ops.jcc_forward(Cond::Eq);
        dynasm!(self.ops
            ; .arch x64
            ; add rcx, QWORD [r15 + CODE_BASE]
            ; jmp rcx
        );
        self.cold.push(ColdStub {
            from: out_of_range,
            also: Some(invalid_entry),
            index,
            thunk: self.thunks.dynamic_jump_failed,
            on_stack: true,
        });
    }
}

/// The condition under which a branch is taken, after `cmp r_A, r_B / imm`.
fn branch_cond(op: Opcode) -> Cond {
    use Opcode::*;
    match op {
        BranchEq | BranchEqImm => Cond::Eq,
        BranchNe | BranchNeImm => Cond::NotEq,
        BranchLtU | BranchLtUImm => Cond::Below,
        BranchLeUImm => Cond::BelowEq,
        BranchGeU | BranchGeUImm => Cond::AboveEq,
        BranchGtUImm => Cond::Above,
        BranchLtS | BranchLtSImm => Cond::Less,
        BranchLeSImm => Cond::LessEq,
        BranchGeS | BranchGeSImm => Cond::GreaterEq,
        _ => Cond::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_reservation_is_bounded() {
        let (reserve, populate) = code_reservation(1000).unwrap();
        assert_eq!(reserve, 1000 * MAX_BYTES_PER_INST + FIXED_CODE_BYTES);
        assert_eq!(populate, 1000 * 16 + FIXED_CODE_BYTES);
        // A big program populates a bounded part up front.
        let (_, populate) = code_reservation(10 << 20).unwrap();
        assert_eq!(populate, MAX_POPULATE);
        // Beyond the reservation limit (or where the size overflows): refused, not reserved.
        let limit = (MAX_CODE_RESERVATION - FIXED_CODE_BYTES) / MAX_BYTES_PER_INST;
        assert!(code_reservation(limit).is_ok());
        for too_many in [limit + 1, usize::MAX / 2] {
            let error = code_reservation(too_many).unwrap_err();
            assert!(matches!(error, CompileError::Unsupported(_)), "{error}");
        }
    }
}
