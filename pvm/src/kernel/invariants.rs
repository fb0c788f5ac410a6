//! The kernel's invariants, checked on demand (tests and fuzzing call this after every step).

use std::collections::HashMap;

use super::caps::Cap;
use super::vms::{VmId, VmStatus};
use super::Kernel;
use crate::memory::Memory;

impl Kernel {
    /// Checks every invariant of `docs/kernel.md`: VMs form one tree of HANDLEs under the root
    /// (none leaked), every page of the budget is either free or in exactly one DATA cap, each
    /// mapped cap is accessible exactly as mapped in its holder and nowhere else, gas exists only
    /// on the call stack, and the stack's statuses are consistent. Returns the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let root = self.stack[0];
        let mut owners: HashMap<VmId, usize> = HashMap::new();
        let mut pages: Vec<(u32, u32)> = Vec::new();
        for (id, record) in self.vms.iter() {
            let memory = self.memory_of(id);
            let mut mapped: Vec<(u32, u32)> = Vec::new();
            for (slot, cap) in record.caps.iter() {
                match *cap {
                    Cap::Handle(child) => {
                        let Some(child_record) = self.vms.get(child) else {
                            return Err(format!("{id:?} slot {slot}: HANDLE to a destroyed VM"));
                        };
                        if child_record.parent != Some(id) {
                            return Err(format!(
                                "{child:?}'s parent is {:?}, but {id:?} holds its HANDLE",
                                child_record.parent
                            ));
                        }
                        *owners.entry(child).or_default() += 1;
                    }
                    Cap::Data(data) => {
                        pages.push((data.first, data.pages));
                        if let Some(m) = data.mapped {
                            let memory = memory.ok_or_else(|| {
                                format!("{id:?} maps slot {slot} without an address space")
                            })?;
                            for page in m.base..m.base + data.pages {
                                let access = memory.page_access(page << 12);
                                if access != m.access {
                                    return Err(format!(
                                        "{id:?} slot {slot}: page {page:#x} is {access:?}, mapped {:?}",
                                        m.access
                                    ));
                                }
                            }
                            mapped.push((m.base, data.pages));
                        }
                    }
                    _ => {}
                }
            }
            check_disjoint(&mut mapped).map_err(|e| format!("{id:?}: mappings {e}"))?;
            let on_stack = self.stack.contains(&id);
            let gas = self.gas_of(id);
            if !on_stack && gas != 0 {
                return Err(format!("{id:?} is off the stack with {gas} gas"));
            }
            let expected = matches!(record.status, VmStatus::Running | VmStatus::Waiting);
            if on_stack != expected {
                return Err(format!(
                    "{id:?} is {:?}; on the stack: {on_stack}",
                    record.status
                ));
            }
        }
        for (id, _) in self.vms.iter() {
            let count = owners.get(&id).copied().unwrap_or(0);
            let expected = usize::from(id != root);
            if count != expected {
                return Err(format!("{id:?} has {count} HANDLEs (expected {expected})"));
            }
        }
        if self.reachable_from(root) != self.vms.live() {
            return Err("some VM is not reachable from the root".into());
        }
        let used: u64 = pages.iter().map(|&(_, n)| u64::from(n)).sum();
        if used + u64::from(self.store.budget()) != u64::from(self.initial_budget) {
            return Err(format!(
                "{used} pages in caps + {} free != budget {}",
                self.store.budget(),
                self.initial_budget
            ));
        }
        check_disjoint(&mut pages).map_err(|e| format!("store pages {e}"))?;
        let owners = self
            .vms
            .iter()
            .filter(|(_, r)| r.instance.is_some())
            .count();
        if owners != self.address_spaces {
            return Err(format!(
                "{owners} VMs own memory, {} counted",
                self.address_spaces
            ));
        }
        if !self.executors.shared_are_pristine() {
            return Err("a shared instance's address space is not pristine".into());
        }
        let top = self.active();
        for &id in &self.stack {
            let status = self.vms.get(id).map(|r| r.status);
            let expected = if id == top {
                VmStatus::Running
            } else {
                VmStatus::Waiting
            };
            if status != Some(expected) {
                return Err(format!("{id:?} on the stack is {status:?}"));
            }
        }
        Ok(())
    }

    /// The address space VM `id` runs on, if it has one of its own.
    fn memory_of(&self, id: VmId) -> Option<&Memory> {
        self.vms.get(id)?.instance.as_deref().map(|vm| vm.memory())
    }

    /// VMs reachable from `root` through HANDLEs, `root` included.
    fn reachable_from(&self, root: VmId) -> usize {
        let mut seen = std::collections::HashSet::from([root]);
        let mut work = vec![root];
        while let Some(id) = work.pop() {
            if let Some(record) = self.vms.get(id) {
                for (_, cap) in record.caps.iter() {
                    if let Cap::Handle(child) = *cap {
                        if seen.insert(child) {
                            work.push(child);
                        }
                    }
                }
            }
        }
        seen.len()
    }
}

/// Whether `(first, count)` runs overlap.
fn check_disjoint(runs: &mut [(u32, u32)]) -> Result<(), String> {
    runs.sort_unstable();
    for pair in runs.windows(2) {
        if pair[0].0 + pair[0].1 > pair[1].0 {
            return Err(format!("overlap: {:?} and {:?}", pair[0], pair[1]));
        }
    }
    Ok(())
}
