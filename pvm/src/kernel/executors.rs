//! Backend instances shared by VMs: one per program, loaded with one VM at a time.
//!
//! A VM that is not loaded keeps its registers, gas and position in its record ([`Parked`]).
//! Loading another VM of the same program into the instance parks the current one and unparks
//! the new one: a register swap. VMs that own an address space (the root's standard layout,
//! mapped DATA caps, `sbrk`) take it with them; the others run on the instance's pristine one.

use super::vms::{VmArena, VmId};
use crate::memory::{Memory, MemoryError};
use crate::vm::{Code, Vm};

struct Executor {
    vm: Vm,
    /// The VM whose state is in `vm`.
    loaded: Option<VmId>,
    /// A pristine address space kept while a VM that owns one is loaded.
    blank: Option<Memory>,
}

struct Entry {
    code: Code,
    executor: Option<Executor>,
}

/// Every program of an invocation and its instance.
#[derive(Default)]
pub(super) struct Executors {
    entries: Vec<Entry>,
}

impl Executors {
    /// Adds a program; returns its index (the CODE cap's content).
    pub(super) fn add_code(&mut self, code: Code) -> u32 {
        self.entries.push(Entry {
            code,
            executor: None,
        });
        self.entries.len() as u32 - 1
    }

    /// Number of programs.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Program `index`.
    pub(super) fn code(&self, index: u32) -> &Code {
        &self.entries[index as usize].code
    }

    /// Makes `vm` the instance of program `index`, loaded with VM `id`.
    pub(super) fn install(&mut self, index: u32, vm: Vm, id: VmId) {
        self.entries[index as usize].executor = Some(Executor {
            vm,
            loaded: Some(id),
            blank: None,
        });
    }

    /// The VM loaded in program `index`'s instance, if any.
    pub(super) fn loaded(&self, index: u32) -> Option<VmId> {
        self.entries[index as usize]
            .executor
            .as_ref()
            .and_then(|e| e.loaded)
    }

    /// The instance of program `index`, which has one (some VM of it is loaded).
    pub(super) fn vm_of(&mut self, index: u32) -> &mut Vm {
        &mut self.entries[index as usize]
            .executor
            .as_mut()
            .expect("a loaded VM's program has an instance")
            .vm
    }

    /// As [`Executors::vm_of`], shared.
    pub(super) fn vm_ref(&self, index: u32) -> &Vm {
        &self.entries[index as usize]
            .executor
            .as_ref()
            .expect("a loaded VM's program has an instance")
            .vm
    }

    /// Loads VM `id` into its program's instance (creating the instance on first use), parking
    /// whichever VM was there.
    pub(super) fn load(&mut self, vms: &mut VmArena, id: VmId) -> Result<(), MemoryError> {
        let record = vms.at(id);
        let entry = &mut self.entries[record.code as usize];
        if entry.executor.is_none() {
            entry.executor = Some(Executor {
                vm: entry.code.instantiate()?,
                loaded: None,
                blank: None,
            });
        }
        let executor = entry.executor.as_mut().expect("just created");
        if executor.loaded == Some(id) {
            return Ok(());
        }
        if let Some(previous) = executor.loaded {
            let previous = vms.at(previous);
            // An owned address space leaves with its VM; a pristine one takes its place.
            let blank = if previous.owns_memory {
                Some(match executor.blank.take() {
                    Some(blank) => blank,
                    None => Memory::new()?,
                })
            } else {
                None
            };
            previous.parked = executor.vm.park();
            if let Some(blank) = blank {
                let owned = std::mem::replace(executor.vm.memory_mut(), blank);
                previous.memory = Some(Box::new(owned));
            }
            executor.loaded = None;
        }
        let record = vms.at(id);
        executor.vm.unpark(&record.parked);
        if let Some(memory) = record.memory.take() {
            let blank = std::mem::replace(executor.vm.memory_mut(), *memory);
            executor.blank = Some(blank);
        }
        executor.loaded = Some(id);
        Ok(())
    }

    /// Forgets VM `id` (being destroyed) if it is loaded. An instance whose address space
    /// belonged to it is dropped with it (the next VM gets a fresh one).
    pub(super) fn unload_destroyed(&mut self, index: u32, id: VmId, owned_memory: bool) {
        let entry = &mut self.entries[index as usize];
        if entry.executor.as_ref().and_then(|e| e.loaded) == Some(id) {
            if owned_memory {
                entry.executor = None;
            } else if let Some(executor) = entry.executor.as_mut() {
                executor.loaded = None;
            }
        }
    }
}
