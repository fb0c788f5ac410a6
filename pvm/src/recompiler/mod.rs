//! The x86-64 recompiler (issue 3, in progress).
//!
//! What exists: single-pass code generation for control flow, gas, host calls and the ALU
//! instructions listed in `codegen.rs`, with results and gas identical to the interpreter (tested
//! differentially). Programs using anything else (memory access, division, shifts by register,
//! bit counting, `sbrk`) are rejected at compile time with [`CompileError::Unsupported`].
//! See `docs/recompiler.md` for the design and what remains.

mod codegen;
mod context;

use std::sync::Arc;

use context::{exit, VmContext};
use dynasmrt::{AssemblyOffset, ExecutableBuffer};

use crate::interpreter::{ExitReason, Resume};
use crate::program::Program;

/// Why a program could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The program uses something this build's recompiler does not handle yet.
    #[error("the recompiler does not support {0} yet")]
    Unsupported(String),
    /// The host could not provide executable memory.
    #[error("cannot allocate executable memory: {0}")]
    Host(String),
}

/// Machine code for one program, shared by every instance of it.
pub struct CompiledProgram {
    program: Arc<Program>,
    buffer: ExecutableBuffer,
    entry: AssemblyOffset,
    inst_offsets: Vec<AssemblyOffset>,
    jump_table: Vec<u32>,
}

impl std::fmt::Debug for CompiledProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledProgram")
            .field("code_bytes", &self.buffer.len())
            .finish()
    }
}

impl CompiledProgram {
    /// Compiles `program`.
    pub fn compile(program: Arc<Program>) -> Result<Arc<Self>, CompileError> {
        let generated = codegen::generate(&program)?;
        Ok(Arc::new(Self {
            program,
            buffer: generated.buffer,
            entry: generated.entry,
            inst_offsets: generated.inst_offsets,
            jump_table: generated.jump_table,
        }))
    }

    /// The decoded program.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Bytes of machine code.
    pub fn code_len(&self) -> usize {
        self.buffer.len()
    }
}

/// A running instance of compiled code: registers and gas in a context block.
#[derive(Debug)]
pub struct RecompiledInstance {
    compiled: Arc<CompiledProgram>,
    ctx: Box<VmContext>,
    pc: u32,
    resume: Resume,
}

impl RecompiledInstance {
    /// A new instance at pc 0 with zero registers and gas.
    pub fn new(compiled: Arc<CompiledProgram>) -> Self {
        let mut instance = Self {
            compiled,
            ctx: Box::default(),
            pc: 0,
            resume: Resume::Finished(ExitReason::Panic),
        };
        instance.set_pc(0);
        instance
    }

    /// Enters at `pc`; the next `run` charges the whole block containing it.
    pub fn set_pc(&mut self, pc: u32) {
        let program = &self.compiled.program;
        self.pc = pc;
        self.resume = match program.entry_point(pc) {
            Some(e) => Resume::Charge {
                index: e.index,
                cost: e.block_cost,
            },
            None => Resume::Invalid {
                cost: program.invalid_entry_cost(),
            },
        };
    }

    /// pc at the last exit (see [`crate::Instance::pc`]).
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// The 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        self.ctx.regs
    }

    /// Sets the 13 registers.
    pub fn set_regs(&mut self, regs: [u64; 13]) {
        self.ctx.regs = regs;
    }

    /// Sets one register. Panics if `index` ≥ 13.
    pub fn set_reg(&mut self, index: usize, value: u64) {
        self.ctx.regs[index] = value;
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        self.ctx.gas
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        self.ctx.gas = gas;
    }

    fn pc_of(&self, index: u32) -> u32 {
        self.compiled.program.insts()[index as usize].pc
    }

    fn stop(&mut self, exit: ExitReason, index: u32, resume: Resume) -> ExitReason {
        self.pc = self.pc_of(index);
        self.resume = resume;
        exit
    }

    /// Charges the block at `index` and continues there, or stops out of gas.
    fn charge(&mut self, index: u32, cost: u64) -> Option<ExitReason> {
        if self.ctx.gas < cost as i64 {
            return Some(self.stop(ExitReason::OutOfGas, index, Resume::Charge { index, cost }));
        }
        self.ctx.gas -= cost as i64;
        None
    }

    /// Runs until an exit, with the same results and gas as the interpreter.
    pub fn run(&mut self) -> ExitReason {
        let index = match self.resume {
            Resume::Finished(exit) => return exit,
            Resume::Continue { index } => index,
            Resume::Charge { index, cost } => {
                if let Some(exit) = self.charge(index, cost) {
                    return exit;
                }
                index
            }
            Resume::Invalid { cost } => {
                if cost > 0 && self.ctx.gas < cost as i64 {
                    return ExitReason::OutOfGas;
                }
                self.ctx.gas -= cost as i64;
                self.resume = Resume::Finished(ExitReason::Panic);
                return ExitReason::Panic;
            }
        };
        self.enter(index);
        let at = self.ctx.exit_index;
        let (exit, resume) = match self.ctx.exit {
            exit::PANIC => (ExitReason::Panic, Resume::Finished(ExitReason::Panic)),
            exit::OUT_OF_GAS => {
                let cost = self.compiled.program.block_cost_at(at);
                (ExitReason::OutOfGas, Resume::Charge { index: at, cost })
            }
            exit::HOST_CALL => (
                ExitReason::HostCall(self.ctx.arg as u32),
                Resume::Continue { index: at + 1 },
            ),
            exit::HALT => (ExitReason::Halt, Resume::Finished(ExitReason::Halt)),
            other => unreachable!("generated code wrote exit code {other}"),
        };
        self.stop(exit, at, resume)
    }

    /// Runs generated code from instruction `index` (its gas already paid) until it exits.
    fn enter(&mut self, index: u32) {
        let compiled = &self.compiled;
        self.ctx.jump_table = compiled.jump_table.as_ptr();
        self.ctx.jump_table_len = compiled.jump_table.len() as u64;
        self.ctx.code_base = compiled.buffer.ptr(AssemblyOffset(0)) as u64;
        let entry = compiled.buffer.ptr(compiled.entry);
        let target = compiled.buffer.ptr(compiled.inst_offsets[index as usize]);
        // SAFETY: `entry` is the trampoline generated by `codegen::generate` with this exact
        // signature; `target` is an instruction label of the same buffer; the context outlives
        // the call and is only accessed by the generated code during it.
        unsafe {
            let entry: extern "sysv64" fn(*mut VmContext, *const u8) = std::mem::transmute(entry);
            entry(&mut *self.ctx, target);
        }
    }
}
