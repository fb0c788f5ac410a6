//! VM records and the generational arena that holds them.

use super::caps::CapTable;
use crate::vm::{Parked, Vm};

/// Names one VM of an invocation; stale once the VM is destroyed (its slot's generation moves
/// on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmId {
    index: u32,
    generation: u32,
}

impl VmId {
    /// The arena index (dense, reused after a VM is destroyed).
    pub fn index(self) -> u32 {
        self.index
    }
}

/// Where a VM is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VmStatus {
    /// Created, never called: the first CALL enters at its entry pc.
    Fresh,
    /// Replied: the next CALL continues after its REPLY.
    Idle,
    /// On the call stack, waiting for a VM it called.
    Waiting,
    /// On top of the call stack.
    Running,
    /// Stopped on a page fault or out of gas: the next CALL retries.
    Stopped,
    /// Halted or panicked: never runs again.
    Finished,
}

/// One VM: everything it keeps while not running (a few hundred bytes with a few caps).
#[derive(Debug)]
pub(crate) struct VmRecord {
    /// The program, by index in the kernel's code list.
    pub code: u32,
    /// Registers, gas and position while the VM is not in an instance.
    pub parked: Parked,
    pub status: VmStatus,
    pub caps: CapTable,
    /// The VM's own instance, once it owns an address space (the root's standard layout,
    /// mapped DATA caps, pages the embedder gave it); until then it runs on its program's
    /// shared one.
    pub instance: Option<Box<Vm>>,
    /// CALLABLEs made in an earlier epoch are withdrawn. Saturates: at `u32::MAX` no CALLABLE
    /// can be made any more (so that no withdrawn one ever works again).
    pub callable_epoch: u32,
    /// The VM whose table holds this VM's HANDLE (`None` for the root).
    pub parent: Option<VmId>,
}

struct Slot {
    generation: u32,
    record: Option<VmRecord>,
}

/// All VMs of an invocation.
#[derive(Default)]
pub(crate) struct VmArena {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl VmArena {
    /// Number of live VMs.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Adds a VM (the caller checks the limit).
    pub(crate) fn insert(&mut self, record: VmRecord) -> VmId {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.record = Some(record);
            VmId {
                index,
                generation: slot.generation,
            }
        } else {
            self.slots.push(Slot {
                generation: 0,
                record: Some(record),
            });
            VmId {
                index: self.slots.len() as u32 - 1,
                generation: 0,
            }
        }
    }

    /// The live VM `id`, if it still exists.
    #[inline]
    pub(crate) fn get(&self, id: VmId) -> Option<&VmRecord> {
        let slot = self.slots.get(id.index as usize)?;
        (slot.generation == id.generation)
            .then_some(slot.record.as_ref())
            .flatten()
    }

    /// The live VM `id`, mutably.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: VmId) -> Option<&mut VmRecord> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.record.as_mut()
    }

    /// The live VM `id`; panics if it does not exist (for ids the kernel holds itself, such as
    /// those on the call stack, which cannot be destroyed).
    #[inline]
    pub(crate) fn at(&mut self, id: VmId) -> &mut VmRecord {
        self.get_mut(id).expect("a VM the kernel holds exists")
    }

    /// Destroys VM `id`, returning its record; every `VmId` of it goes stale.
    pub(crate) fn remove(&mut self, id: VmId) -> Option<VmRecord> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let record = slot.record.take()?;
        // An index whose generation would wrap is retired, so that no stale id ever names a
        // new VM.
        if let Some(next) = slot.generation.checked_add(1) {
            slot.generation = next;
            self.free.push(id.index);
        }
        self.live -= 1;
        Some(record)
    }

    /// Every live VM.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (VmId, &VmRecord)> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let id = VmId {
                index: index as u32,
                generation: slot.generation,
            };
            slot.record.as_ref().map(|record| (id, record))
        })
    }

    /// Bytes of host memory per VM slot, not counting cap-table entries and address spaces.
    pub(crate) const BYTES_PER_VM: usize = std::mem::size_of::<Slot>();
}
