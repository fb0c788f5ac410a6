//! The reference interpreter: runs a pre-decoded [`Program`] with block-granular gas.
//!
//! Gas is charged when control enters a basic block (a taken or fall-through successor of a
//! terminator, a dynamic-jump target, or the block containing the pc of a fresh entry). Resuming
//! after a host call or a page fault continues inside the already-paid block.

mod exec;

use std::sync::Arc;

use crate::memory::{Memory, MemoryError};
use crate::program::Program;

/// The address whose dynamic jump halts the machine (`2³² − 2¹⁶`).
pub const HALT_ADDRESS: u32 = 0xFFFF_0000;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// A dynamic jump to [`HALT_ADDRESS`]. Final.
    Halt,
    /// A trap, invalid instruction, bad jump or access below 64 KiB. Final.
    Panic,
    /// Not enough gas for the next block; resumable after more gas is given.
    OutOfGas,
    /// An access to an inaccessible page (page-aligned address); resumable after mapping it.
    PageFault(u32),
    /// `ecalli` with this id; resumable, continuing after the `ecalli`.
    HostCall(u32),
}

impl ExitReason {
    /// Whether running again can make progress.
    pub fn is_final(self) -> bool {
        matches!(self, ExitReason::Halt | ExitReason::Panic)
    }
}

/// Where the next `run` continues (shared by both backends, so they resume identically).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Enter at this instruction index, first charging `cost`.
    Charge { index: u32, cost: u64 },
    /// Continue at this index inside an already-paid block.
    Continue { index: u32 },
    /// The pc is not an instruction: executing it traps after charging `cost`.
    Invalid { cost: u64 },
    /// The machine has stopped for good.
    Finished(ExitReason),
}

impl Resume {
    /// A fresh entry at `pc`: charge the whole block containing it, or trap if `pc` is not an
    /// instruction.
    pub(crate) fn entering(program: &Program, pc: u32) -> Self {
        match program.entry_point(pc) {
            Some(e) => Resume::Charge {
                index: e.index,
                cost: e.block_cost,
            },
            None => Resume::Invalid {
                cost: program.invalid_entry_cost(),
            },
        }
    }

    /// Pays for starting a run from here with `gas`: `Ok(index)` to execute from, or the exit
    /// to report at once. Out of gas changes nothing (the next run tries again); an invalid
    /// entry traps after paying and leaves the machine finished.
    pub(crate) fn begin(&mut self, gas: &mut i64) -> Result<u32, ExitReason> {
        match *self {
            Resume::Finished(exit) => Err(exit),
            Resume::Continue { index } => Ok(index),
            Resume::Charge { index, cost } => {
                if *gas < cost as i64 {
                    return Err(ExitReason::OutOfGas);
                }
                *gas -= cost as i64;
                Ok(index)
            }
            Resume::Invalid { cost } => {
                if cost > 0 && *gas < cost as i64 {
                    return Err(ExitReason::OutOfGas);
                }
                *gas -= cost as i64;
                *self = Resume::Finished(ExitReason::Panic);
                Err(ExitReason::Panic)
            }
        }
    }
}

/// One running PVM: registers, gas, memory and position in a shared program.
pub struct Instance {
    program: Arc<Program>,
    regs: [u64; 16],
    gas: i64,
    memory: Memory,
    pc: u32,
    resume: Resume,
    heap_start: u32,
    /// Whether `sbrk` may grow memory; when not, it panics (the kernel's child VMs get memory
    /// only through DATA caps).
    sbrk_allowed: bool,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("pc", &self.pc)
            .field("gas", &self.gas)
            .field("regs", &self.regs())
            .finish()
    }
}

impl Instance {
    /// A new instance at pc 0 with zero registers, zero gas and no accessible memory.
    pub fn new(program: Arc<Program>) -> Result<Self, MemoryError> {
        let mut instance = Self {
            program,
            regs: [0; 16],
            gas: 0,
            memory: Memory::new()?,
            pc: 0,
            resume: Resume::Finished(ExitReason::Panic),
            heap_start: 0,
            sbrk_allowed: true,
        };
        instance.set_pc(0);
        Ok(instance)
    }

    /// The program being run.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Enters execution at `pc`: the next `run` charges the whole block containing it.
    pub fn set_pc(&mut self, pc: u32) {
        self.pc = pc;
        self.resume = Resume::entering(&self.program, pc);
    }

    /// The pc at the last exit (or as set): the halting jump, the trapping or faulting
    /// instruction, the `ecalli`, or the block that could not be paid for.
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// The 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        let mut out = [0; 13];
        out.copy_from_slice(&self.regs[..13]);
        out
    }

    /// One register. Panics if `index` ≥ 13.
    pub fn reg(&self, index: usize) -> u64 {
        self.regs[..13][index]
    }

    /// Sets one register. Panics if `index` ≥ 13.
    pub fn set_reg(&mut self, index: usize, value: u64) {
        self.regs[..13][index] = value;
    }

    /// Sets all 13 registers.
    pub fn set_regs(&mut self, regs: [u64; 13]) {
        self.regs[..13].copy_from_slice(&regs);
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        self.gas
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        self.gas = gas;
    }

    /// Guest memory.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Guest memory, for host functions and setup.
    pub fn memory_mut(&mut self) -> &mut Memory {
        &mut self.memory
    }

    /// The heap start used by `sbrk` (set by the standard program initialisation).
    pub fn set_heap_start(&mut self, addr: u32) {
        self.heap_start = addr;
    }

    /// The 13 registers in place.
    #[inline]
    pub(crate) fn regs_mut(&mut self) -> &mut [u64; 13] {
        (&mut self.regs[..13]).try_into().expect("16 ≥ 13")
    }

    /// Makes `sbrk` panic instead of growing memory.
    pub(crate) fn forbid_sbrk(&mut self) {
        self.sbrk_allowed = false;
    }

    /// The heap start used by `sbrk`.
    pub(crate) fn heap_start(&self) -> u32 {
        self.heap_start
    }

    /// Runs until an exit.
    pub fn run(&mut self) -> ExitReason {
        self.run_loop::<false, false>(&mut |_, _| {})
            .expect("only single steps stop without an exit")
    }

    /// Runs until an exit, calling `trace(instruction index, gas left)` before every instruction.
    pub fn run_traced(&mut self, trace: &mut dyn FnMut(u32, i64)) -> ExitReason {
        self.run_loop::<true, false>(trace)
            .expect("only single steps stop without an exit")
    }

    /// Executes the single instruction at `index` inside an already-paid block: `None` when it
    /// completed (the next `run` continues after it), else its exit. The recompiler hands the
    /// instructions it does not execute natively (faulting accesses, `sbrk`) to this.
    pub(crate) fn step_at(&mut self, index: u32) -> Option<ExitReason> {
        self.resume = Resume::Continue { index };
        self.run_loop::<false, true>(&mut |_, _| {})
    }

    /// Where the next `run` continues, with the pc reported until then.
    pub(crate) fn position(&self) -> (u32, Resume) {
        (self.pc, self.resume)
    }

    /// Sets where the next `run` continues (the recompiler hands a run over with this).
    pub(crate) fn set_position(&mut self, pc: u32, resume: Resume) {
        self.pc = pc;
        self.resume = resume;
    }

    fn finish(&mut self, exit: ExitReason, pc: u32, resume: Resume) -> ExitReason {
        self.pc = pc;
        self.resume = resume;
        exit
    }
}
