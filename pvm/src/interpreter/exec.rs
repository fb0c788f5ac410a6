//! The interpreter's dispatch loop.

use super::{ExitReason, Instance, Resume, HALT_ADDRESS};
use crate::isa::Opcode;
use crate::memory::MemoryFault;
use crate::program::{Inst, INVALID_TARGET};
use crate::semantics as sem;

impl Instance {
    /// Runs until an exit (`Some`), or with `STEP` until one instruction has completed without
    /// one (`None`, with `resume` at the next instruction).
    pub(super) fn run_loop<const TRACE: bool, const STEP: bool>(
        &mut self,
        trace: &mut dyn FnMut(u32, i64),
    ) -> Option<ExitReason> {
        let program = self.program.clone();
        let insts = program.insts();
        let costs = program.block_costs_raw();
        let jump_targets = program.jump_targets();
        let mut regs = self.regs;
        let mut gas = self.gas;
        let memory = &mut self.memory;
        // SAFETY: `memory` outlives this function and is never replaced during it.
        let fast = unsafe { memory.fast_path() };

        let started = self.resume.begin(&mut gas);
        self.gas = gas;
        let mut i = match started {
            Ok(index) => index as usize,
            Err(exit) => return Some(exit),
        };

        // Every exit writes the machine state back.
        macro_rules! exit {
            ($exit:expr, $pc:expr, $resume:expr) => {{
                self.regs = regs;
                self.gas = gas;
                return Some(self.finish($exit, $pc, $resume));
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
        // One-line arms for the regular instruction classes; `$op` is a constant in each arm,
        // so the `semantics` match folds away.
        macro_rules! alu3 {
            ($op:ident, $inst:ident) => {{
                let value = sem::reg3(
                    $op,
                    get!(fld!($inst, ra)),
                    get!(fld!($inst, rb)),
                    get!(fld!($inst, rd)),
                );
                set!(fld!($inst, rd), value);
                i += 1;
            }};
        }
        macro_rules! alu2_imm {
            ($op:ident, $inst:ident) => {{
                let value = sem::reg2_imm(
                    $op,
                    get!(fld!($inst, rb)),
                    imm_x!(fld!($inst, x)),
                    get!(fld!($inst, ra)),
                );
                set!(fld!($inst, ra), value);
                i += 1;
            }};
        }
        macro_rules! alu2 {
            ($op:ident, $inst:ident) => {{
                let value = sem::reg2($op, get!(fld!($inst, ra)));
                set!(fld!($inst, rd), value);
                i += 1;
            }};
        }
        macro_rules! branch {
            ($op:ident, $inst:ident, $rhs:expr) => {{
                if sem::branch_taken($op, get!(fld!($inst, ra)), $rhs) {
                    enter!(fld!($inst, y), fld!($inst, pc));
                } else {
                    enter!(i + 1, fld!($inst, pc));
                }
            }};
        }
        let u8v = |b: [u8; 1]| u64::from(b[0]);
        let i8v = |b: [u8; 1]| b[0] as i8 as i64 as u64;
        let u16v = |b: [u8; 2]| u64::from(u16::from_le_bytes(b));
        let i16v = |b: [u8; 2]| i16::from_le_bytes(b) as i64 as u64;
        let u32v = |b: [u8; 4]| u64::from(u32::from_le_bytes(b));
        let i32v = |b: [u8; 4]| i32::from_le_bytes(b) as i64 as u64;
        let u64v = |b: [u8; 8]| u64::from_le_bytes(b);

        let mut steps_left = 1u32;
        loop {
            if STEP {
                if steps_left == 0 {
                    self.regs = regs;
                    self.gas = gas;
                    self.resume = Resume::Continue { index: i as u32 };
                    return None;
                }
                steps_left -= 1;
            }
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
                BranchEqImm => branch!(BranchEqImm, inst, imm_x!(fld!(inst, x))),
                BranchNeImm => branch!(BranchNeImm, inst, imm_x!(fld!(inst, x))),
                BranchLtUImm => branch!(BranchLtUImm, inst, imm_x!(fld!(inst, x))),
                BranchLeUImm => branch!(BranchLeUImm, inst, imm_x!(fld!(inst, x))),
                BranchGeUImm => branch!(BranchGeUImm, inst, imm_x!(fld!(inst, x))),
                BranchGtUImm => branch!(BranchGtUImm, inst, imm_x!(fld!(inst, x))),
                BranchLtSImm => branch!(BranchLtSImm, inst, imm_x!(fld!(inst, x))),
                BranchLeSImm => branch!(BranchLeSImm, inst, imm_x!(fld!(inst, x))),
                BranchGeSImm => branch!(BranchGeSImm, inst, imm_x!(fld!(inst, x))),
                BranchGtSImm => branch!(BranchGtSImm, inst, imm_x!(fld!(inst, x))),
                MoveReg => {
                    set!(fld!(inst, rd), get!(fld!(inst, ra)));
                    i += 1;
                }
                Sbrk if !self.sbrk_allowed => panic_at!(fld!(inst, pc)),
                Sbrk => {
                    let (result, brk) = memory.sbrk(self.heap_start, get!(fld!(inst, ra)));
                    self.heap_start = brk;
                    set!(fld!(inst, rd), result);
                    i += 1;
                }
                CountSetBits64 => alu2!(CountSetBits64, inst),
                CountSetBits32 => alu2!(CountSetBits32, inst),
                LeadingZeroBits64 => alu2!(LeadingZeroBits64, inst),
                LeadingZeroBits32 => alu2!(LeadingZeroBits32, inst),
                TrailingZeroBits64 => alu2!(TrailingZeroBits64, inst),
                TrailingZeroBits32 => alu2!(TrailingZeroBits32, inst),
                SignExtend8 => alu2!(SignExtend8, inst),
                SignExtend16 => alu2!(SignExtend16, inst),
                ZeroExtend16 => alu2!(ZeroExtend16, inst),
                ReverseBytes => alu2!(ReverseBytes, inst),
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
                AddImm32 => alu2_imm!(AddImm32, inst),
                AndImm => alu2_imm!(AndImm, inst),
                XorImm => alu2_imm!(XorImm, inst),
                OrImm => alu2_imm!(OrImm, inst),
                MulImm32 => alu2_imm!(MulImm32, inst),
                SetLtUImm => alu2_imm!(SetLtUImm, inst),
                SetLtSImm => alu2_imm!(SetLtSImm, inst),
                ShloLImm32 => alu2_imm!(ShloLImm32, inst),
                ShloRImm32 => alu2_imm!(ShloRImm32, inst),
                SharRImm32 => alu2_imm!(SharRImm32, inst),
                NegAddImm32 => alu2_imm!(NegAddImm32, inst),
                SetGtUImm => alu2_imm!(SetGtUImm, inst),
                SetGtSImm => alu2_imm!(SetGtSImm, inst),
                ShloLImmAlt32 => alu2_imm!(ShloLImmAlt32, inst),
                ShloRImmAlt32 => alu2_imm!(ShloRImmAlt32, inst),
                SharRImmAlt32 => alu2_imm!(SharRImmAlt32, inst),
                CmovIzImm => alu2_imm!(CmovIzImm, inst),
                CmovNzImm => alu2_imm!(CmovNzImm, inst),
                MulImm64 => alu2_imm!(MulImm64, inst),
                ShloLImm64 => alu2_imm!(ShloLImm64, inst),
                ShloRImm64 => alu2_imm!(ShloRImm64, inst),
                SharRImm64 => alu2_imm!(SharRImm64, inst),
                NegAddImm64 => alu2_imm!(NegAddImm64, inst),
                ShloLImmAlt64 => alu2_imm!(ShloLImmAlt64, inst),
                ShloRImmAlt64 => alu2_imm!(ShloRImmAlt64, inst),
                SharRImmAlt64 => alu2_imm!(SharRImmAlt64, inst),
                RotR64Imm => alu2_imm!(RotR64Imm, inst),
                RotR64ImmAlt => alu2_imm!(RotR64ImmAlt, inst),
                RotR32Imm => alu2_imm!(RotR32Imm, inst),
                RotR32ImmAlt => alu2_imm!(RotR32ImmAlt, inst),
                BranchEq => branch!(BranchEq, inst, get!(fld!(inst, rb))),
                BranchNe => branch!(BranchNe, inst, get!(fld!(inst, rb))),
                BranchLtU => branch!(BranchLtU, inst, get!(fld!(inst, rb))),
                BranchLtS => branch!(BranchLtS, inst, get!(fld!(inst, rb))),
                BranchGeU => branch!(BranchGeU, inst, get!(fld!(inst, rb))),
                BranchGeS => branch!(BranchGeS, inst, get!(fld!(inst, rb))),
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
                Add32 => alu3!(Add32, inst),
                Sub32 => alu3!(Sub32, inst),
                Mul32 => alu3!(Mul32, inst),
                DivU32 => alu3!(DivU32, inst),
                DivS32 => alu3!(DivS32, inst),
                RemU32 => alu3!(RemU32, inst),
                RemS32 => alu3!(RemS32, inst),
                ShloL32 => alu3!(ShloL32, inst),
                ShloR32 => alu3!(ShloR32, inst),
                SharR32 => alu3!(SharR32, inst),
                Sub64 => alu3!(Sub64, inst),
                Mul64 => alu3!(Mul64, inst),
                DivU64 => alu3!(DivU64, inst),
                DivS64 => alu3!(DivS64, inst),
                RemU64 => alu3!(RemU64, inst),
                RemS64 => alu3!(RemS64, inst),
                ShloL64 => alu3!(ShloL64, inst),
                ShloR64 => alu3!(ShloR64, inst),
                SharR64 => alu3!(SharR64, inst),
                And => alu3!(And, inst),
                Xor => alu3!(Xor, inst),
                Or => alu3!(Or, inst),
                MulUpperSS => alu3!(MulUpperSS, inst),
                MulUpperUU => alu3!(MulUpperUU, inst),
                MulUpperSU => alu3!(MulUpperSU, inst),
                SetLtU => alu3!(SetLtU, inst),
                SetLtS => alu3!(SetLtS, inst),
                CmovIz => alu3!(CmovIz, inst),
                CmovNz => alu3!(CmovNz, inst),
                RotL64 => alu3!(RotL64, inst),
                RotL32 => alu3!(RotL32, inst),
                RotR64 => alu3!(RotR64, inst),
                RotR32 => alu3!(RotR32, inst),
                AndInv => alu3!(AndInv, inst),
                OrInv => alu3!(OrInv, inst),
                Xnor => alu3!(Xnor, inst),
                Max => alu3!(Max, inst),
                MaxU => alu3!(MaxU, inst),
                Min => alu3!(Min, inst),
                MinU => alu3!(MinU, inst),
            }
        }
    }
}
