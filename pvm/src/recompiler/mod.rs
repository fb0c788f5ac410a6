//! The x86-64 recompiler (issue 3, in progress).
//!
//! Single-pass code generation (`codegen.rs`) from a decoded [`Program`], with results and gas
//! identical to the interpreter (tested differentially). Each instance runs on a window of its
//! [`Memory`](crate::Memory) whose page rights do the bounds checks; faulting accesses and `sbrk`
//! are handed back to the interpreter's definition of that one instruction (`signals.rs`,
//! [`RecompiledInstance::run`]). See `docs/recompiler.md` for the design.

mod alu;
mod buffer;
mod codegen;
mod context;
mod cpu;
mod encode;
mod exec;
mod signals;

use std::sync::Arc;

use context::{exit, Trap, VmContext, CONTEXT_BELOW_GUEST};
pub use cpu::CpuFeatures;
use exec::ExecutableCode;

use crate::interpreter::{ExitReason, Instance, Resume};
use crate::memory::{Memory, MemoryError};
use crate::program::Program;

/// Why a program could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The program uses something this build's recompiler does not handle.
    #[error("the recompiler does not support {0}")]
    Unsupported(String),
    /// The host could not provide executable memory or install the fault handler.
    #[error("cannot set up generated code: {0}")]
    Host(String),
}

/// Source of `VmContext::program_id`: unique per compilation, so a context left behind by a freed
/// program is never mistaken for another's, even at the same addresses.
static NEXT_PROGRAM_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Machine code for one program, shared by every instance of it.
pub struct CompiledProgram {
    program: Arc<Program>,
    code: ExecutableCode,
    /// The trampoline.
    entry: *const u8,
    /// Native offset of every instruction (where runs resume).
    inst_offsets: Vec<u32>,
    /// The trap table and native jump table; only read through `template`'s pointers.
    #[allow(dead_code)]
    traps: Vec<Trap>,
    #[allow(dead_code)]
    jump_table: Vec<u32>,
    /// The context's per-program fields, copied into the context at every entry.
    template: VmContext,
}

// SAFETY: a compiled program is immutable after `compile`; its raw pointers point into its own
// buffer and vectors, which live as long as it does.
unsafe impl Send for CompiledProgram {}
// SAFETY: as above; shared use only reads.
unsafe impl Sync for CompiledProgram {}

impl std::fmt::Debug for CompiledProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledProgram")
            .field("code_bytes", &self.code.len())
            .finish()
    }
}

impl CompiledProgram {
    /// Compiles `program` for this CPU.
    pub fn compile(program: Arc<Program>) -> Result<Arc<Self>, CompileError> {
        Self::compile_for(program, CpuFeatures::host())
    }

    /// Compiles `program` using only the extensions in `features` (which this CPU must have).
    pub fn compile_for(
        program: Arc<Program>,
        features: CpuFeatures,
    ) -> Result<Arc<Self>, CompileError> {
        if !features.runs_on(CpuFeatures::host()) {
            return Err(CompileError::Unsupported(format!(
                "{features:?} on a CPU with only {:?}",
                CpuFeatures::host()
            )));
        }
        signals::install().map_err(|e| CompileError::Host(format!("fault handler: {e}")))?;
        let generated = codegen::generate(&program, features)?;
        let code = generated.code;
        let traps = generated.traps;
        let jump_table = generated.jump_table;
        let base = code.base();
        let template = VmContext {
            gas: 0,
            exit: 0,
            exit_index: 0,
            arg: 0,
            regs: std::ptr::null_mut(),
            jump_table: jump_table.as_ptr(),
            jump_table_len: jump_table.len() as u64,
            code_base: base as u64,
            code_len: code.len() as u64,
            trap_table: traps.as_ptr(),
            trap_table_len: traps.len() as u64,
            fault_exit: base as u64 + u64::from(generated.exit),
            program_id: NEXT_PROGRAM_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        Ok(Arc::new(Self {
            program,
            // SAFETY: the trampoline lies inside the code.
            entry: unsafe { base.add(generated.entry as usize) },
            inst_offsets: generated.inst_offsets,
            code,
            traps,
            jump_table,
            template,
        }))
    }

    /// The decoded program.
    pub fn program(&self) -> &Arc<Program> {
        &self.program
    }

    /// Bytes of machine code.
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// The machine code (for disassemblers and persistence).
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }
}

/// A running instance of compiled code.
///
/// Registers live here and are read and written in place by generated code (through the
/// context's `regs` pointer) and by the host between runs.
#[derive(Debug)]
pub struct RecompiledInstance {
    compiled: Arc<CompiledProgram>,
    regs: [u64; 13],
    gas: i64,
    /// `(window epoch, guest base address)` of the window last run on (see
    /// [`Memory::window_epoch`]); an address, not a pointer, so the instance stays `Send`.
    window: (u64, usize),
    /// Memory, heap start, and the interpreter that executes handed-back instructions.
    core: Instance,
    pc: Pc,
    resume: Resume,
}

/// The pc to report: looked up from the instruction index only when asked, which keeps the
/// table walk off the host-call path.
#[derive(Debug, Clone, Copy)]
enum Pc {
    At(u32),
    OfInstruction(u32),
}

impl RecompiledInstance {
    /// A new instance at pc 0 with zero registers and gas and no accessible memory.
    pub fn new(compiled: Arc<CompiledProgram>) -> Result<Self, MemoryError> {
        // The window is set up at the first run, after the embedder has laid out memory, so
        // that a pooled window with the same layout needs no `mprotect`.
        let core = Instance::new(compiled.program.clone())?;
        let mut instance = Self {
            compiled,
            regs: [0; 13],
            gas: 0,
            window: (0, 0),
            core,
            pc: Pc::At(0),
            resume: Resume::Finished(ExitReason::Panic),
        };
        instance.set_pc(0);
        Ok(instance)
    }

    /// The compiled program.
    pub fn compiled(&self) -> &Arc<CompiledProgram> {
        &self.compiled
    }

    /// Enters at `pc`; the next `run` charges the whole block containing it.
    pub fn set_pc(&mut self, pc: u32) {
        let program = &self.compiled.program;
        self.pc = Pc::At(pc);
        self.resume = Resume::entering(program, pc);
    }

    /// pc at the last exit (see [`crate::Instance::pc`]).
    pub fn pc(&self) -> u32 {
        match self.pc {
            Pc::At(pc) => pc,
            Pc::OfInstruction(index) => self.pc_of(index),
        }
    }

    /// The 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        self.regs
    }

    /// One register. Panics if `index` ≥ 13.
    pub fn reg(&self, index: usize) -> u64 {
        self.regs[index]
    }

    /// Sets the 13 registers.
    pub fn set_regs(&mut self, regs: [u64; 13]) {
        self.regs = regs;
    }

    /// Sets one register. Panics if `index` ≥ 13.
    pub fn set_reg(&mut self, index: usize, value: u64) {
        self.regs[index] = value;
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
        self.core.memory()
    }

    /// Guest memory, for host functions and setup.
    pub fn memory_mut(&mut self) -> &mut Memory {
        self.core.memory_mut()
    }

    /// The heap start used by `sbrk`.
    pub fn set_heap_start(&mut self, addr: u32) {
        self.core.set_heap_start(addr);
    }

    /// Where the next `run` continues, with the pc reported until then.
    pub(crate) fn position(&self) -> (u32, Resume) {
        (self.pc(), self.resume)
    }

    /// Sets where the next `run` continues.
    pub(crate) fn set_position(&mut self, pc: u32, resume: Resume) {
        self.pc = Pc::At(pc);
        self.resume = resume;
    }

    /// The 13 registers in place.
    #[inline]
    pub(crate) fn regs_mut(&mut self) -> &mut [u64; 13] {
        &mut self.regs
    }

    /// Makes `sbrk` panic instead of growing memory.
    pub(crate) fn forbid_sbrk(&mut self) {
        self.core.forbid_sbrk();
    }

    /// The heap start used by `sbrk`.
    pub(crate) fn heap_start(&self) -> u32 {
        self.core.heap_start()
    }

    fn pc_of(&self, index: u32) -> u32 {
        self.compiled.program.insts()[index as usize].pc
    }

    fn stop(&mut self, exit: ExitReason, index: u32, resume: Resume) -> ExitReason {
        self.pc = Pc::OfInstruction(index);
        self.resume = resume;
        exit
    }

    /// Runs until an exit, with the same results and gas as the interpreter.
    pub fn run(&mut self) -> ExitReason {
        let index = match self.resume.begin(&mut self.gas) {
            Ok(index) => index,
            Err(exit) => return exit,
        };
        // The host-call round trip is the hot path: kept short, everything else out of line.
        match self.enter(index) {
            Ok((exit::HOST_CALL, at, arg)) => {
                self.pc = Pc::OfInstruction(at);
                self.resume = Resume::Continue { index: at + 1 };
                ExitReason::HostCall(arg as u32)
            }
            Ok((code, at, _)) => self.after_exit(code, at),
            // The host could not set up the window (address space or mappings exhausted):
            // the interpreter runs this stretch instead, with the same results.
            Err(_) => self.run_on_interpreter(index),
        }
    }

    /// Handles an exit other than a host call; after a `STEP` the run goes on.
    #[inline(never)]
    fn after_exit(&mut self, mut code: u32, mut at: u32) -> ExitReason {
        loop {
            let (exit, resume) = match code {
                exit::HOST_CALL => {
                    self.pc = Pc::OfInstruction(at);
                    self.resume = Resume::Continue { index: at + 1 };
                    return ExitReason::HostCall(self.host_call_arg() as u32);
                }
                exit::PANIC => (ExitReason::Panic, Resume::Finished(ExitReason::Panic)),
                exit::OUT_OF_GAS => {
                    // The block check subtracted before branching out: give it back, as the
                    // interpreter leaves gas untouched when a block cannot be paid.
                    let cost = self.compiled.program.block_cost_at(at);
                    // Wrapping, as the check's `sub` did (a host may resume with any gas).
                    self.gas = self.gas.wrapping_add(cost as i64);
                    (ExitReason::OutOfGas, Resume::Charge { index: at, cost })
                }
                exit::HALT => (ExitReason::Halt, Resume::Finished(ExitReason::Halt)),
                exit::STEP => match self.step(at) {
                    None => match self.enter(at + 1) {
                        Ok((next_code, next_at, _)) => {
                            (code, at) = (next_code, next_at);
                            continue;
                        }
                        Err(_) => return self.run_on_interpreter(at + 1),
                    },
                    Some(exit) => return exit,
                },
                other => unreachable!("generated code wrote exit code {other}"),
            };
            return self.stop(exit, at, resume);
        }
    }

    /// The host-call argument of the last exit, from the context.
    fn host_call_arg(&self) -> u64 {
        let guest = self.window.1 as *const u8;
        // SAFETY: the context lies just below guest address 0 of the window last run on, which
        // the instance keeps (see `enter`); generated code has returned.
        unsafe { (*guest.sub(CONTEXT_BELOW_GUEST).cast::<VmContext>()).arg }
    }

    /// Runs from instruction `index` (its block paid) to the next exit on the interpreter.
    fn run_on_interpreter(&mut self, index: u32) -> ExitReason {
        self.core.set_regs(self.regs);
        self.core.set_gas(self.gas);
        self.core
            .set_position(self.pc_of(index), Resume::Continue { index });
        let exit = self.core.run();
        self.regs = self.core.regs();
        self.gas = self.core.gas();
        let (pc, resume) = self.core.position();
        (self.pc, self.resume) = (Pc::At(pc), resume);
        exit
    }

    /// Executes instruction `index` on the interpreter: `None` when it completed, else the exit
    /// (a page fault resumes at the same instruction; a panic is final).
    fn step(&mut self, index: u32) -> Option<ExitReason> {
        self.core.set_regs(self.regs);
        self.core.set_gas(self.gas);
        let result = self.core.step_at(index);
        self.regs = self.core.regs();
        self.gas = self.core.gas();
        let exit = result?;
        let resume = match exit {
            ExitReason::PageFault(_) => Resume::Continue { index },
            other => Resume::Finished(other),
        };
        Some(self.stop(exit, index, resume))
    }

    /// Runs generated code from instruction `index` (its gas already paid) until it exits:
    /// `(exit code, instruction index, argument)`.
    #[inline(always)]
    fn enter(&mut self, index: u32) -> Result<(u32, u32, u64), MemoryError> {
        let guest = if self.window.0 != 0 && self.window.0 == self.core.memory().window_epoch() {
            self.window.1 as *mut u8
        } else {
            let (_, guest) = self.core.memory_mut().window()?;
            self.window = (self.core.memory().window_epoch(), guest as usize);
            guest
        };
        let compiled = &*self.compiled;
        // SAFETY: the context area lies just below guest address 0, inside the window's
        // read-write context page (aligned: page start + 3968), and is only used by this
        // instance while it runs.
        let ctx = unsafe { guest.sub(CONTEXT_BELOW_GUEST) }.cast::<VmContext>();
        let regs = self.regs.as_mut_ptr();
        // SAFETY: as above. The per-program fields are rewritten only when another program or
        // instance (or nobody yet) used this context since.
        unsafe {
            if (*ctx).program_id != compiled.template.program_id || (*ctx).regs != regs {
                let mut context = compiled.template.clone();
                context.regs = regs;
                ctx.write(context);
            }
            // Usually the context still holds the gas of the last exit. Storing it again would
            // put a store-to-load forward (host store, then the first block's `sub [gas]`) on
            // the critical path of every host-call round trip; a predicted branch does not.
            if (*ctx).gas != self.gas {
                (*ctx).gas = self.gas;
            }
            // Every exit path writes this; a stale code would hide one that does not.
            (*ctx).exit = 0;
        }
        let entry = compiled.entry;
        let code_base = compiled.template.code_base as *const u8;
        // SAFETY: instruction offsets lie inside the buffer.
        let target = unsafe { code_base.add(compiled.inst_offsets[index as usize] as usize) };
        {
            let _run = signals::enter_run(ctx);
            // SAFETY: `entry` is the trampoline generated by `codegen::generate` with this exact
            // signature; `target` is an instruction label of the same buffer; the window, the
            // context, the registers and the tables outlive the call; the fault handler is
            // installed (`compile`) and knows this run through `enter_run`.
            unsafe {
                let entry: extern "sysv64" fn(*mut u8, *const u8) = std::mem::transmute(entry);
                entry(guest, target);
            }
        }
        // SAFETY: the generated code has returned; the context is ours again.
        let out = unsafe { &*ctx };
        self.gas = out.gas;
        Ok((out.exit, out.exit_index, out.arg))
    }
}
