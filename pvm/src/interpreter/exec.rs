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
                        set!($dest, $conv(bytes));
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

        // Register operands are clamped to 0..=12 by the decoder (`isa::args`), so they index
        // the 16-entry register file without a check; operand fields are read inside each arm
        // to keep the dispatch itself tiny.
        macro_rules! get {
            ($r:expr) => {
                // SAFETY: decoded register indices are at most 12 < 16.
                *unsafe { regs.get_unchecked(usize::from($r)) }
            };
        }
        macro_rules! set {
            ($r:expr, $v:expr) => {{
                let v = $v;
                // SAFETY: as in `get!`.
                *unsafe { regs.get_unchecked_mut(usize::from($r)) } = v;
            }};
        }
        // Immediates other than `load_imm_64`'s are sign-extended from at most 32 bits.
        macro_rules! imm_x {
            ($inst:ident) => {
                $inst.x as i32 as i64 as u64
            };
        }
        macro_rules! imm_y {
            ($inst:ident) => {
                $inst.y as i32 as i64 as u64
            };
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
                    set!(inst.ra, u64::from(inst.x) | (u64::from(inst.y) << 32));
                    i += 1;
                }
                StoreImmU8 => store!(1, inst.x, imm_y!(inst), inst.pc),
                StoreImmU16 => store!(2, inst.x, imm_y!(inst), inst.pc),
                StoreImmU32 => store!(4, inst.x, imm_y!(inst), inst.pc),
                StoreImmU64 => store!(8, inst.x, imm_y!(inst), inst.pc),
                Jump => enter!(inst.y, inst.pc),
                JumpInd => djump!(get!(inst.ra).wrapping_add(imm_x!(inst)) as u32, inst.pc),
                LoadImm => {
                    set!(inst.ra, imm_x!(inst));
                    i += 1;
                }
                LoadU8 => load!(1, inst.x, inst.ra, inst.pc, u8v),
                LoadI8 => load!(1, inst.x, inst.ra, inst.pc, i8v),
                LoadU16 => load!(2, inst.x, inst.ra, inst.pc, u16v),
                LoadI16 => load!(2, inst.x, inst.ra, inst.pc, i16v),
                LoadU32 => load!(4, inst.x, inst.ra, inst.pc, u32v),
                LoadI32 => load!(4, inst.x, inst.ra, inst.pc, i32v),
                LoadU64 => load!(8, inst.x, inst.ra, inst.pc, u64v),
                StoreU8 => store!(1, inst.x, get!(inst.ra), inst.pc),
                StoreU16 => store!(2, inst.x, get!(inst.ra), inst.pc),
                StoreU32 => store!(4, inst.x, get!(inst.ra), inst.pc),
                StoreU64 => store!(8, inst.x, get!(inst.ra), inst.pc),
                StoreImmIndU8 => store!(
                    1,
                    get!(inst.ra).wrapping_add(imm_x!(inst)) as u32,
                    imm_y!(inst),
                    inst.pc
                ),
                StoreImmIndU16 => store!(
                    2,
                    get!(inst.ra).wrapping_add(imm_x!(inst)) as u32,
                    imm_y!(inst),
                    inst.pc
                ),
                StoreImmIndU32 => store!(
                    4,
                    get!(inst.ra).wrapping_add(imm_x!(inst)) as u32,
                    imm_y!(inst),
                    inst.pc
                ),
                StoreImmIndU64 => store!(
                    8,
                    get!(inst.ra).wrapping_add(imm_x!(inst)) as u32,
                    imm_y!(inst),
                    inst.pc
                ),
                LoadImmJump => {
                    set!(inst.ra, imm_x!(inst));
                    enter!(inst.y, inst.pc);
                }
                BranchEqImm => {
                    if sem::branch_taken(BranchEqImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchNeImm => {
                    if sem::branch_taken(BranchNeImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLtUImm => {
                    if sem::branch_taken(BranchLtUImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLeUImm => {
                    if sem::branch_taken(BranchLeUImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGeUImm => {
                    if sem::branch_taken(BranchGeUImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGtUImm => {
                    if sem::branch_taken(BranchGtUImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLtSImm => {
                    if sem::branch_taken(BranchLtSImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLeSImm => {
                    if sem::branch_taken(BranchLeSImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGeSImm => {
                    if sem::branch_taken(BranchGeSImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGtSImm => {
                    if sem::branch_taken(BranchGtSImm, get!(inst.ra), imm_x!(inst)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                MoveReg => {
                    set!(inst.rd, get!(inst.ra));
                    i += 1;
                }
                Sbrk => {
                    set!(inst.rd, memory.sbrk(self.heap_start, get!(inst.ra)));
                    i += 1;
                }
                CountSetBits64 => {
                    set!(inst.rd, sem::reg2(CountSetBits64, get!(inst.ra)));
                    i += 1;
                }
                CountSetBits32 => {
                    set!(inst.rd, sem::reg2(CountSetBits32, get!(inst.ra)));
                    i += 1;
                }
                LeadingZeroBits64 => {
                    set!(inst.rd, sem::reg2(LeadingZeroBits64, get!(inst.ra)));
                    i += 1;
                }
                LeadingZeroBits32 => {
                    set!(inst.rd, sem::reg2(LeadingZeroBits32, get!(inst.ra)));
                    i += 1;
                }
                TrailingZeroBits64 => {
                    set!(inst.rd, sem::reg2(TrailingZeroBits64, get!(inst.ra)));
                    i += 1;
                }
                TrailingZeroBits32 => {
                    set!(inst.rd, sem::reg2(TrailingZeroBits32, get!(inst.ra)));
                    i += 1;
                }
                SignExtend8 => {
                    set!(inst.rd, sem::reg2(SignExtend8, get!(inst.ra)));
                    i += 1;
                }
                SignExtend16 => {
                    set!(inst.rd, sem::reg2(SignExtend16, get!(inst.ra)));
                    i += 1;
                }
                ZeroExtend16 => {
                    set!(inst.rd, sem::reg2(ZeroExtend16, get!(inst.ra)));
                    i += 1;
                }
                ReverseBytes => {
                    set!(inst.rd, sem::reg2(ReverseBytes, get!(inst.ra)));
                    i += 1;
                }
                StoreIndU8 => store!(
                    1,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    get!(inst.ra),
                    inst.pc
                ),
                StoreIndU16 => store!(
                    2,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    get!(inst.ra),
                    inst.pc
                ),
                StoreIndU32 => store!(
                    4,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    get!(inst.ra),
                    inst.pc
                ),
                StoreIndU64 => store!(
                    8,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    get!(inst.ra),
                    inst.pc
                ),
                LoadIndU8 => load!(
                    1,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    u8v
                ),
                LoadIndI8 => load!(
                    1,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    i8v
                ),
                LoadIndU16 => load!(
                    2,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    u16v
                ),
                LoadIndI16 => load!(
                    2,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    i16v
                ),
                LoadIndU32 => load!(
                    4,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    u32v
                ),
                LoadIndI32 => load!(
                    4,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    i32v
                ),
                LoadIndU64 => load!(
                    8,
                    get!(inst.rb).wrapping_add(imm_x!(inst)) as u32,
                    inst.ra,
                    inst.pc,
                    u64v
                ),
                AddImm64 => {
                    set!(inst.ra, get!(inst.rb).wrapping_add(imm_x!(inst)));
                    i += 1;
                }
                AddImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(AddImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                AndImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(AndImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                XorImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(XorImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                OrImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(OrImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                MulImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(MulImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SetLtUImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SetLtUImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SetLtSImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SetLtSImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloLImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloLImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloRImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloRImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SharRImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SharRImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                NegAddImm32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(NegAddImm32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SetGtUImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SetGtUImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SetGtSImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SetGtSImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloLImmAlt32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloLImmAlt32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloRImmAlt32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloRImmAlt32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SharRImmAlt32 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SharRImmAlt32, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                CmovIzImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(CmovIzImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                CmovNzImm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(CmovNzImm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                MulImm64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(MulImm64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloLImm64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloLImm64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloRImm64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloRImm64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SharRImm64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SharRImm64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                NegAddImm64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(NegAddImm64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloLImmAlt64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloLImmAlt64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                ShloRImmAlt64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(ShloRImmAlt64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                SharRImmAlt64 => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(SharRImmAlt64, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                RotR64Imm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(RotR64Imm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                RotR64ImmAlt => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(RotR64ImmAlt, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                RotR32Imm => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(RotR32Imm, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                RotR32ImmAlt => {
                    set!(
                        inst.ra,
                        sem::reg2_imm(RotR32ImmAlt, get!(inst.rb), imm_x!(inst), get!(inst.ra))
                    );
                    i += 1;
                }
                BranchEq => {
                    if sem::branch_taken(BranchEq, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchNe => {
                    if sem::branch_taken(BranchNe, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLtU => {
                    if sem::branch_taken(BranchLtU, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchLtS => {
                    if sem::branch_taken(BranchLtS, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGeU => {
                    if sem::branch_taken(BranchGeU, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                BranchGeS => {
                    if sem::branch_taken(BranchGeS, get!(inst.ra), get!(inst.rb)) {
                        enter!(inst.y, inst.pc);
                    } else {
                        enter!(i + 1, inst.pc);
                    }
                }
                LoadImmJumpInd => {
                    let target = get!(inst.rb).wrapping_add(imm_y!(inst)) as u32;
                    set!(inst.ra, imm_x!(inst));
                    djump!(target, inst.pc);
                }
                Add64 => {
                    set!(inst.rd, get!(inst.ra).wrapping_add(get!(inst.rb)));
                    i += 1;
                }
                Add32 => {
                    set!(
                        inst.rd,
                        sem::reg3(Add32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Sub32 => {
                    set!(
                        inst.rd,
                        sem::reg3(Sub32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Mul32 => {
                    set!(
                        inst.rd,
                        sem::reg3(Mul32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                DivU32 => {
                    set!(
                        inst.rd,
                        sem::reg3(DivU32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                DivS32 => {
                    set!(
                        inst.rd,
                        sem::reg3(DivS32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RemU32 => {
                    set!(
                        inst.rd,
                        sem::reg3(RemU32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RemS32 => {
                    set!(
                        inst.rd,
                        sem::reg3(RemS32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                ShloL32 => {
                    set!(
                        inst.rd,
                        sem::reg3(ShloL32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                ShloR32 => {
                    set!(
                        inst.rd,
                        sem::reg3(ShloR32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                SharR32 => {
                    set!(
                        inst.rd,
                        sem::reg3(SharR32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Sub64 => {
                    set!(
                        inst.rd,
                        sem::reg3(Sub64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Mul64 => {
                    set!(
                        inst.rd,
                        sem::reg3(Mul64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                DivU64 => {
                    set!(
                        inst.rd,
                        sem::reg3(DivU64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                DivS64 => {
                    set!(
                        inst.rd,
                        sem::reg3(DivS64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RemU64 => {
                    set!(
                        inst.rd,
                        sem::reg3(RemU64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RemS64 => {
                    set!(
                        inst.rd,
                        sem::reg3(RemS64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                ShloL64 => {
                    set!(
                        inst.rd,
                        sem::reg3(ShloL64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                ShloR64 => {
                    set!(
                        inst.rd,
                        sem::reg3(ShloR64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                SharR64 => {
                    set!(
                        inst.rd,
                        sem::reg3(SharR64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                And => {
                    set!(
                        inst.rd,
                        sem::reg3(And, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Xor => {
                    set!(
                        inst.rd,
                        sem::reg3(Xor, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Or => {
                    set!(
                        inst.rd,
                        sem::reg3(Or, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                MulUpperSS => {
                    set!(
                        inst.rd,
                        sem::reg3(MulUpperSS, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                MulUpperUU => {
                    set!(
                        inst.rd,
                        sem::reg3(MulUpperUU, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                MulUpperSU => {
                    set!(
                        inst.rd,
                        sem::reg3(MulUpperSU, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                SetLtU => {
                    set!(
                        inst.rd,
                        sem::reg3(SetLtU, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                SetLtS => {
                    set!(
                        inst.rd,
                        sem::reg3(SetLtS, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                CmovIz => {
                    set!(
                        inst.rd,
                        sem::reg3(CmovIz, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                CmovNz => {
                    set!(
                        inst.rd,
                        sem::reg3(CmovNz, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RotL64 => {
                    set!(
                        inst.rd,
                        sem::reg3(RotL64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RotL32 => {
                    set!(
                        inst.rd,
                        sem::reg3(RotL32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RotR64 => {
                    set!(
                        inst.rd,
                        sem::reg3(RotR64, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                RotR32 => {
                    set!(
                        inst.rd,
                        sem::reg3(RotR32, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                AndInv => {
                    set!(
                        inst.rd,
                        sem::reg3(AndInv, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                OrInv => {
                    set!(
                        inst.rd,
                        sem::reg3(OrInv, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Xnor => {
                    set!(
                        inst.rd,
                        sem::reg3(Xnor, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Max => {
                    set!(
                        inst.rd,
                        sem::reg3(Max, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                MaxU => {
                    set!(
                        inst.rd,
                        sem::reg3(MaxU, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                Min => {
                    set!(
                        inst.rd,
                        sem::reg3(Min, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
                MinU => {
                    set!(
                        inst.rd,
                        sem::reg3(MinU, get!(inst.ra), get!(inst.rb), get!(inst.rd))
                    );
                    i += 1;
                }
            }
        }
    }
}
