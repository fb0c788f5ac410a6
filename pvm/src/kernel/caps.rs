//! Capabilities and the sparse per-VM capability table.

use super::abi::cap_type;
use super::vms::VmId;
use crate::memory::Access;

/// Where a DATA cap is mapped in its holder's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// First guest page.
    pub base: u32,
    /// Read-only or read-write.
    pub access: Access,
}

/// A run of pages of the invocation's backing store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataCap {
    /// First page in the store.
    pub first: u32,
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Where it is mapped in its holder, if it is.
    pub mapped: Option<Mapped>,
}

/// One capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    /// The invocation's page budget.
    Untyped,
    /// Pages of the backing store (move only).
    Data(DataCap),
    /// A program, by index in the kernel's code list.
    Code(u32),
    /// The owning reference to a VM (move only).
    Handle(VmId),
    /// A call-only reference to a VM, valid while the VM's callable epoch is `epoch`.
    Callable {
        /// The VM.
        vm: VmId,
        /// The VM's callable epoch when this was made (REVOKE moves it on).
        epoch: u32,
    },
    /// A host function id.
    Protocol(u32),
}

impl Cap {
    /// The type number INSPECT reports.
    pub(crate) fn type_code(&self) -> u64 {
        match self {
            Cap::Untyped => cap_type::UNTYPED,
            Cap::Data(_) => cap_type::DATA,
            Cap::Code(_) => cap_type::CODE,
            Cap::Handle(_) => cap_type::HANDLE,
            Cap::Callable { .. } => cap_type::CALLABLE,
            Cap::Protocol(_) => cap_type::PROTOCOL,
        }
    }
}

/// A VM's slots: only the occupied ones are stored, sorted by slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct CapTable {
    entries: Vec<(u8, Cap)>,
}

impl CapTable {
    fn position(&self, slot: u8) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&slot, |&(s, _)| s)
    }

    /// The cap in `slot`.
    pub(crate) fn get(&self, slot: u8) -> Option<&Cap> {
        self.position(slot).ok().map(|i| &self.entries[i].1)
    }

    /// The cap in `slot`, mutably.
    pub(crate) fn get_mut(&mut self, slot: u8) -> Option<&mut Cap> {
        self.position(slot).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `slot` is empty.
    pub(crate) fn is_free(&self, slot: u8) -> bool {
        self.position(slot).is_err()
    }

    /// Removes and returns the cap in `slot`.
    pub(crate) fn take(&mut self, slot: u8) -> Option<Cap> {
        self.position(slot).ok().map(|i| self.entries.remove(i).1)
    }

    /// Puts `cap` in the empty `slot`; gives it back if the slot is occupied.
    pub(crate) fn insert(&mut self, slot: u8, cap: Cap) -> Result<(), Cap> {
        match self.position(slot) {
            Ok(_) => Err(cap),
            Err(i) => {
                self.entries.insert(i, (slot, cap));
                Ok(())
            }
        }
    }

    /// Every occupied slot, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u8, &Cap)> + '_ {
        self.entries.iter().map(|(s, c)| (*s, c))
    }

    /// Bytes of one entry.
    pub(crate) const ENTRY_BYTES: usize = std::mem::size_of::<(u8, Cap)>();

    /// Bytes of host memory the entries use.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(u8, Cap)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_kept_sorted_and_exclusive() {
        let mut t = CapTable::default();
        assert!(t.insert(9, Cap::Code(1)).is_ok());
        assert!(t.insert(3, Cap::Untyped).is_ok());
        assert_eq!(t.insert(9, Cap::Protocol(0)), Err(Cap::Protocol(0)));
        assert_eq!(t.iter().map(|(s, _)| s).collect::<Vec<_>>(), vec![3, 9]);
        assert_eq!(t.get(9), Some(&Cap::Code(1)));
        assert!(t.is_free(4));
        assert_eq!(t.take(3), Some(Cap::Untyped));
        assert_eq!(t.take(3), None);
        assert!(std::mem::size_of::<Cap>() <= 20);
    }
}
