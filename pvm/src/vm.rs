//! One API over both backends: choose a [`Backend`], prepare a program once as [`Code`]
//! (decoded, and compiled when the recompiler runs it), then create any number of [`Vm`]s from
//! it. Both backends give identical results and gas, so the choice only changes speed.

use std::sync::Arc;

use crate::interpreter::{ExitReason, Instance, Resume};
use crate::memory::{Memory, MemoryError};
use crate::program::Program;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
use crate::recompiler::{CompiledProgram, RecompiledInstance};

/// Which engine runs guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// The reference interpreter (every target).
    Interpreter,
    /// The x86-64 recompiler; on other targets the interpreter runs instead.
    Recompiler,
    /// The recompiler where this build has it and it accepts the program, else the interpreter.
    #[default]
    Auto,
}

impl Backend {
    /// Whether this build has the recompiler.
    pub const RECOMPILER_AVAILABLE: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

    /// The concrete backends this build has (the interpreter first): what tests and
    /// differential checks run on.
    pub fn available() -> &'static [Backend] {
        if Self::RECOMPILER_AVAILABLE {
            &[Backend::Interpreter, Backend::Recompiler]
        } else {
            &[Backend::Interpreter]
        }
    }

    /// The name used on command lines and in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Interpreter => "interpreter",
            Backend::Recompiler => "recompiler",
            Backend::Auto => "auto",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interpreter" => Ok(Backend::Interpreter),
            "recompiler" => Ok(Backend::Recompiler),
            "auto" => Ok(Backend::Auto),
            other => Err(format!(
                "unknown backend `{other}` (expected interpreter, recompiler or auto)"
            )),
        }
    }
}

/// Why a program could not be prepared for the requested backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// The recompiler was asked for explicitly and could not compile the program.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[error(transparent)]
    Compile(#[from] crate::recompiler::CompileError),
}

/// A program ready to run on one backend, shared (cheaply cloned) by all its instances.
#[derive(Debug, Clone)]
pub enum Code {
    /// Run by the interpreter.
    Interpreted(Arc<Program>),
    /// Compiled to native code.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Compiled(Arc<CompiledProgram>),
}

impl Code {
    /// Prepares `program` for `backend`. `Auto` falls back to the interpreter when compiling
    /// fails; an explicit `Recompiler` reports the failure. On targets without the recompiler
    /// both run the interpreter.
    pub fn prepare(program: Arc<Program>, backend: Backend) -> Result<Self, PrepareError> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        match backend {
            Backend::Interpreter => {}
            Backend::Recompiler => return Ok(Code::Compiled(CompiledProgram::compile(program)?)),
            Backend::Auto => {
                if let Ok(compiled) = CompiledProgram::compile(program.clone()) {
                    return Ok(Code::Compiled(compiled));
                }
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        let _ = backend;
        Ok(Code::Interpreted(program))
    }

    /// The backend that runs this code (never `Auto`).
    pub fn backend(&self) -> Backend {
        match self {
            Code::Interpreted(_) => Backend::Interpreter,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Code::Compiled(_) => Backend::Recompiler,
        }
    }

    /// The decoded program.
    pub fn program(&self) -> &Arc<Program> {
        match self {
            Code::Interpreted(p) => p,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Code::Compiled(c) => c.program(),
        }
    }

    /// A new instance at pc 0 with zero registers and gas and no accessible memory.
    pub fn instantiate(&self) -> Result<Vm, MemoryError> {
        Ok(match self {
            Code::Interpreted(p) => Vm::Interpreter(Instance::new(p.clone())?),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Code::Compiled(c) => Vm::Recompiler(RecompiledInstance::new(c.clone())?),
        })
    }
}

/// A VM's execution state apart from its memory: what the kernel keeps for a VM while another
/// one uses the same instance (a register swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parked {
    /// The 13 registers.
    pub regs: [u64; 13],
    /// Remaining gas.
    pub gas: i64,
    /// The pc reported until the next run.
    pub pc: u32,
    /// Where the next run continues.
    pub resume: Resume,
    /// The heap start used by `sbrk`.
    pub heap_start: u32,
}

impl Parked {
    /// A VM that has not run: zero registers and gas, entering at `pc` of `program`.
    pub(crate) fn entering(program: &Program, pc: u32) -> Self {
        Self {
            regs: [0; 13],
            gas: 0,
            pc,
            resume: Resume::entering(program, pc),
            heap_start: 0,
        }
    }
}

/// One running PVM on either backend.
#[derive(Debug)]
pub enum Vm {
    /// On the interpreter.
    Interpreter(Instance),
    /// On generated code.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Recompiler(RecompiledInstance),
}

/// Forwards a method to whichever instance this is.
macro_rules! each {
    ($self:ident, $vm:ident => $e:expr) => {
        match $self {
            Vm::Interpreter($vm) => $e,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Vm::Recompiler($vm) => $e,
        }
    };
}

impl Vm {
    /// The backend running this instance.
    pub fn backend(&self) -> Backend {
        match self {
            Vm::Interpreter(_) => Backend::Interpreter,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Vm::Recompiler(_) => Backend::Recompiler,
        }
    }

    /// The program being run.
    pub fn program(&self) -> &Arc<Program> {
        match self {
            Vm::Interpreter(vm) => vm.program(),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Vm::Recompiler(vm) => vm.compiled().program(),
        }
    }

    /// Runs until an exit (see [`ExitReason`]); resumable exits continue on the next call.
    pub fn run(&mut self) -> ExitReason {
        each!(self, vm => vm.run())
    }

    /// Enters at `pc`: the next `run` charges the block containing it.
    pub fn set_pc(&mut self, pc: u32) {
        each!(self, vm => vm.set_pc(pc))
    }

    /// The pc at the last exit (or as set).
    pub fn pc(&self) -> u32 {
        each!(self, vm => vm.pc())
    }

    /// The 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        each!(self, vm => vm.regs())
    }

    /// One register. Panics if `index` ≥ 13.
    pub fn reg(&self, index: usize) -> u64 {
        each!(self, vm => vm.reg(index))
    }

    /// Sets all 13 registers.
    pub fn set_regs(&mut self, regs: [u64; 13]) {
        each!(self, vm => vm.set_regs(regs))
    }

    /// Sets one register. Panics if `index` ≥ 13.
    pub fn set_reg(&mut self, index: usize, value: u64) {
        each!(self, vm => vm.set_reg(index, value))
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        each!(self, vm => vm.gas())
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        each!(self, vm => vm.set_gas(gas))
    }

    /// Guest memory.
    pub fn memory(&self) -> &Memory {
        each!(self, vm => vm.memory())
    }

    /// Guest memory, for host functions and setup.
    pub fn memory_mut(&mut self) -> &mut Memory {
        each!(self, vm => vm.memory_mut())
    }

    /// The heap start used by `sbrk`.
    pub fn set_heap_start(&mut self, addr: u32) {
        each!(self, vm => vm.set_heap_start(addr))
    }

    /// The 13 registers in place (the kernel reads and writes a few at a time).
    #[inline]
    pub(crate) fn regs_mut(&mut self) -> &mut [u64; 13] {
        each!(self, vm => vm.regs_mut())
    }

    /// Makes `sbrk` panic instead of growing memory (the kernel's child VMs).
    pub(crate) fn forbid_sbrk(&mut self) {
        each!(self, vm => vm.forbid_sbrk())
    }

    /// The execution state apart from memory.
    pub(crate) fn park(&self) -> Parked {
        let (pc, resume) = each!(self, vm => vm.position());
        Parked {
            regs: self.regs(),
            gas: self.gas(),
            pc,
            resume,
            heap_start: each!(self, vm => vm.heap_start()),
        }
    }

    /// Restores an execution state taken with [`Vm::park`] (from this or another instance of
    /// the same program).
    pub(crate) fn unpark(&mut self, parked: &Parked) {
        self.set_regs(parked.regs);
        self.set_gas(parked.gas);
        self.set_heap_start(parked.heap_start);
        each!(self, vm => vm.set_position(parked.pc, parked.resume));
    }

    /// After a [`ExitReason::HostCall`]: makes the next run execute the `ecalli` again instead
    /// of continuing after it (an operation the caller could not pay for is retried).
    pub(crate) fn rewind_host_call(&mut self) {
        let (pc, resume) = each!(self, vm => vm.position());
        if let Resume::Continue { index } = resume {
            each!(self, vm => vm.set_position(pc, Resume::Continue { index: index - 1 }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_and_code_can_move_between_threads() {
        fn send<T: Send>() {}
        fn share<T: Send + Sync>() {}
        send::<Vm>();
        share::<Code>();
    }
}
