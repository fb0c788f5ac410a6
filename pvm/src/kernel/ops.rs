//! CALL, REPLY and the kernel operations of `docs/kernel.md` §2–§3, acting on the running VM.

use std::collections::HashSet;
use std::sync::Arc;

use super::abi::{self, op, NONE};
use super::caps::{Cap, CapTable, DataCap, Mapped};
use super::vms::{VmId, VmRecord, VmStatus};
use super::{host_failure, store, Flow, Kernel, KernelExit};
use crate::blob::CodeBlob;
use crate::host_calls::codes::{FULL, HUH, LOW, OOB, WHAT};
use crate::interpreter::ExitReason;
use crate::memory::{Access, MemoryError};
use crate::program::Program;
use crate::vm::{Backend, Code, Parked};

/// Why an operation did not succeed.
enum Failure {
    /// A GP error code for the caller's `φ7`.
    Code(u64),
    /// The host could not provide memory: the invocation ends.
    Host(MemoryError),
}

impl From<u64> for Failure {
    fn from(code: u64) -> Self {
        Failure::Code(code)
    }
}

impl From<MemoryError> for Failure {
    fn from(e: MemoryError) -> Self {
        Failure::Host(e)
    }
}

/// `Ok(Some(v))`: `OK` with `φ8 = v`; `Ok(None)`: `OK`.
type OpResult = Result<Option<u64>, Failure>;

/// A slot number from a register (`WHAT` if it names no slot).
fn slot(value: u64) -> Result<u8, Failure> {
    u8::try_from(value).map_err(|_| Failure::Code(WHAT))
}

impl Kernel {
    /// `ecalli id` in the running VM: a kernel operation, or the cap in slot `id`.
    pub(super) fn host_call(&mut self, id: u32) -> Flow {
        if id >= abi::OP_BASE {
            return self.operation(id - abi::OP_BASE);
        }
        let active = self.active();
        let cap = self.vms.at(active).caps.get(id as u8).copied();
        match cap {
            Some(Cap::Protocol(host)) => Flow::Exit(KernelExit::HostCall(host)),
            Some(Cap::Handle(vm)) => self.call(vm, None),
            Some(Cap::Callable { vm, epoch }) => self.call(vm, Some(epoch)),
            _ => {
                if !self.charge(abi::OP_GAS) {
                    return self.out_of_gas();
                }
                self.finish(Err(Failure::Code(WHAT)))
            }
        }
    }

    /// Takes `cost` from the running VM's gas; `false` (and nothing taken) if it has less.
    fn charge(&mut self, cost: u64) -> bool {
        let vm = self.active_vm();
        let gas = vm.gas();
        if gas < 0 || (gas as u64) < cost {
            return false;
        }
        vm.set_gas(gas - cost as i64);
        true
    }

    /// The running VM could not pay for its `ecalli`: it stops out of gas there, and retries
    /// the operation when it runs again.
    fn out_of_gas(&mut self) -> Flow {
        self.active_vm().rewind_host_call();
        self.stopped(ExitReason::OutOfGas)
    }

    /// Writes an operation's outcome to the running VM and continues it.
    fn finish(&mut self, result: OpResult) -> Flow {
        let vm = self.active_vm();
        match result {
            Ok(second) => {
                vm.set_reg(7, abi::status::OK);
                if let Some(value) = second {
                    vm.set_reg(8, value);
                }
            }
            Err(Failure::Code(code)) => vm.set_reg(7, code),
            Err(Failure::Host(e)) => return host_failure(e),
        }
        Flow::Continue
    }

    fn operation(&mut self, number: u32) -> Flow {
        // Operations read φ7..φ11 only; loaded singly (generated code has just stored them).
        let live = self.active_vm().regs_mut();
        let mut regs = [0u64; 13];
        regs[7..12].copy_from_slice(&live[7..12]);
        let cost = self.operation_cost(number, &regs);
        if !self.charge(cost) {
            return self.out_of_gas();
        }
        let result = match number {
            op::REPLY => return self.reply(&regs),
            op::CREATE => self.create(&regs),
            op::DROP => self.drop_cap(&regs),
            op::GRANT => self.grant(&regs),
            op::REVOKE => self.revoke(&regs),
            op::MAP => self.map(&regs),
            op::UNMAP => self.unmap(&regs),
            op::SPLIT => self.split(&regs),
            op::RETYPE => self.retype(&regs),
            op::COMPILE => self.compile(&regs),
            op::INSPECT => self.inspect(&regs),
            _ => Err(Failure::Code(WHAT)),
        };
        self.finish(result)
    }

    /// Gas of operation `number` with arguments `regs` (`docs/kernel.md` §3).
    fn operation_cost(&mut self, number: u32, regs: &[u64; 13]) -> u64 {
        match number {
            op::MAP | op::UNMAP => {
                let active = self.active();
                let pages = match u8::try_from(regs[7])
                    .ok()
                    .and_then(|s| self.vms.at(active).caps.get(s))
                {
                    Some(Cap::Data(data)) => u64::from(data.pages),
                    _ => 0,
                };
                abi::OP_GAS + pages
            }
            // Moving a mapped DATA cap unmaps it on the way, as UNMAP does.
            op::REPLY | op::DROP => {
                abi::OP_GAS + self.mapped_pages(regs[if number == op::REPLY { 11 } else { 7 }])
            }
            op::GRANT if regs[10] == 1 => abi::OP_GAS + self.mapped_pages(regs[7]),
            op::COMPILE => {
                let len = regs[8].min(1 << 32);
                abi::OP_GAS + len.div_ceil(abi::COMPILE_BYTES_PER_GAS)
            }
            _ => abi::OP_GAS,
        }
    }

    /// The pages of the DATA cap in slot `value` of the running VM if it is mapped, else 0.
    fn mapped_pages(&mut self, value: u64) -> u64 {
        match u8::try_from(value)
            .ok()
            .and_then(|s| self.caps().get(s).copied())
        {
            Some(Cap::Data(DataCap {
                pages,
                mapped: Some(_),
                ..
            })) => u64::from(pages),
            _ => 0,
        }
    }

    fn caps(&mut self) -> &mut CapTable {
        let active = self.active();
        &mut self.vms.at(active).caps
    }

    /// CALL of VM `callee` (through a CALLABLE made in `epoch`, or a HANDLE).
    fn call(&mut self, callee: VmId, epoch: Option<u32>) -> Flow {
        let caller = self.active();
        let pass_arg = self.executors.vm(&mut self.vms, caller).regs_mut()[11];
        let cost = abi::OP_GAS + self.mapped_pages(pass_arg);
        let vm = self.executors.vm(&mut self.vms, caller);
        let gas = vm.gas();
        if gas < cost as i64 {
            return self.out_of_gas();
        }
        let gas = gas - cost as i64;
        // Single registers, not the array: generated code has just stored them one by one.
        let live = vm.regs_mut();
        let args = [live[7], live[8], live[9], live[10]];
        let (pass, limit) = (live[11], live[12]);
        let handover = limit.min(gas as u64) as i64;
        vm.set_gas(gas);
        let pass = match self.check_call(callee, epoch, pass) {
            Ok(pass) => pass,
            Err(failure) => return self.finish(Err(failure)),
        };
        self.executors
            .vm(&mut self.vms, caller)
            .set_gas(gas - handover);
        let resumes_after_reply =
            matches!(self.vms.at(callee).status, VmStatus::Fresh | VmStatus::Idle);
        if let Some(slot) = pass {
            let cap = self.caps().take(slot).expect("checked");
            let cap = match self.unmapped(cap) {
                Ok(cap) => cap,
                Err(e) => return host_failure(e),
            };
            self.reparent(cap, callee);
            let _ = self.vms.at(callee).caps.insert(abi::IPC_SLOT, cap);
        }
        self.vms.at(caller).status = VmStatus::Waiting;
        self.vms.at(callee).status = VmStatus::Running;
        self.stack.push(callee);
        if let Err(e) = self.executors.load(&mut self.vms, callee) {
            return host_failure(e);
        }
        let vm = self.executors.vm(&mut self.vms, callee);
        vm.set_gas(handover);
        if resumes_after_reply {
            vm.regs_mut()[7..11].copy_from_slice(&args);
        }
        Flow::Continue
    }

    /// The checks of CALL, in the documented order; the slot of the cap to pass.
    fn check_call(
        &mut self,
        callee: VmId,
        epoch: Option<u32>,
        pass: u64,
    ) -> Result<Option<u8>, Failure> {
        let record = self.vms.get(callee).ok_or(Failure::Code(WHAT))?;
        if epoch.is_some_and(|e| e != record.callable_epoch) {
            return Err(WHAT.into());
        }
        if matches!(
            record.status,
            VmStatus::Running | VmStatus::Waiting | VmStatus::Finished
        ) {
            return Err(HUH.into());
        }
        let ipc_free = record.caps.is_free(abi::IPC_SLOT);
        let pass = if pass == NONE {
            None
        } else {
            let slot = u8::try_from(pass).map_err(|_| Failure::Code(HUH))?;
            match self.caps().get(slot).copied() {
                Some(cap) if ipc_free && self.may_pass(cap, callee, true) => Some(slot),
                _ => return Err(HUH.into()),
            }
        };
        if self.stack.len() >= abi::MAX_CALL_DEPTH {
            return Err(FULL.into());
        }
        Ok(pass)
    }

    /// REPLY: back to the caller with `φ7..φ10` and optionally the cap in `φ11`.
    fn reply(&mut self, regs: &[u64; 13]) -> Flow {
        let Some(&caller) = self.stack.len().checked_sub(2).map(|i| &self.stack[i]) else {
            return self.finish(Err(HUH.into()));
        };
        if regs[11] != NONE {
            let slot = match u8::try_from(regs[11]) {
                Ok(slot) => match self.caps().get(slot).copied() {
                    Some(cap) if self.may_pass(cap, caller, false) => slot,
                    _ => return self.finish(Err(HUH.into())),
                },
                Err(_) => return self.finish(Err(HUH.into())),
            };
            if !self.vms.at(caller).caps.is_free(abi::IPC_SLOT) {
                return self.finish(Err(HUH.into()));
            }
            let cap = self.caps().take(slot).expect("checked");
            let cap = match self.unmapped(cap) {
                Ok(cap) => cap,
                Err(e) => return host_failure(e),
            };
            self.reparent(cap, caller);
            let _ = self.vms.at(caller).caps.insert(abi::IPC_SLOT, cap);
        }
        let results = [regs[7], regs[8], regs[9], regs[10]];
        self.return_to_caller(abi::status::OK, Some(results), false, VmStatus::Idle)
    }

    /// `cap` with its mapping in the running VM undone (a DATA cap about to move).
    fn unmapped(&mut self, cap: Cap) -> Result<Cap, MemoryError> {
        let Cap::Data(data) = cap else {
            return Ok(cap);
        };
        let Some(mapped) = data.mapped else {
            return Ok(cap);
        };
        let memory = self
            .executors
            .vm(&mut self.vms, self.stack[self.stack.len() - 1]);
        self.store
            .unmap_from(memory.memory_mut(), data.first, data.pages, mapped.base)?;
        Ok(Cap::Data(DataCap {
            mapped: None,
            ..data
        }))
    }

    /// A copy of `cap` for another slot or VM: a HANDLE's copy is a CALLABLE; DATA and
    /// withdrawn CALLABLEs cannot be copied.
    fn copy_of(&self, cap: Cap) -> Result<Cap, Failure> {
        match cap {
            Cap::Data(_) => Err(WHAT.into()),
            Cap::Handle(vm) => {
                let record = self.vms.get(vm).ok_or(Failure::Code(WHAT))?;
                if record.callable_epoch == u32::MAX {
                    return Err(WHAT.into()); // revoked too often: no more callables
                }
                Ok(Cap::Callable {
                    vm,
                    epoch: record.callable_epoch,
                })
            }
            Cap::Callable { vm, epoch } if !self.callable_is_valid(vm, epoch) => Err(WHAT.into()),
            other => Ok(other),
        }
    }

    /// Whether `cap` may move from the running VM to `receiver` with CALL (`down`) or REPLY:
    /// a HANDLE only between a VM and its parent, never to the VM it names, so that HANDLEs
    /// keep forming a tree (a VM that owned itself could never be dropped). O(1).
    fn may_pass(&self, cap: Cap, receiver: VmId, down: bool) -> bool {
        let Cap::Handle(vm) = cap else {
            return true;
        };
        let active = self.active();
        let related = if down {
            self.vms.get(receiver).and_then(|r| r.parent) == Some(active)
        } else {
            self.vms.get(active).and_then(|r| r.parent) == Some(receiver)
        };
        related && vm != receiver
    }

    /// Records that the HANDLE `cap` (if it is one) now sits in `holder`'s table.
    fn reparent(&mut self, cap: Cap, holder: VmId) {
        if let Cap::Handle(vm) = cap {
            if let Some(record) = self.vms.get_mut(vm) {
                record.parent = Some(holder);
            }
        }
    }

    fn callable_is_valid(&self, vm: VmId, epoch: u32) -> bool {
        epoch != u32::MAX && self.vms.get(vm).is_some_and(|r| r.callable_epoch == epoch)
    }

    fn create(&mut self, regs: &[u64; 13]) -> OpResult {
        let Some(&Cap::Code(code)) = self.caps().get(slot(regs[7])?) else {
            return Err(WHAT.into());
        };
        let destination = slot(regs[8])?;
        if !self.caps().is_free(destination) {
            return Err(HUH.into());
        }
        let mut caps = CapTable::default();
        let mut mask = regs[9];
        while mask != 0 {
            let s = mask.trailing_zeros() as u8;
            mask &= mask - 1;
            if let Some(&cap) = self.caps().get(s) {
                let copy = self.copy_of(cap)?;
                let _ = caps.insert(s, copy);
            }
        }
        if self.vms.live() >= abi::MAX_VMS {
            return Err(FULL.into());
        }
        let entry = u32::try_from(regs[10]).unwrap_or(u32::MAX);
        let parked = Parked::entering(self.executors.code(code).program(), entry);
        let child = self.vms.insert(VmRecord {
            code,
            parked,
            status: VmStatus::Fresh,
            caps,
            instance: None,
            callable_epoch: 0,
            parent: Some(self.active()),
        });
        let _ = self.caps().insert(destination, Cap::Handle(child));
        Ok(None)
    }

    fn drop_cap(&mut self, regs: &[u64; 13]) -> OpResult {
        let s = slot(regs[7])?;
        let cap = *self.caps().get(s).ok_or(Failure::Code(WHAT))?;
        match cap {
            Cap::Handle(vm) if self.vms.get(vm).is_some() => self.destroy_tree(vm)?,
            Cap::Data(data) => {
                if let Some(mapped) = data.mapped {
                    store::clear(self.active_vm().memory_mut(), mapped.base, data.pages)?;
                }
                self.store.release(data.first, data.pages)?;
            }
            _ => {}
        }
        self.caps().take(s);
        Ok(None)
    }

    /// VM `root` and every VM its table owns, transitively.
    fn subtree(&self, root: VmId) -> Vec<VmId> {
        let mut seen = HashSet::from([root]);
        let mut ids = vec![root];
        let mut i = 0;
        while i < ids.len() {
            if let Some(record) = self.vms.get(ids[i]) {
                for (_, cap) in record.caps.iter() {
                    if let Cap::Handle(child) = *cap {
                        if self.vms.get(child).is_some() && seen.insert(child) {
                            ids.push(child);
                        }
                    }
                }
            }
            i += 1;
        }
        ids
    }

    /// Destroys VM `root` and everything it owns; `HUH` if any of them is on the call stack.
    fn destroy_tree(&mut self, root: VmId) -> Result<(), Failure> {
        let owns_vms = self
            .vms
            .get(root)
            .is_some_and(|r| r.caps.iter().any(|(_, c)| matches!(c, Cap::Handle(_))));
        // Most VMs own none: no walk, no allocation.
        let ids = if owns_vms {
            self.subtree(root)
        } else {
            vec![root]
        };
        let busy = ids.iter().any(|&id| {
            matches!(
                self.vms.get(id).map(|r| r.status),
                Some(VmStatus::Running | VmStatus::Waiting)
            )
        });
        if busy {
            return Err(HUH.into());
        }
        for id in ids {
            let Some(record) = self.vms.remove(id) else {
                continue;
            };
            self.executors.forget(record.code, id);
            if record.instance.is_some() {
                self.address_spaces -= 1;
            }
            for (_, cap) in record.caps.iter() {
                if let Cap::Data(data) = *cap {
                    // Its bytes (in the dropped address space if mapped) are gone with it.
                    self.store.release(data.first, data.pages)?;
                }
            }
        }
        Ok(())
    }

    fn grant(&mut self, regs: &[u64; 13]) -> OpResult {
        let source = slot(regs[7])?;
        let cap = *self.caps().get(source).ok_or(Failure::Code(WHAT))?;
        let active = self.active();
        let target = if regs[8] == NONE {
            active
        } else {
            match self.caps().get(slot(regs[8])?).copied() {
                Some(Cap::Handle(vm)) if self.vms.get(vm).is_some() => vm,
                _ => return Err(WHAT.into()),
            }
        };
        if target != active
            && matches!(
                self.vms.at(target).status,
                VmStatus::Running | VmStatus::Waiting
            )
        {
            return Err(HUH.into());
        }
        let destination = slot(regs[9])?;
        let moved = match regs[10] {
            0 => self.copy_of(cap)?,
            1 => {
                if let Cap::Callable { vm, epoch } = cap {
                    if !self.callable_is_valid(vm, epoch) {
                        return Err(WHAT.into());
                    }
                }
                // The target is this VM or a child it holds; the HANDLE names a child it
                // holds: only the VM itself must not receive its own HANDLE.
                if matches!(cap, Cap::Handle(vm) if vm == target) {
                    return Err(HUH.into());
                }
                cap
            }
            _ => return Err(WHAT.into()),
        };
        if !self.vms.at(target).caps.is_free(destination) {
            return Err(HUH.into());
        }
        let moved = if regs[10] == 1 {
            self.caps().take(source);
            self.unmapped(moved)?
        } else {
            moved
        };
        self.reparent(moved, target);
        let _ = self.vms.at(target).caps.insert(destination, moved);
        Ok(None)
    }

    fn revoke(&mut self, regs: &[u64; 13]) -> OpResult {
        let Some(&Cap::Handle(vm)) = self.caps().get(slot(regs[7])?) else {
            return Err(WHAT.into());
        };
        let record = self.vms.get_mut(vm).ok_or(Failure::Code(WHAT))?;
        record.callable_epoch = record.callable_epoch.saturating_add(1);
        Ok(None)
    }

    /// The DATA cap in slot `regs[7]`, with its slot.
    fn data_cap(&mut self, regs: &[u64; 13]) -> Result<(u8, DataCap), Failure> {
        let s = slot(regs[7])?;
        match self.caps().get(s) {
            Some(&Cap::Data(data)) => Ok((s, data)),
            _ => Err(WHAT.into()),
        }
    }

    fn map(&mut self, regs: &[u64; 13]) -> OpResult {
        let (s, data) = self.data_cap(regs)?;
        if data.mapped.is_some() {
            return Err(HUH.into());
        }
        let access = match regs[9] {
            1 => Access::Read,
            2 => Access::Write,
            _ => return Err(WHAT.into()),
        };
        let base = regs[8];
        if base < abi::FIRST_MAPPABLE_PAGE
            || base.saturating_add(u64::from(data.pages)) > abi::ADDRESS_SPACE_PAGES
        {
            return Err(OOB.into());
        }
        let base = base as u32;
        let memory = self.active_vm().memory();
        if (base..base + data.pages).any(|page| memory.page_access(page << 12) != Access::None) {
            return Err(HUH.into());
        }
        let active = self.active();
        if self.vms.at(active).instance.is_none() {
            if self.address_spaces >= self.config.max_address_spaces {
                return Err(FULL.into());
            }
            self.executors.adopt(&mut self.vms, active);
            self.address_spaces += 1;
        }
        let memory = self.executors.vm(&mut self.vms, active).memory_mut();
        self.store
            .map_into(memory, data.first, data.pages, base, access)?;
        *self.caps().get_mut(s).expect("checked") = Cap::Data(DataCap {
            mapped: Some(Mapped { base, access }),
            ..data
        });
        Ok(None)
    }

    fn unmap(&mut self, regs: &[u64; 13]) -> OpResult {
        let (s, data) = self.data_cap(regs)?;
        if data.mapped.is_none() {
            return Err(HUH.into());
        }
        let cap = self.unmapped(Cap::Data(data))?;
        *self.caps().get_mut(s).expect("checked") = cap;
        Ok(None)
    }

    fn split(&mut self, regs: &[u64; 13]) -> OpResult {
        let (s, data) = self.data_cap(regs)?;
        let kept = regs[8];
        if data.mapped.is_some() || kept == 0 || kept >= u64::from(data.pages) {
            return Err(HUH.into());
        }
        let destination = slot(regs[9])?;
        if !self.caps().is_free(destination) {
            return Err(HUH.into());
        }
        let kept = kept as u32;
        *self.caps().get_mut(s).expect("checked") = Cap::Data(DataCap {
            pages: kept,
            ..data
        });
        let rest = DataCap {
            first: data.first + kept,
            pages: data.pages - kept,
            mapped: None,
        };
        let _ = self.caps().insert(destination, Cap::Data(rest));
        Ok(None)
    }

    fn retype(&mut self, regs: &[u64; 13]) -> OpResult {
        let Some(Cap::Untyped) = self.caps().get(slot(regs[7])?) else {
            return Err(WHAT.into());
        };
        let destination = slot(regs[9])?;
        if !self.caps().is_free(destination) || regs[8] == 0 {
            return Err(HUH.into());
        }
        let pages = u32::try_from(regs[8]).map_err(|_| Failure::Code(LOW))?;
        let first = self.store.allocate(pages).ok_or(Failure::Code(LOW))?;
        let data = DataCap {
            first,
            pages,
            mapped: None,
        };
        let _ = self.caps().insert(destination, Cap::Data(data));
        Ok(None)
    }

    fn compile(&mut self, regs: &[u64; 13]) -> OpResult {
        let destination = slot(regs[9])?;
        if !self.caps().is_free(destination) {
            return Err(HUH.into());
        }
        if self.executors.len() >= abi::MAX_CODES {
            return Err(FULL.into());
        }
        let (Ok(address), Ok(len)) = (u32::try_from(regs[7]), u32::try_from(regs[8])) else {
            return Err(OOB.into());
        };
        if self.compiled_bytes + u64::from(len) > self.config.max_compiled_bytes {
            return Err(FULL.into());
        }
        let memory = self.active_vm().memory();
        if memory
            .check_range(address, u64::from(len), Access::Read)
            .is_err()
        {
            return Err(OOB.into());
        }
        let mut bytes = vec![0; len as usize];
        memory.host_read(address, &mut bytes);
        let program = CodeBlob::parse(&bytes)
            .map_err(crate::program::LoadError::from)
            .and_then(|blob| Program::decode(blob, self.profile))
            .map_err(|_| Failure::Code(HUH))?;
        // `Auto` on the recompiler: a program it cannot take runs interpreted, exactly as on an
        // interpreter-only kernel, so the outcome does not depend on the backend.
        let backend = match self.backend {
            Backend::Interpreter => Backend::Interpreter,
            _ => Backend::Auto,
        };
        let code = Code::prepare(Arc::new(program), backend).map_err(|_| Failure::Code(HUH))?;
        self.compiled_bytes += u64::from(len);
        let index = self.executors.add_code(code);
        let _ = self.caps().insert(destination, Cap::Code(index));
        Ok(None)
    }

    fn inspect(&mut self, regs: &[u64; 13]) -> OpResult {
        let s = slot(regs[7])?;
        Ok(Some(
            self.caps()
                .get(s)
                .map_or(abi::cap_type::EMPTY, Cap::type_code),
        ))
    }
}
