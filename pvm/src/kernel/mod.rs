//! The capability kernel: many VMs per invocation, created from shared CODE caps, calling each
//! other synchronously, with memory and authority passed as capabilities. The ABI is
//! `docs/kernel.md`; [`abi`] holds its numbers.
//!
//! - [`caps`]: capabilities and the sparse per-VM table;
//! - [`vms`]: VM records in a generational arena;
//! - [`store`]: the invocation's page store behind DATA caps;
//! - `executors.rs`: backend instances: a VM that owns memory has its own; the others share
//!   one per program, and switching between those is a register swap;
//! - `ops.rs`: CALL, REPLY and the kernel operations.
//!
//! The kernel runs the VM on top of its call stack until it exits; host calls to PROTOCOL caps
//! and the root's own exits go to the embedder ([`KernelExit`]), everything else is handled here.

pub mod abi;
pub(crate) mod caps;
mod executors;
mod invariants;
mod ops;
pub(crate) mod store;
pub mod vms;

use std::sync::Arc;

use crate::host_calls::HostCall;
use crate::interpreter::ExitReason;
use crate::memory::{Memory, MemoryError};
use crate::standard::{StandardError, StandardProgram};
use crate::vm::{Backend, Code, PrepareError, Vm};
use crate::Profile;
use caps::{Cap, CapTable};
use executors::Executors;
use store::PageStore;
pub use vms::VmId;
use vms::{VmArena, VmRecord, VmStatus};

/// Host memory one occupied cap-table slot takes.
pub fn cap_entry_bytes() -> usize {
    caps::CapTable::ENTRY_BYTES
}

/// Why the kernel handed control back to the embedder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelExit {
    /// The root VM halted; its output is root memory `[φ7, φ7 + φ8)` if readable, else empty.
    /// Final.
    Halt(Vec<u8>),
    /// The root VM panicked. Final.
    Panic,
    /// The root VM ran out of gas; `run` again after adding gas retries.
    OutOfGas,
    /// The root VM touched an inaccessible page (page address); `run` again retries.
    PageFault(u32),
    /// The active VM invoked a PROTOCOL cap with this host-function id: the embedder handles
    /// it through the accessors, then `run` continues after the `ecalli`.
    HostCall(u32),
    /// The host could not provide resources (address space, file descriptors) for a VM: the
    /// invocation cannot continue. Final.
    HostFailure(String),
}

/// Why an invocation could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The program or its arguments do not fit the standard layout.
    #[error(transparent)]
    Standard(#[from] StandardError),
    /// The code does not decode.
    #[error(transparent)]
    Load(#[from] crate::program::LoadError),
    /// The requested backend cannot run the code.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Guest memory could not be reserved.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

/// Settings of an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelConfig {
    /// Pages of the backing store RETYPE may hand out.
    pub page_budget: u32,
    /// VMs that may own an address space at once, the root included (each costs a file
    /// descriptor and some 12 GiB of reserved address space).
    pub max_address_spaces: usize,
    /// Bytes of code blobs COMPILE may take in one invocation, all programs together.
    pub max_compiled_bytes: u64,
    /// Longest output the root's halt returns; a longer `[φ7, φ7 + φ8)` gives an empty output
    /// (the embedder can tell from `φ8`).
    pub max_output_bytes: u64,
}

impl Default for KernelConfig {
    fn default() -> Self {
        Self {
            page_budget: abi::DEFAULT_PAGE_BUDGET,
            max_address_spaces: abi::DEFAULT_MAX_ADDRESS_SPACES,
            max_compiled_bytes: abi::DEFAULT_MAX_COMPILED_BYTES,
            max_output_bytes: u64::from(u32::MAX),
        }
    }
}

/// One invocation: the VMs, their programs and caps, the call stack and the page store.
pub struct Kernel {
    profile: Profile,
    backend: Backend,
    executors: Executors,
    vms: VmArena,
    /// The root at the bottom, the running VM on top.
    stack: Vec<VmId>,
    store: PageStore,
    /// The root's final exit, once it has one.
    finished: Option<KernelExit>,
    /// The page budget the invocation started with.
    initial_budget: u32,
    /// The limits of the invocation.
    config: KernelConfig,
    /// VMs with an instance (and address space) of their own.
    address_spaces: usize,
    /// Blob bytes COMPILE has taken so far.
    compiled_bytes: u64,
    /// How the embedder ended the current host call instead of returning from it: out of
    /// gas or a panic.
    pending_stop: Option<ExitReason>,
    /// Told of every instruction VMs running the root's program execute on the interpreter.
    tracer: Option<Tracer>,
}

/// Called with (instruction index, gas left) before each traced instruction.
pub type Tracer = Box<dyn FnMut(u32, i64) + Send>;

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("backend", &self.backend)
            .field("vms", &self.vms.live())
            .field("depth", &self.stack.len())
            .finish()
    }
}

/// What handling one exit of the running VM leads to.
enum Flow {
    /// Run the (possibly new) top of the stack.
    Continue,
    /// Return to the embedder.
    Exit(KernelExit),
}

impl Kernel {
    /// An invocation of `program` (a GP standard program) with `args` and `gas`, run by
    /// `backend`, with the default [`KernelConfig`].
    pub fn new(
        program: &StandardProgram,
        args: &[u8],
        gas: i64,
        profile: Profile,
        backend: Backend,
    ) -> Result<Self, KernelError> {
        Self::with_config(
            program,
            args,
            gas,
            profile,
            backend,
            KernelConfig::default(),
        )
    }

    /// As [`Kernel::new`], with explicit settings.
    pub fn with_config(
        program: &StandardProgram,
        args: &[u8],
        gas: i64,
        profile: Profile,
        backend: Backend,
        config: KernelConfig,
    ) -> Result<Self, KernelError> {
        let code = Code::prepare(Arc::new(program.decode(profile)?), backend)?;
        Self::from_code(program, code, args, 0, gas, config)
    }

    /// An invocation of `program` whose code is already prepared (`code`, from a cache of
    /// compiled programs, say; it must be `program`'s code), entering at `pc` with `args` and
    /// `gas`. The profile is the one the code was decoded for.
    pub fn from_code(
        program: &StandardProgram,
        code: Code,
        args: &[u8],
        pc: u32,
        gas: i64,
        config: KernelConfig,
    ) -> Result<Self, KernelError> {
        let profile = code.program().profile();
        let root_vm = program.instantiate(&code, args, pc, gas)?;
        let mut caps = CapTable::default();
        for call in HostCall::ALL {
            if let Some(id) = call.id(profile.host_calls).filter(|&id| id < 256) {
                let _ = caps.insert(id as u8, Cap::Protocol(id));
            }
        }
        let _ = caps.insert(abi::ROOT_UNTYPED_SLOT, Cap::Untyped);
        let _ = caps.insert(abi::ROOT_CODE_SLOT, Cap::Code(0));
        let mut vms = VmArena::default();
        let root = vms.insert(VmRecord {
            code: 0,
            parked: root_vm.park(),
            status: VmStatus::Running,
            caps,
            instance: Some(Box::new(root_vm)),
            callable_epoch: 0,
            parent: None,
        });
        let mut executors = Executors::default();
        executors.add_code(code);
        Ok(Self {
            profile,
            backend: code_backend(&executors),
            executors,
            vms,
            stack: vec![root],
            store: PageStore::new(config.page_budget)?,
            finished: None,
            initial_budget: config.page_budget.min(store::STORE_PAGES),
            config,
            address_spaces: 1,
            compiled_bytes: 0,
            pending_stop: None,
            tracer: None,
        })
    }

    /// Traces the root's program: `tracer` sees each instruction a VM running it executes on
    /// the interpreter (an invocation made with `Backend::Interpreter` traces them all).
    pub fn set_tracer(&mut self, tracer: Tracer) {
        self.tracer = Some(tracer);
    }

    /// Runs until the embedder is needed (see [`KernelExit`]).
    pub fn run(&mut self) -> KernelExit {
        if let Some(done) = &self.finished {
            return done.clone();
        }
        loop {
            if let Some(stop) = self.pending_stop.take() {
                self.active_vm().rewind_host_call();
                match self.stopped(stop) {
                    Flow::Continue => continue,
                    Flow::Exit(exit) => return exit,
                }
            }
            let active = self.active();
            let runs_root_program = self.tracer.is_some()
                && self.vms.get(active).is_some_and(|record| record.code == 0);
            let (vm, shared) = self.executors.vm_and_kind(&mut self.vms, active);
            let mut exit = match (&mut self.tracer, &mut *vm) {
                (Some(tracer), Vm::Interpreter(instance)) if runs_root_program => {
                    instance.run_traced(&mut **tracer)
                }
                (_, vm) => vm.run(),
            };
            if shared && !vm.memory().is_pristine() {
                // The embedder gave it pages (children cannot `sbrk`): the address space (and
                // instance) is its own from now on, if the invocation may have another; else
                // the VM panics.
                if self.address_spaces < self.config.max_address_spaces {
                    self.executors.adopt(&mut self.vms, active);
                    self.address_spaces += 1;
                } else {
                    let parked = vm.park();
                    let record = self.vms.at(active);
                    record.parked = parked;
                    let code = record.code;
                    self.executors.discard_shared(code);
                    exit = ExitReason::Panic;
                }
            }
            let flow = match exit {
                ExitReason::HostCall(id) => self.host_call(id),
                other => self.stopped(other),
            };
            match flow {
                Flow::Continue => {}
                Flow::Exit(exit) => {
                    if matches!(
                        exit,
                        KernelExit::Halt(_) | KernelExit::Panic | KernelExit::HostFailure(_)
                    ) {
                        self.finished = Some(exit.clone());
                    }
                    if matches!(exit, KernelExit::HostFailure(_)) {
                        // The invocation is over; the accessors show the root.
                        self.stack.truncate(1);
                    }
                    return exit;
                }
            }
        }
    }

    /// The VM running now (the embedder's host calls act on it).
    pub fn active(&self) -> VmId {
        *self.stack.last().expect("the root is always on the stack")
    }

    /// Number of VMs that exist.
    pub fn vm_count(&self) -> usize {
        self.vms.live()
    }

    /// Depth of the call stack (1: only the root).
    pub fn call_depth(&self) -> usize {
        self.stack.len()
    }

    /// The backend running the VMs (never `Auto`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The profile of the invocation.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Pages the invocation's budget still allows.
    pub fn page_budget_left(&self) -> u32 {
        self.store.budget()
    }

    #[inline]
    fn active_vm(&mut self) -> &mut Vm {
        let active = self.active();
        self.executors.vm(&mut self.vms, active)
    }

    fn active_vm_ref(&self) -> &Vm {
        self.executors
            .vm_ref(&self.vms, self.active())
            .expect("the running VM is in an instance")
    }

    /// The active VM's registers.
    pub fn regs(&self) -> [u64; 13] {
        self.active_vm_ref().regs()
    }

    /// One register of the active VM. Panics if `index` ≥ 13.
    pub fn reg(&self, index: usize) -> u64 {
        self.active_vm_ref().reg(index)
    }

    /// Sets one register of the active VM. Panics if `index` ≥ 13.
    pub fn set_reg(&mut self, index: usize, value: u64) {
        self.active_vm().set_reg(index, value);
    }

    /// The active VM's remaining gas.
    pub fn gas(&self) -> i64 {
        self.active_vm_ref().gas()
    }

    /// Sets the active VM's remaining gas (host functions charge through this).
    pub fn set_gas(&mut self, gas: i64) {
        self.active_vm().set_gas(gas);
    }

    /// Gas left in the whole invocation: the active VM's and that of every VM waiting below it.
    /// CALL, REPLY and a callee's exits conserve it.
    pub fn total_gas(&self) -> i64 {
        self.stack.iter().map(|&id| self.gas_of(id)).sum()
    }

    /// The active VM's pc (the `ecalli` during a host call).
    pub fn pc(&self) -> u32 {
        self.active_vm_ref().pc()
    }

    /// The active VM's memory.
    pub fn memory(&self) -> &Memory {
        self.active_vm_ref().memory()
    }

    /// The active VM's memory, for host functions. (A VM without memory of its own has no
    /// accessible page; should the embedder give it some, the VM gets an address space of its
    /// own when it next stops, within the invocation's limit, or panics.)
    pub fn memory_mut(&mut self) -> &mut Memory {
        self.active_vm().memory_mut()
    }

    /// During a host call: the host function cannot be paid for (GP's `ϱ < g → ∞`). The active
    /// VM stops out of gas at its `ecalli` (the root's `run` returns `OutOfGas`, a child's
    /// caller gets `OOG`); running it again with more gas retries the host call.
    pub fn host_call_out_of_gas(&mut self) {
        self.pending_stop = Some(ExitReason::OutOfGas);
    }

    /// During a host call: the host function panics the VM (GP's `☇`, a guest pointer it
    /// cannot use, say). The active VM stops with a panic at its `ecalli` (the root's `run`
    /// returns `Panic`, a child's caller gets `PANIC`).
    pub fn host_call_panic(&mut self) {
        self.pending_stop = Some(ExitReason::Panic);
    }

    /// The gas of VM `id`, wherever its state is.
    fn gas_of(&self, id: VmId) -> i64 {
        match self.executors.vm_ref(&self.vms, id) {
            Some(vm) => vm.gas(),
            None => self.vms.get(id).map_or(0, |r| r.parked.gas),
        }
    }

    /// Host memory one idle VM record takes, not counting its cap entries.
    pub fn bytes_per_vm() -> usize {
        VmArena::BYTES_PER_VM
    }

    /// The root's output after a halt: `[φ7, φ7 + φ8)` if readable, else empty.
    fn root_output(&mut self) -> Vec<u8> {
        let max = self.config.max_output_bytes;
        let vm = self.active_vm();
        let (addr, len) = (vm.reg(7), vm.reg(8));
        let readable =
            u32::try_from(addr).is_ok() && len <= max && vm.memory().is_readable(addr as u32, len);
        if !readable {
            return Vec::new();
        }
        let mut out = vec![0; len as usize];
        vm.memory().host_read(addr as u32, &mut out);
        out
    }

    /// A non-host-call exit of the running VM: the root's go to the embedder, a callee's to
    /// its caller as a status.
    fn stopped(&mut self, exit: ExitReason) -> Flow {
        if self.stack.len() == 1 {
            return Flow::Exit(match exit {
                ExitReason::Halt => KernelExit::Halt(self.root_output()),
                ExitReason::Panic => KernelExit::Panic,
                ExitReason::OutOfGas => KernelExit::OutOfGas,
                ExitReason::PageFault(address) => KernelExit::PageFault(address),
                ExitReason::HostCall(id) => KernelExit::HostCall(id),
            });
        }
        let (status, results, after) = match exit {
            ExitReason::Halt => {
                let regs = self.active_vm().regs_mut();
                let results = [regs[7], regs[8], regs[9], regs[10]];
                (abi::status::HALT, Some(results), VmStatus::Finished)
            }
            ExitReason::Panic => (abi::status::PANIC, None, VmStatus::Finished),
            ExitReason::OutOfGas => (abi::status::OOG, None, VmStatus::Stopped),
            ExitReason::PageFault(address) => (
                abi::status::FAULT,
                Some([u64::from(address), 0, 0, 0]),
                VmStatus::Stopped,
            ),
            ExitReason::HostCall(_) => unreachable!("host calls are handled before"),
        };
        let fault_only = matches!(exit, ExitReason::PageFault(_));
        self.return_to_caller(status, results, fault_only, after)
    }

    /// Pops the running callee, gives its unused gas back to its caller and resumes the caller
    /// with `status` in `φ7` and `results` in `φ8..φ11` (only `φ8` when `only_first`).
    fn return_to_caller(
        &mut self,
        status: u64,
        results: Option<[u64; 4]>,
        only_first: bool,
        callee_after: VmStatus,
    ) -> Flow {
        let callee = self.stack.pop().expect("a callee is running");
        // Negative if a host function overdrew it: the caller pays, so gas is conserved.
        let unused = self.gas_of(callee);
        match self.executors.holds(&self.vms, callee) {
            true => self.executors.vm(&mut self.vms, callee).set_gas(0),
            // Its instance was discarded (see `run`): its state is parked.
            false => self.vms.at(callee).parked.gas = 0,
        }
        self.vms.at(callee).status = callee_after;
        let caller = self.active();
        if let Err(e) = self.executors.load(&mut self.vms, caller) {
            return host_failure(e);
        }
        self.vms.at(caller).status = VmStatus::Running;
        let vm = self.executors.vm(&mut self.vms, caller);
        vm.set_gas(vm.gas().saturating_add(unused));
        let regs = vm.regs_mut();
        regs[7] = status;
        if let Some(results) = results {
            let count = if only_first { 1 } else { 4 };
            regs[8..8 + count].copy_from_slice(&results[..count]);
        }
        Flow::Continue
    }
}

/// The backend the executors run (the root program's, after `Auto` chose).
fn code_backend(executors: &Executors) -> Backend {
    executors.code(0).backend()
}

fn host_failure(e: MemoryError) -> Flow {
    Flow::Exit(KernelExit::HostFailure(e.to_string()))
}
