//! The interpreter's dispatch loop.

use super::{ExitReason, Instance, Resume, HALT_ADDRESS};
use crate::isa::Opcode;
use crate::memory::MemoryFault;
use crate::program::INVALID_TARGET;
use crate::semantics as sem;

impl Instance {
    pub(super) fn run_loop<const TRACE: bool>(
        &mut self,
        trace: &mut dyn FnMut(u32, i64),
    ) -> ExitReason {
        let program = self.program.clone();
        let insts = program.insts();
        let costs = program.block_costs_raw();
        let jump_targets = program.jump_targets();
        let mut regs = self.regs;
        let mut gas = self.gas;
        let memory = &mut self.memory;

        let mut i: usize = match self.resume {
            Resume::Finished(exit) => return exit,
            Resume::Continue { index } => index as usize,
            Resume::Charge { index, cost } => {
                if gas < cost as i64 {
                    return ExitReason::OutOfGas;
                }
                gas -= cost as i64;
                self.gas = gas;
                index as usize
            }
            Resume::Invalid { cost } => {
                if gas < cost as i64 {
                    return ExitReason::OutOfGas;
                }
                self.gas = gas - cost as i64;
                let pc = self.pc;
                return self.finish(ExitReason::Panic, pc, Resume::Finished(ExitReason::Panic));
            }
        };

        // Every exit writes the machine state back.
        macro_rules! exit {
            ($exit:expr, $pc:expr, $resume:expr) => {{
                self.regs = regs;
                self.gas = gas;
                return self.finish($exit, $pc, $resume);
            }};
        }
        macro_rules! panic_at {
            ($pc:expr) => {
                exit!(ExitReason::Panic, $pc, Resume::Finished(ExitReason::Panic))
            };
        }
        // Enter the block starting at instruction `t`, charging its cost.
        macro_rules! enter {
            ($t:expr, $from_pc:expr) => {{
                let t = $t as usize;
                if t == INVALID_TARGET as usize {
                    panic_at!($from_pc);
                }
                // SAFETY: resolved targets and fall-through successors are valid indices.
                let cost = unsafe { *costs.get_unchecked(t) } as i64;
                if gas < cost {
                    let pc = unsafe { insts.get_unchecked(t) }.pc;
                    exit!(
                        ExitReason::OutOfGas,
                        pc,
                        Resume::Charge {
                            index: t as u32,
                            cost: cost as u64
                        }
                    );
                }
                gas -= cost;
                i = t;
                continue;
            }};
        }
        macro_rules! fault {
            ($fault:expr, $pc:expr) => {
                match $fault {
                    MemoryFault::Panic => panic_at!($pc),
                    MemoryFault::PageFault(addr) => exit!(
                        ExitReason::PageFault(addr),
                        $pc,
                        Resume::Continue { index: i as u32 }
                    ),
                }
            };
        }
        macro_rules! load {
            ($n:literal, $addr:expr, $dest:expr, $pc:expr, $conv:expr) => {{
                match memory.load::<$n>($addr) {
                    Ok(bytes) => {
                        regs[$dest] = $conv(bytes);
                        i += 1;
                    }
                    Err(f) => fault!(f, $pc),
                }
            }};
        }
        macro_rules! store {
            ($n:literal, $addr:expr, $value:expr, $pc:expr) => {{
                let bytes: [u8; $n] = ($value as u64).to_le_bytes()[..$n].try_into().unwrap();
                match memory.store::<$n>($addr, bytes) {
                    Ok(()) => i += 1,
                    Err(f) => fault!(f, $pc),
                }
            }};
        }
        macro_rules! djump {
            ($addr:expr, $pc:expr) => {{
                let addr: u32 = $addr;
                if addr == HALT_ADDRESS {
                    exit!(ExitReason::Halt, $pc, Resume::Finished(ExitReason::Halt));
                }
                let slot = (addr / 2) as usize;
                if addr == 0 || addr % 2 != 0 || slot > jump_targets.len() {
                    panic_at!($pc);
                }
                enter!(jump_targets[slot - 1], $pc);
            }};
        }

        let u8v = |b: [u8; 1]| u64::from(b[0]);
        let i8v = |b: [u8; 1]| b[0] as i8 as i64 as u64;
        let u16v = |b: [u8; 2]| u64::from(u16::from_le_bytes(b));
        let i16v = |b: [u8; 2]| i16::from_le_bytes(b) as i64 as u64;
        let u32v = |b: [u8; 4]| u64::from(u32::from_le_bytes(b));
        let i32v = |b: [u8; 4]| i32::from_le_bytes(b) as i64 as u64;
        let u64v = |b: [u8; 8]| u64::from_le_bytes(b);

        loop {
            // SAFETY: `i` is always a valid index: every non-terminating instruction is followed
            // by another (the decoder appends an implicit trap after the last one), and control
            // transfers only go to resolved indices.
            let inst = *unsafe { insts.get_unchecked(i) };
            if TRACE {
                trace(i as u32, gas);
            }
            let a = usize::from(inst.ra & 15);
            let b = usize::from(inst.rb & 15);
            let d = usize::from(inst.rd & 15);
            let x = inst.x as i32 as i64 as u64;
            let y = inst.y as i32 as i64 as u64;
            use Opcode::*;
            match inst.op {
                Trap => panic_at!(inst.pc),
                Fallthrough => enter!(i + 1, inst.pc),
                Unlikely => i += 1,
                Ecalli => exit!(
                    ExitReason::HostCall(inst.x),
                    inst.pc,
                    Resume::Continue {
                        index: i as u32 + 1
                    }
                ),
                LoadImm64 => {
                    regs[a] = u64::from(inst.x) | (u64::from(inst.y) << 32);
                    i += 1;
                }
                StoreImmU8 => store!(1, inst.x, y, inst.pc),
                StoreImmU16 => store!(2, inst.x, y, inst.pc),
                StoreImmU32 => store!(4, inst.x, y, inst.pc),
                StoreImmU64 => store!(8, inst.x, y, inst.pc),
                Jump => enter!(inst.y, inst.pc),
                JumpInd => djump!(regs[a].wrapping_add(x) as u32, inst.pc),
                LoadImm => {
                    regs[a] = x;
                    i += 1;
                }
                LoadU8 => load!(1, inst.x, a, inst.pc, u8v),
                LoadI8 => load!(1, inst.x, a, inst.pc, i8v),
                LoadU16 => load!(2, inst.x, a, inst.pc, u16v),
                LoadI16 => load!(2, inst.x, a, inst.pc, i16v),
                LoadU32 => load!(4, inst.x, a, inst.pc, u32v),
                LoadI32 => load!(4, inst.x, a, inst.pc, i32v),
                LoadU64 => load!(8, inst.x, a, inst.pc, u64v),
                StoreU8 => store!(1, inst.x, regs[a], inst.pc),
                StoreU16 => store!(2, inst.x, regs[a], inst.pc),
                StoreU32 => store!(4, inst.x, regs[a], inst.pc),
                StoreU64 => store!(8, inst.x, regs[a], inst.pc),
                StoreImmIndU8 => store!(1, regs[a].wrapping_add(x) as u32, y, inst.pc),
                StoreImmIndU16 => store!(2, regs[a].wrapping_add(x) as u32, y, inst.pc),
                StoreImmIndU32 => store!(4, regs[a].wrapping_add(x) as u32, y, inst.pc),
                StoreImmIndU64 => store!(8, regs[a].wrapping_add(x) as u32, y, inst.pc),
                LoadImmJump => {
                    regs[a] = x;
                    enter!(inst.y, inst.pc);
                }
                BranchEqImm | BranchNeImm | BranchLtUImm | BranchLeUImm | BranchGeUImm
                | BranchGtUImm | BranchLtSImm | BranchLeSImm | BranchGeSImm | BranchGtSImm => {
                    if sem::branch_taken(inst.op, regs[a], x) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                MoveReg => {
                    regs[d] = regs[a];
                    i += 1;
                }
                Sbrk => {
                    regs[d] = memory.sbrk(self.heap_start, regs[a]);
                    i += 1;
                }
                CountSetBits64 => {
                    regs[d] = sem::reg2(CountSetBits64, regs[a]);
                    i += 1;
                }
                CountSetBits32 => {
                    regs[d] = sem::reg2(CountSetBits32, regs[a]);
                    i += 1;
                }
                LeadingZeroBits64 => {
                    regs[d] = sem::reg2(LeadingZeroBits64, regs[a]);
                    i += 1;
                }
                LeadingZeroBits32 => {
                    regs[d] = sem::reg2(LeadingZeroBits32, regs[a]);
                    i += 1;
                }
                TrailingZeroBits64 => {
                    regs[d] = sem::reg2(TrailingZeroBits64, regs[a]);
                    i += 1;
                }
                TrailingZeroBits32 => {
                    regs[d] = sem::reg2(TrailingZeroBits32, regs[a]);
                    i += 1;
                }
                SignExtend8 => {
                    regs[d] = sem::reg2(SignExtend8, regs[a]);
                    i += 1;
                }
                SignExtend16 => {
                    regs[d] = sem::reg2(SignExtend16, regs[a]);
                    i += 1;
                }
                ZeroExtend16 => {
                    regs[d] = sem::reg2(ZeroExtend16, regs[a]);
                    i += 1;
                }
                ReverseBytes => {
                    regs[d] = sem::reg2(ReverseBytes, regs[a]);
                    i += 1;
                }
                StoreIndU8 => store!(1, regs[b].wrapping_add(x) as u32, regs[a], inst.pc),
                StoreIndU16 => store!(2, regs[b].wrapping_add(x) as u32, regs[a], inst.pc),
                StoreIndU32 => store!(4, regs[b].wrapping_add(x) as u32, regs[a], inst.pc),
                StoreIndU64 => store!(8, regs[b].wrapping_add(x) as u32, regs[a], inst.pc),
                LoadIndU8 => load!(1, regs[b].wrapping_add(x) as u32, a, inst.pc, u8v),
                LoadIndI8 => load!(1, regs[b].wrapping_add(x) as u32, a, inst.pc, i8v),
                LoadIndU16 => load!(2, regs[b].wrapping_add(x) as u32, a, inst.pc, u16v),
                LoadIndI16 => load!(2, regs[b].wrapping_add(x) as u32, a, inst.pc, i16v),
                LoadIndU32 => load!(4, regs[b].wrapping_add(x) as u32, a, inst.pc, u32v),
                LoadIndI32 => load!(4, regs[b].wrapping_add(x) as u32, a, inst.pc, i32v),
                LoadIndU64 => load!(8, regs[b].wrapping_add(x) as u32, a, inst.pc, u64v),
                AddImm64 => {
                    regs[a] = regs[b].wrapping_add(x);
                    i += 1;
                }
                AddImm32 => {
                    regs[a] = sem::reg2_imm(AddImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                AndImm => {
                    regs[a] = sem::reg2_imm(AndImm, regs[b], x, regs[a]);
                    i += 1;
                }
                XorImm => {
                    regs[a] = sem::reg2_imm(XorImm, regs[b], x, regs[a]);
                    i += 1;
                }
                OrImm => {
                    regs[a] = sem::reg2_imm(OrImm, regs[b], x, regs[a]);
                    i += 1;
                }
                MulImm32 => {
                    regs[a] = sem::reg2_imm(MulImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                SetLtUImm => {
                    regs[a] = sem::reg2_imm(SetLtUImm, regs[b], x, regs[a]);
                    i += 1;
                }
                SetLtSImm => {
                    regs[a] = sem::reg2_imm(SetLtSImm, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloLImm32 => {
                    regs[a] = sem::reg2_imm(ShloLImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloRImm32 => {
                    regs[a] = sem::reg2_imm(ShloRImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                SharRImm32 => {
                    regs[a] = sem::reg2_imm(SharRImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                NegAddImm32 => {
                    regs[a] = sem::reg2_imm(NegAddImm32, regs[b], x, regs[a]);
                    i += 1;
                }
                SetGtUImm => {
                    regs[a] = sem::reg2_imm(SetGtUImm, regs[b], x, regs[a]);
                    i += 1;
                }
                SetGtSImm => {
                    regs[a] = sem::reg2_imm(SetGtSImm, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloLImmAlt32 => {
                    regs[a] = sem::reg2_imm(ShloLImmAlt32, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloRImmAlt32 => {
                    regs[a] = sem::reg2_imm(ShloRImmAlt32, regs[b], x, regs[a]);
                    i += 1;
                }
                SharRImmAlt32 => {
                    regs[a] = sem::reg2_imm(SharRImmAlt32, regs[b], x, regs[a]);
                    i += 1;
                }
                CmovIzImm => {
                    regs[a] = sem::reg2_imm(CmovIzImm, regs[b], x, regs[a]);
                    i += 1;
                }
                CmovNzImm => {
                    regs[a] = sem::reg2_imm(CmovNzImm, regs[b], x, regs[a]);
                    i += 1;
                }
                MulImm64 => {
                    regs[a] = sem::reg2_imm(MulImm64, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloLImm64 => {
                    regs[a] = sem::reg2_imm(ShloLImm64, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloRImm64 => {
                    regs[a] = sem::reg2_imm(ShloRImm64, regs[b], x, regs[a]);
                    i += 1;
                }
                SharRImm64 => {
                    regs[a] = sem::reg2_imm(SharRImm64, regs[b], x, regs[a]);
                    i += 1;
                }
                NegAddImm64 => {
                    regs[a] = sem::reg2_imm(NegAddImm64, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloLImmAlt64 => {
                    regs[a] = sem::reg2_imm(ShloLImmAlt64, regs[b], x, regs[a]);
                    i += 1;
                }
                ShloRImmAlt64 => {
                    regs[a] = sem::reg2_imm(ShloRImmAlt64, regs[b], x, regs[a]);
                    i += 1;
                }
                SharRImmAlt64 => {
                    regs[a] = sem::reg2_imm(SharRImmAlt64, regs[b], x, regs[a]);
                    i += 1;
                }
                RotR64Imm => {
                    regs[a] = sem::reg2_imm(RotR64Imm, regs[b], x, regs[a]);
                    i += 1;
                }
                RotR64ImmAlt => {
                    regs[a] = sem::reg2_imm(RotR64ImmAlt, regs[b], x, regs[a]);
                    i += 1;
                }
                RotR32Imm => {
                    regs[a] = sem::reg2_imm(RotR32Imm, regs[b], x, regs[a]);
                    i += 1;
                }
                RotR32ImmAlt => {
                    regs[a] = sem::reg2_imm(RotR32ImmAlt, regs[b], x, regs[a]);
                    i += 1;
                }
                BranchEq | BranchNe | BranchLtU | BranchLtS | BranchGeU | BranchGeS => {
                    if sem::branch_taken(inst.op, regs[a], regs[b]) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                LoadImmJumpInd => {
                    let target = regs[b].wrapping_add(y) as u32;
                    regs[a] = x;
                    djump!(target, inst.pc);
                }
                Add64 => {
                    regs[d] = regs[a].wrapping_add(regs[b]);
                    i += 1;
                }
                Add32 => {
                    regs[d] = sem::reg3(Add32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Sub32 => {
                    regs[d] = sem::reg3(Sub32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Mul32 => {
                    regs[d] = sem::reg3(Mul32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                DivU32 => {
                    regs[d] = sem::reg3(DivU32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                DivS32 => {
                    regs[d] = sem::reg3(DivS32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RemU32 => {
                    regs[d] = sem::reg3(RemU32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RemS32 => {
                    regs[d] = sem::reg3(RemS32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                ShloL32 => {
                    regs[d] = sem::reg3(ShloL32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                ShloR32 => {
                    regs[d] = sem::reg3(ShloR32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                SharR32 => {
                    regs[d] = sem::reg3(SharR32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Sub64 => {
                    regs[d] = sem::reg3(Sub64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Mul64 => {
                    regs[d] = sem::reg3(Mul64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                DivU64 => {
                    regs[d] = sem::reg3(DivU64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                DivS64 => {
                    regs[d] = sem::reg3(DivS64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RemU64 => {
                    regs[d] = sem::reg3(RemU64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RemS64 => {
                    regs[d] = sem::reg3(RemS64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                ShloL64 => {
                    regs[d] = sem::reg3(ShloL64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                ShloR64 => {
                    regs[d] = sem::reg3(ShloR64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                SharR64 => {
                    regs[d] = sem::reg3(SharR64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                And => {
                    regs[d] = sem::reg3(And, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Xor => {
                    regs[d] = sem::reg3(Xor, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Or => {
                    regs[d] = sem::reg3(Or, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                MulUpperSS => {
                    regs[d] = sem::reg3(MulUpperSS, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                MulUpperUU => {
                    regs[d] = sem::reg3(MulUpperUU, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                MulUpperSU => {
                    regs[d] = sem::reg3(MulUpperSU, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                SetLtU => {
                    regs[d] = sem::reg3(SetLtU, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                SetLtS => {
                    regs[d] = sem::reg3(SetLtS, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                CmovIz => {
                    regs[d] = sem::reg3(CmovIz, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                CmovNz => {
                    regs[d] = sem::reg3(CmovNz, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RotL64 => {
                    regs[d] = sem::reg3(RotL64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RotL32 => {
                    regs[d] = sem::reg3(RotL32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RotR64 => {
                    regs[d] = sem::reg3(RotR64, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                RotR32 => {
                    regs[d] = sem::reg3(RotR32, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                AndInv => {
                    regs[d] = sem::reg3(AndInv, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                OrInv => {
                    regs[d] = sem::reg3(OrInv, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Xnor => {
                    regs[d] = sem::reg3(Xnor, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Max => {
                    regs[d] = sem::reg3(Max, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                MaxU => {
                    regs[d] = sem::reg3(MaxU, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                Min => {
                    regs[d] = sem::reg3(Min, regs[a], regs[b], regs[d]);
                    i += 1;
                }
                MinU => {
                    regs[d] = sem::reg3(MinU, regs[a], regs[b], regs[d]);
                    i += 1;
                }
            }
        }
    }
}
