//! The invocation's backing store: the pages DATA caps name, a budget of them, and moving a
//! cap's bytes into and out of the address space it is mapped in.
//!
//! While a DATA cap is mapped its bytes live in its holder's address space; while unmapped,
//! here. A cap is mapped in at most one address space, so the two never disagree.

use std::collections::{BTreeMap, BTreeSet};

use crate::memory::{Access, Memory, MemoryError, PAGE_SIZE};

/// Store pages (the store is a sparse 4 GiB file: pages never written cost nothing).
pub(crate) const STORE_PAGES: u32 = 1 << 20;

/// The backing store and its page budget.
pub(crate) struct PageStore {
    /// Store page `p` is at address `p · 4 KiB` (read and written ignoring rights).
    bytes: Memory,
    /// Pages that RETYPE may still take.
    budget: u32,
    /// Free store pages as runs: first page → count.
    free: BTreeMap<u32, u32>,
    /// The same runs by `(count, first)`: an allocation takes the smallest run that fits in
    /// O(log runs), however fragmented the store is.
    by_size: BTreeSet<(u32, u32)>,
}

impl PageStore {
    /// An empty store with a budget of `budget` pages.
    pub(crate) fn new(budget: u32) -> Result<Self, MemoryError> {
        Ok(Self {
            bytes: Memory::new()?,
            budget: budget.min(STORE_PAGES),
            free: BTreeMap::from([(0, STORE_PAGES)]),
            by_size: BTreeSet::from([(STORE_PAGES, 0)]),
        })
    }

    /// Pages the budget still allows.
    pub(crate) fn budget(&self) -> u32 {
        self.budget
    }

    /// Takes `pages` zero-filled pages: their first store page, or `None` when the budget (or
    /// a contiguous run of that length) is short.
    pub(crate) fn allocate(&mut self, pages: u32) -> Option<u32> {
        if pages == 0 || pages > self.budget {
            return None;
        }
        let &(count, first) = self.by_size.range((pages, 0)..).next()?;
        self.remove_run(first, count);
        if count > pages {
            self.add_run(first + pages, count - pages);
        }
        self.budget -= pages;
        Some(first)
    }

    /// Gives pages back to the budget, zeroed.
    pub(crate) fn release(&mut self, first: u32, pages: u32) -> Result<(), MemoryError> {
        self.bytes.zero_pages(first, pages)?;
        self.budget += pages;
        let mut start = first;
        let mut count = pages;
        if let Some((&before, &len)) = self.free.range(..first).next_back() {
            if before + len == first {
                self.remove_run(before, len);
                start = before;
                count += len;
            }
        }
        if let Some(&after) = self.free.get(&(first + pages)) {
            self.remove_run(first + pages, after);
            count += after;
        }
        self.add_run(start, count);
        Ok(())
    }

    fn add_run(&mut self, first: u32, count: u32) {
        self.free.insert(first, count);
        self.by_size.insert((count, first));
    }

    fn remove_run(&mut self, first: u32, count: u32) {
        self.free.remove(&first);
        self.by_size.remove(&(count, first));
    }

    /// Maps store pages `[first, first + pages)` at guest page `base` of `memory` with
    /// `access`: their bytes move there. The guest pages must be inaccessible (hence zero).
    pub(crate) fn map_into(
        &mut self,
        memory: &mut Memory,
        first: u32,
        pages: u32,
        base: u32,
        access: Access,
    ) -> Result<(), MemoryError> {
        let mut page = vec![0u8; PAGE_SIZE as usize];
        for i in 0..pages {
            self.bytes.host_read((first + i) * PAGE_SIZE, &mut page);
            if page.iter().any(|&b| b != 0) {
                memory.host_write((base + i) * PAGE_SIZE, &page)?;
            }
        }
        memory.set_page_range(base, pages, access)
    }

    /// Undoes [`PageStore::map_into`]: the bytes come back to store pages `first..`, and the
    /// guest pages become inaccessible and zero.
    pub(crate) fn unmap_from(
        &mut self,
        memory: &mut Memory,
        first: u32,
        pages: u32,
        base: u32,
    ) -> Result<(), MemoryError> {
        self.bytes.zero_pages(first, pages)?;
        let mut page = vec![0u8; PAGE_SIZE as usize];
        for i in 0..pages {
            memory.host_read((base + i) * PAGE_SIZE, &mut page);
            if page.iter().any(|&b| b != 0) {
                self.bytes.host_write((first + i) * PAGE_SIZE, &page)?;
            }
        }
        clear(memory, base, pages)
    }
}

/// Makes guest pages `[base, base + pages)` inaccessible and zero.
pub(crate) fn clear(memory: &mut Memory, base: u32, pages: u32) -> Result<(), MemoryError> {
    memory.set_page_range(base, pages, Access::None)?;
    memory.zero_pages(base, pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_budgeted_reused_and_come_back_zeroed() {
        let mut store = PageStore::new(8).unwrap();
        let a = store.allocate(3).unwrap();
        let b = store.allocate(5).unwrap();
        assert_eq!(store.allocate(1), None, "budget spent");
        let mut memory = Memory::new().unwrap();
        store
            .map_into(&mut memory, a, 3, 0x20, Access::Write)
            .unwrap();
        memory.write(0x20 * PAGE_SIZE + 5, &[7, 8, 9]).unwrap();
        store.unmap_from(&mut memory, a, 3, 0x20).unwrap();
        assert_eq!(memory.page_access(0x20 * PAGE_SIZE), Access::None);
        let mut back = [0u8; 3];
        memory.host_read(0x20 * PAGE_SIZE + 5, &mut back);
        assert_eq!(back, [0, 0, 0], "unmapped pages read as zero");
        // Mapped again elsewhere, the bytes are there.
        store
            .map_into(&mut memory, a, 3, 0x40, Access::Read)
            .unwrap();
        memory.read(0x40 * PAGE_SIZE + 5, &mut back).unwrap();
        assert_eq!(back, [7, 8, 9]);
        store.unmap_from(&mut memory, a, 3, 0x40).unwrap();
        // Released pages merge and return zeroed.
        store.release(a, 3).unwrap();
        store.release(b, 5).unwrap();
        assert_eq!(store.budget(), 8);
        let c = store.allocate(8).unwrap();
        assert_eq!(c, a);
        store
            .map_into(&mut memory, c, 8, 0x20, Access::Read)
            .unwrap();
        memory.read(0x20 * PAGE_SIZE + 5, &mut back).unwrap();
        assert_eq!(back, [0, 0, 0]);
    }
}
