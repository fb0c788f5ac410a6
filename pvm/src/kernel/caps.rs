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

/// A VM's slots: only the occupied ones are stored, sorted by slot, with a bitmap of occupied
/// slots so that a lookup is a bit test and a population count, not a search.
#[derive(Debug, Clone, Default)]
pub(crate) struct CapTable {
    occupied: [u64; 4],
    entries: Vec<(u8, Cap)>,
}

impl CapTable {
    fn is_set(&self, slot: u8) -> bool {
        self.occupied[usize::from(slot >> 6)] >> (slot & 63) & 1 == 1
    }

    /// The index in `entries` that `slot` has or would have: the occupied slots below it.
    fn rank(&self, slot: u8) -> usize {
        let word = usize::from(slot >> 6);
        let below: u32 = self.occupied[..word].iter().map(|w| w.count_ones()).sum();
        let mask = (1u64 << (slot & 63)) - 1;
        (below + (self.occupied[word] & mask).count_ones()) as usize
    }

    fn flip(&mut self, slot: u8) {
        self.occupied[usize::from(slot >> 6)] ^= 1 << (slot & 63);
    }

    /// The cap in `slot`.
    #[inline]
    pub(crate) fn get(&self, slot: u8) -> Option<&Cap> {
        if !self.is_set(slot) {
            return None;
        }
        Some(&self.entries[self.rank(slot)].1)
    }

    /// The cap in `slot`, mutably.
    pub(crate) fn get_mut(&mut self, slot: u8) -> Option<&mut Cap> {
        if !self.is_set(slot) {
            return None;
        }
        let i = self.rank(slot);
        Some(&mut self.entries[i].1)
    }

    /// Whether `slot` is empty.
    pub(crate) fn is_free(&self, slot: u8) -> bool {
        !self.is_set(slot)
    }

    /// Removes and returns the cap in `slot`.
    pub(crate) fn take(&mut self, slot: u8) -> Option<Cap> {
        if !self.is_set(slot) {
            return None;
        }
        let i = self.rank(slot);
        self.flip(slot);
        Some(self.entries.remove(i).1)
    }

    /// Puts `cap` in the empty `slot`; gives it back if the slot is occupied.
    pub(crate) fn insert(&mut self, slot: u8, cap: Cap) -> Result<(), Cap> {
        if self.is_set(slot) {
            return Err(cap);
        }
        let i = self.rank(slot);
        self.flip(slot);
        self.entries.insert(i, (slot, cap));
        Ok(())
    }

    /// Every occupied slot, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u8, &Cap)> + '_ {
        self.entries.iter().map(|(s, c)| (*s, c))
    }

    /// Bytes of one entry.
    pub(crate) const ENTRY_BYTES: usize = std::mem::size_of::<(u8, Cap)>();
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
        // Across the bitmap's words.
        for slot in [255, 64, 0, 128, 63, 200] {
            assert!(t.insert(slot, Cap::Protocol(u32::from(slot))).is_ok());
        }
        let slots: Vec<u8> = t.iter().map(|(s, _)| s).collect();
        assert_eq!(slots, vec![0, 9, 63, 64, 128, 200, 255]);
        for slot in slots {
            if slot != 9 {
                assert_eq!(t.get(slot), Some(&Cap::Protocol(u32::from(slot))));
            }
        }
        assert_eq!(t.take(64), Some(Cap::Protocol(64)));
        assert_eq!(t.get(128), Some(&Cap::Protocol(128)));
        assert!(t.is_free(64) && t.get(65).is_none());
        assert!(std::mem::size_of::<Cap>() <= 20);
    }
}
