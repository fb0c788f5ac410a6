//! Backend instances. A VM that owns an address space (the root's standard layout, mapped DATA
//! caps, pages the embedder gave it) has an instance of its own, kept in its record, so
//! switching to it and back changes nothing. The VMs that own no memory share one instance per
//! program, loaded with one of them at a time: switching between them is a register swap
//! ([`Parked`](crate::vm::Parked)), and the address space they run on stays pristine.

use super::vms::{VmArena, VmId};
use crate::memory::MemoryError;
use crate::vm::{Code, Vm};

struct Shared {
    vm: Vm,
    /// The VM whose state is in `vm`.
    loaded: Option<VmId>,
}

struct Entry {
    code: Code,
    /// Boxed, so that the instance does not move when programs are added.
    shared: Option<Box<Shared>>,
}

/// Every program of an invocation and the instance its memoryless VMs share.
#[derive(Default)]
pub(super) struct Executors {
    entries: Vec<Entry>,
}

impl Executors {
    /// Adds a program; returns its index (the CODE cap's content).
    pub(super) fn add_code(&mut self, code: Code) -> u32 {
        self.entries.push(Entry { code, shared: None });
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

    /// The instance VM `id` runs on: its own, or its program's shared one, which must be
    /// loaded with it ([`Executors::load`]).
    #[inline]
    pub(super) fn vm<'a>(&'a mut self, vms: &'a mut VmArena, id: VmId) -> &'a mut Vm {
        self.vm_and_kind(vms, id).0
    }

    /// As [`Executors::vm`], and whether the instance is the shared one.
    #[inline]
    pub(super) fn vm_and_kind<'a>(
        &'a mut self,
        vms: &'a mut VmArena,
        id: VmId,
    ) -> (&'a mut Vm, bool) {
        let record = vms.at(id);
        let code = record.code as usize;
        if record.instance.is_some() {
            return (record.instance.as_deref_mut().expect("checked"), false);
        }
        let shared = self.entries[code]
            .shared
            .as_mut()
            .expect("a running VM's program has a shared instance");
        debug_assert_eq!(shared.loaded, Some(id));
        (&mut shared.vm, true)
    }

    /// The instance holding VM `id`'s state right now, if any (else its state is parked).
    pub(super) fn vm_ref<'a>(&'a self, vms: &'a VmArena, id: VmId) -> Option<&'a Vm> {
        let record = vms.get(id)?;
        if let Some(own) = record.instance.as_deref() {
            return Some(own);
        }
        let shared = self.entries[record.code as usize].shared.as_ref()?;
        (shared.loaded == Some(id)).then_some(&shared.vm)
    }

    /// Whether an instance holds VM `id`'s state right now.
    #[inline]
    pub(super) fn holds(&self, vms: &VmArena, id: VmId) -> bool {
        self.vm_ref(vms, id).is_some()
    }

    /// Makes VM `id` ready to run: a VM without an instance of its own is unparked into its
    /// program's shared instance (created on first use), parking whichever VM was there.
    #[inline]
    pub(super) fn load(&mut self, vms: &mut VmArena, id: VmId) -> Result<(), MemoryError> {
        let record = vms.at(id);
        if record.instance.is_some() {
            return Ok(());
        }
        let loaded = self.entries[record.code as usize]
            .shared
            .as_ref()
            .is_some_and(|s| s.loaded == Some(id));
        if loaded {
            return Ok(());
        }
        self.swap_in(vms, id)
    }

    /// [`Executors::load`] when the shared instance holds another VM (or none yet).
    #[inline(never)]
    fn swap_in(&mut self, vms: &mut VmArena, id: VmId) -> Result<(), MemoryError> {
        let record = vms.at(id);
        let entry = &mut self.entries[record.code as usize];
        if entry.shared.is_none() {
            let mut vm = entry.code.instantiate()?;
            // Children get memory only through DATA caps (see `docs/kernel.md`).
            vm.forbid_sbrk();
            entry.shared = Some(Box::new(Shared { vm, loaded: None }));
        }
        let shared = entry.shared.as_mut().expect("just created");
        if shared.loaded == Some(id) {
            return Ok(());
        }
        if let Some(previous) = shared.loaded.take().and_then(|p| vms.get_mut(p)) {
            previous.parked = shared.vm.park();
        }
        shared.vm.unpark(&vms.at(id).parked);
        shared.loaded = Some(id);
        Ok(())
    }

    /// VM `id`, loaded in its program's shared instance, has come to own memory: the instance
    /// becomes its own (the program gets a fresh shared one when next needed).
    /// Returns whether the VM got an instance now (not: it had one already).
    pub(super) fn adopt(&mut self, vms: &mut VmArena, id: VmId) -> bool {
        let record = vms.at(id);
        if record.instance.is_some() {
            return false;
        }
        let entry = &mut self.entries[record.code as usize];
        match entry.shared.take() {
            Some(shared) => {
                debug_assert_eq!(shared.loaded, Some(id));
                record.instance = Some(Box::new(shared.vm));
                true
            }
            None => false,
        }
    }

    /// Drops program `index`'s shared instance (its address space is no longer pristine and
    /// nobody may have it): the next memoryless VM of the program gets a fresh one.
    pub(super) fn discard_shared(&mut self, index: u32) {
        self.entries[index as usize].shared = None;
    }

    /// Whether every shared instance runs on a pristine address space (no VM without memory of
    /// its own can see or leave anything).
    pub(super) fn shared_are_pristine(&self) -> bool {
        self.entries
            .iter()
            .filter_map(|e| e.shared.as_ref())
            .all(|s| s.vm.memory().is_pristine())
    }

    /// Forgets VM `id` (being destroyed) if the shared instance of program `index` holds it.
    pub(super) fn forget(&mut self, index: u32, id: VmId) {
        if let Some(shared) = self.entries[index as usize].shared.as_mut() {
            if shared.loaded == Some(id) {
                shared.loaded = None;
            }
        }
    }
}
