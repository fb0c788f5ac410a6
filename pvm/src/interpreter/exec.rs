//! The interpreter's dispatch loop.

use super::{ExitReason, Instance, Resume, HALT_ADDRESS};
use crate::isa::Opcode;
use crate::memory::MemoryFault;
use crate::program::{Inst, INVALID_TARGET};
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
        // SAFETY: `memory` outlives this function and is never replaced during it.
        let fast = unsafe { memory.fast_path() };

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
                let addr: u32 = $addr;
                let result = match fast.load::<$n>(addr) {
                    Some(bytes) => Ok(bytes),
                    None => memory.load::<$n>(addr),
                };
                match result {
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
                let addr: u32 = $addr;
                let result = if fast.store::<$n>(addr, bytes) {
                    Ok(())
                } else {
                    memory.store::<$n>(addr, bytes)
                };
                match result {
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
            ($r:expr) => {{
                let r = usize::from($r);
                // SAFETY: decoded register indices are at most 12 < 16.
                *unsafe { regs.get_unchecked(r) }
            }};
        }
        macro_rules! set {
            ($r:expr, $v:expr) => {{
                let v = $v;
                let r = usize::from($r);
                // SAFETY: as in `get!`.
                *unsafe { regs.get_unchecked_mut(r) } = v;
            }};
        }
        // Immediates other than `load_imm_64`'s are sign-extended from at most 32 bits.
        macro_rules! imm_x {
            ($x:expr) => {
                $x as i32 as i64 as u64
            };
        }
        macro_rules! imm_y {
            ($y:expr) => {
                $y as i32 as i64 as u64
            };
        }
        // Operand fields are read with volatile loads inside each arm: plain loads would be
        // hoisted into the shared dispatch block, making every instruction pay for all of them.
        macro_rules! fld {
            ($inst:ident, $f:ident) => {
                // SAFETY: `$inst` points at a live element of `insts`.
                unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*$inst).$f)) }
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
            let inst: *const Inst = unsafe { insts.as_ptr().add(i) };
            let op = unsafe { (*inst).op };
            if TRACE {
                trace(i as u32, gas);
            }
            use Opcode::*;
            match op {
                Trap => panic_at!(fld!(inst, pc)),
                Fallthrough => enter!(i + 1, fld!(inst, pc)),
                Unlikely => i += 1,
                Ecalli => exit!(
                    ExitReason::HostCall(fld!(inst, x)),
                    fld!(inst, pc),
                    Resume::Continue {
                        index: i as u32 + 1
                    }
                ),
                LoadImm64 => {
                    set!(
                        fld!(inst, ra),
                        u64::from(fld!(inst, x)) | (u64::from(fld!(inst, y)) << 32)
                    );
                    i += 1;
                }
                StoreImmU8 => store!(1, fld!(inst, x), imm_y!(fld!(inst, y)), fld!(inst, pc)),
                StoreImmU16 => store!(2, fld!(inst, x), imm_y!(fld!(inst, y)), fld!(inst, pc)),
                StoreImmU32 => store!(4, fld!(inst, x), imm_y!(fld!(inst, y)), fld!(inst, pc)),
                StoreImmU64 => store!(8, fld!(inst, x), imm_y!(fld!(inst, y)), fld!(inst, pc)),
                Jump => enter!(fld!(inst, y), fld!(inst, pc)),
                JumpInd => djump!(
                    get!(fld!(inst, ra)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, pc)
                ),
                LoadImm => {
                    set!(fld!(inst, ra), imm_x!(fld!(inst, x)));
                    i += 1;
                }
                LoadU8 => load!(1, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), u8v),
                LoadI8 => load!(1, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), i8v),
                LoadU16 => load!(2, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), u16v),
                LoadI16 => load!(2, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), i16v),
                LoadU32 => load!(4, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), u32v),
                LoadI32 => load!(4, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), i32v),
                LoadU64 => load!(8, fld!(inst, x), fld!(inst, ra), fld!(inst, pc), u64v),
                StoreU8 => store!(1, fld!(inst, x), get!(fld!(inst, ra)), fld!(inst, pc)),
                StoreU16 => store!(2, fld!(inst, x), get!(fld!(inst, ra)), fld!(inst, pc)),
                StoreU32 => store!(4, fld!(inst, x), get!(fld!(inst, ra)), fld!(inst, pc)),
                StoreU64 => store!(8, fld!(inst, x), get!(fld!(inst, ra)), fld!(inst, pc)),
                StoreImmIndU8 => store!(
                    1,
                    get!(fld!(inst, ra)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    imm_y!(fld!(inst, y)),
                    fld!(inst, pc)
                ),
                StoreImmIndU16 => store!(
                    2,
                    get!(fld!(inst, ra)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    imm_y!(fld!(inst, y)),
                    fld!(inst, pc)
                ),
                StoreImmIndU32 => store!(
                    4,
                    get!(fld!(inst, ra)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    imm_y!(fld!(inst, y)),
                    fld!(inst, pc)
                ),
                StoreImmIndU64 => store!(
                    8,
                    get!(fld!(inst, ra)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    imm_y!(fld!(inst, y)),
                    fld!(inst, pc)
                ),
                LoadImmJump => {
                    set!(fld!(inst, ra), imm_x!(fld!(inst, x)));
                    enter!(fld!(inst, y), fld!(inst, pc));
                }
                BranchEqImm => {
                    if sem::branch_taken(BranchEqImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchNeImm => {
                    if sem::branch_taken(BranchNeImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLtUImm => {
                    if sem::branch_taken(BranchLtUImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLeUImm => {
                    if sem::branch_taken(BranchLeUImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGeUImm => {
                    if sem::branch_taken(BranchGeUImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGtUImm => {
                    if sem::branch_taken(BranchGtUImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLtSImm => {
                    if sem::branch_taken(BranchLtSImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLeSImm => {
                    if sem::branch_taken(BranchLeSImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGeSImm => {
                    if sem::branch_taken(BranchGeSImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGtSImm => {
                    if sem::branch_taken(BranchGtSImm, get!(fld!(inst, ra)), imm_x!(fld!(inst, x)))
                    {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                MoveReg => {
                    set!(fld!(inst, rd), get!(fld!(inst, ra)));
                    i += 1;
                }
                Sbrk => {
                    set!(
                        fld!(inst, rd),
                        memory.sbrk(self.heap_start, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                CountSetBits64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(CountSetBits64, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                CountSetBits32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(CountSetBits32, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                LeadingZeroBits64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(LeadingZeroBits64, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                LeadingZeroBits32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(LeadingZeroBits32, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                TrailingZeroBits64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(TrailingZeroBits64, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                TrailingZeroBits32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(TrailingZeroBits32, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                SignExtend8 => {
                    set!(fld!(inst, rd), sem::reg2(SignExtend8, get!(fld!(inst, ra))));
                    i += 1;
                }
                SignExtend16 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(SignExtend16, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                ZeroExtend16 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(ZeroExtend16, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                ReverseBytes => {
                    set!(
                        fld!(inst, rd),
                        sem::reg2(ReverseBytes, get!(fld!(inst, ra)))
                    );
                    i += 1;
                }
                StoreIndU8 => store!(
                    1,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    get!(fld!(inst, ra)),
                    fld!(inst, pc)
                ),
                StoreIndU16 => store!(
                    2,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    get!(fld!(inst, ra)),
                    fld!(inst, pc)
                ),
                StoreIndU32 => store!(
                    4,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    get!(fld!(inst, ra)),
                    fld!(inst, pc)
                ),
                StoreIndU64 => store!(
                    8,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    get!(fld!(inst, ra)),
                    fld!(inst, pc)
                ),
                LoadIndU8 => load!(
                    1,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    u8v
                ),
                LoadIndI8 => load!(
                    1,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    i8v
                ),
                LoadIndU16 => load!(
                    2,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    u16v
                ),
                LoadIndI16 => load!(
                    2,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    i16v
                ),
                LoadIndU32 => load!(
                    4,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    u32v
                ),
                LoadIndI32 => load!(
                    4,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    i32v
                ),
                LoadIndU64 => load!(
                    8,
                    get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x))) as u32,
                    fld!(inst, ra),
                    fld!(inst, pc),
                    u64v
                ),
                AddImm64 => {
                    set!(
                        fld!(inst, ra),
                        get!(fld!(inst, rb)).wrapping_add(imm_x!(fld!(inst, x)))
                    );
                    i += 1;
                }
                AddImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            AddImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                AndImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            AndImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                XorImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            XorImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                OrImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            OrImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                MulImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            MulImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SetLtUImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SetLtUImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SetLtSImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SetLtSImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloLImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloLImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloRImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloRImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SharRImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SharRImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                NegAddImm32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            NegAddImm32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SetGtUImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SetGtUImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SetGtSImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SetGtSImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloLImmAlt32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloLImmAlt32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloRImmAlt32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloRImmAlt32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SharRImmAlt32 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SharRImmAlt32,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                CmovIzImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            CmovIzImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                CmovNzImm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            CmovNzImm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                MulImm64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            MulImm64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloLImm64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloLImm64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloRImm64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloRImm64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SharRImm64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SharRImm64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                NegAddImm64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            NegAddImm64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloLImmAlt64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloLImmAlt64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                ShloRImmAlt64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            ShloRImmAlt64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                SharRImmAlt64 => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            SharRImmAlt64,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                RotR64Imm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            RotR64Imm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                RotR64ImmAlt => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            RotR64ImmAlt,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                RotR32Imm => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            RotR32Imm,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                RotR32ImmAlt => {
                    set!(
                        fld!(inst, ra),
                        sem::reg2_imm(
                            RotR32ImmAlt,
                            get!(fld!(inst, rb)),
                            imm_x!(fld!(inst, x)),
                            get!(fld!(inst, ra))
                        )
                    );
                    i += 1;
                }
                BranchEq => {
                    if sem::branch_taken(BranchEq, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchNe => {
                    if sem::branch_taken(BranchNe, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLtU => {
                    if sem::branch_taken(BranchLtU, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchLtS => {
                    if sem::branch_taken(BranchLtS, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGeU => {
                    if sem::branch_taken(BranchGeU, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                BranchGeS => {
                    if sem::branch_taken(BranchGeS, get!(fld!(inst, ra)), get!(fld!(inst, rb))) {
                        enter!(fld!(inst, y), fld!(inst, pc));
                    } else {
                        enter!(i + 1, fld!(inst, pc));
                    }
                }
                LoadImmJumpInd => {
                    let target = get!(fld!(inst, rb)).wrapping_add(imm_y!(fld!(inst, y))) as u32;
                    set!(fld!(inst, ra), imm_x!(fld!(inst, x)));
                    djump!(target, fld!(inst, pc));
                }
                Add64 => {
                    set!(
                        fld!(inst, rd),
                        get!(fld!(inst, ra)).wrapping_add(get!(fld!(inst, rb)))
                    );
                    i += 1;
                }
                Add32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Add32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Sub32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Sub32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Mul32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Mul32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                DivU32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            DivU32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                DivS32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            DivS32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RemU32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RemU32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RemS32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RemS32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                ShloL32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            ShloL32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                ShloR32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            ShloR32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                SharR32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            SharR32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Sub64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Sub64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Mul64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Mul64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                DivU64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            DivU64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                DivS64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            DivS64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RemU64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RemU64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RemS64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RemS64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                ShloL64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            ShloL64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                ShloR64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            ShloR64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                SharR64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            SharR64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                And => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            And,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Xor => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Xor,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Or => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Or,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                MulUpperSS => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            MulUpperSS,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                MulUpperUU => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            MulUpperUU,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                MulUpperSU => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            MulUpperSU,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                SetLtU => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            SetLtU,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                SetLtS => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            SetLtS,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                CmovIz => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            CmovIz,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                CmovNz => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            CmovNz,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RotL64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RotL64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RotL32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RotL32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RotR64 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RotR64,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                RotR32 => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            RotR32,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                AndInv => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            AndInv,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                OrInv => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            OrInv,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Xnor => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Xnor,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Max => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Max,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                MaxU => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            MaxU,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                Min => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            Min,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
                MinU => {
                    set!(
                        fld!(inst, rd),
                        sem::reg3(
                            MinU,
                            get!(fld!(inst, ra)),
                            get!(fld!(inst, rb)),
                            get!(fld!(inst, rd))
                        )
                    );
                    i += 1;
                }
            }
        }
    }
}
