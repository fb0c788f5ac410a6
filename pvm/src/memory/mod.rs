//! Guest memory: a 4 GiB address space with none / read / write access per 4 KiB page.
//!
//! The bytes live in a memfd ([`backing`]) that the host maps read-write once; guest accesses by
//! the interpreter and by host functions are checked against a per-page access table before
//! touching it, so a bad guest address never reaches the host mapping. Generated code instead
//! runs on a [`window`]: the same file mapped again with each page's own rights, where the MMU
//! does the check and faults come back to the rules here. Address spaces are pooled ([`pool`]).

use std::mem::ManuallyDrop;

mod backing;
mod mapping;
mod mirror;
mod pool;
mod runs;
pub mod window;

use backing::Backing;
use mapping::Mapping;
use mirror::Mirror;
use runs::PageRuns;
use window::Window;

/// Guest page size (`Z_P`).
pub const PAGE_SIZE: u32 = 1 << 12;
/// Accesses to addresses below this panic instead of faulting (`Z_Z`).
pub const LOW_GUARD: u32 = 1 << 16;
const PAGE_COUNT: usize = 1 << 20;
const SPACE: usize = 1 << 32;
/// At most this many pages that held data are kept allocated (zeroed) by a pooled address space
/// across resets; beyond it they are released to the kernel.
const ZERO_IN_PLACE_PAGES: u64 = 64;
/// Bytes just below guest address 0 that a run's context uses (cleared on reset).
pub(crate) const CONTEXT_USED: usize = 256;
/// Access rights of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Access {
    /// Inaccessible.
    None = 0,
    /// Read-only.
    Read = 1,
    /// Read-write.
    Write = 2,
}

/// The outcome of a guest access that did not succeed (GP §A.3 memory rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryFault {
    /// The lowest bad address is below 64 KiB.
    Panic,
    /// Page fault at this page-aligned address.
    PageFault(u32),
}

/// The host could not set up guest memory.
#[derive(Debug, thiserror::Error)]
#[error("cannot reserve guest memory: {0}")]
pub struct MemoryError(#[from] std::io::Error);

/// What a pooled address space consists of.
pub(super) struct Parts {
    backing: Backing,
    /// One byte per guest page (an `Access`), in its own anonymous mapping so that raw pointers
    /// to it (see [`FastPath`]) stay valid while the table is updated.
    access: Mapping,
    window: Option<Window>,
    /// Earlier windows over the same file, each keeping the protections of a layout it served
    /// (see `mirror.rs`): a run with one of those layouts switches windows instead of changing
    /// protections.
    spare_windows: Vec<Window>,
    /// Zeroed pages that reset kept allocated (at most `ZERO_IN_PLACE_PAGES`).
    kept_pages: PageRuns,
}

impl Parts {
    fn new() -> Result<Self, MemoryError> {
        Ok(Self {
            backing: Backing::new()?,
            access: Mapping::anonymous(PAGE_COUNT, libc::PROT_READ | libc::PROT_WRITE)?,
            window: None,
            spare_windows: Vec::new(),
            kept_pages: PageRuns::default(),
        })
    }
}

/// One guest address space.
pub struct Memory {
    /// The host view of the backing store.
    base: *mut u8,
    /// The access table.
    access: *mut u8,
    parts: ManuallyDrop<Parts>,
    /// The accessible pages as runs (for `sbrk` and for resetting).
    runs: PageRuns,
    /// Every page that was ever accessible or written by the host: the only pages that can hold
    /// data, released on reset.
    touched: PageRuns,
    /// Pairs of neighbouring pages with different rights.
    transitions: u32,
    mirror: Mirror,
    /// Identifies the current use of the window (unique in the process; 0 when none), so that
    /// users may cache its addresses.
    window_epoch: u64,
}

/// Raw pointers for the interpreter's single-page fast path, hoisted out of its loop.
///
/// Obtained with [`Memory::fast_path`]; valid while that `Memory` is alive.
#[derive(Clone, Copy)]
pub struct FastPath {
    base: *mut u8,
    access: *const u8,
}

impl FastPath {
    #[inline(always)]
    fn page_ok(self, addr: u32, len: u32, need: u8) -> bool {
        let last = addr.wrapping_add(len - 1);
        // Same page (a wrapping access never is) and sufficient rights.
        (addr >> 12) == (last >> 12)
            // SAFETY: the index is below 2^20, the table's length.
            && unsafe { *self.access.add(page_of(addr)) } >= need
    }

    /// Reads `N` bytes when they lie in one accessible page; `None` means "take the slow path"
    /// ([`Memory::load`]), which also reports faults.
    #[inline(always)]
    pub fn load<const N: usize>(self, addr: u32) -> Option<[u8; N]> {
        if !self.page_ok(addr, N as u32, Access::Read as u8) {
            return None;
        }
        let mut out = [0u8; N];
        // SAFETY: the host view covers all 4 GiB read-write.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(addr as usize), out.as_mut_ptr(), N);
        }
        Some(out)
    }

    /// Writes `N` bytes when they lie in one writable page; `false` means "take the slow path".
    #[inline(always)]
    pub fn store<const N: usize>(self, addr: u32, bytes: [u8; N]) -> bool {
        if !self.page_ok(addr, N as u32, Access::Write as u8) {
            return false;
        }
        // SAFETY: as in `load`.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(addr as usize), N);
        }
        true
    }
}

// SAFETY: the mappings are owned exclusively by this value; access goes through &self / &mut self.
unsafe impl Send for Memory {}
// SAFETY: shared references only read.
unsafe impl Sync for Memory {}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pages: u64 = self
            .runs
            .iter()
            .map(|(first, last)| u64::from(last - first) + 1)
            .sum();
        f.debug_struct("Memory")
            .field("accessible_pages", &pages)
            .finish()
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        let reset = self.reset();
        // SAFETY: `parts` is taken exactly once, here, and not used afterwards.
        let parts = unsafe { ManuallyDrop::take(&mut self.parts) };
        if reset.is_ok() {
            pool::give(parts);
        }
    }
}

#[inline(always)]
fn page_of(addr: u32) -> usize {
    (addr >> 12) as usize
}

/// Pairs `(i − 1, i)` with `i` in `[first, end]` whose rights differ.
fn transitions_in(table: &[u8], first: usize, end: usize) -> u32 {
    let lo = first.max(1);
    let hi = end.min(PAGE_COUNT - 1);
    if lo > hi {
        return 0;
    }
    table[lo - 1..=hi]
        .windows(2)
        .filter(|pair| pair[0] != pair[1])
        .count() as u32
}

impl Memory {
    /// A fresh, entirely inaccessible, all-zero address space (reused from the pool if one is
    /// idle).
    pub fn new() -> Result<Self, MemoryError> {
        let parts = match pool::take() {
            Some(parts) => parts,
            None => Parts::new()?,
        };
        Ok(Self {
            base: parts.backing.base(),
            access: parts.access.ptr(),
            parts: ManuallyDrop::new(parts),
            runs: PageRuns::default(),
            touched: PageRuns::default(),
            transitions: 0,
            mirror: Mirror::Off,
            window_epoch: 0,
        })
    }

    /// Returns the address space to the state `new` gives: no rights, all bytes zero.
    fn reset(&mut self) -> Result<(), MemoryError> {
        self.stop_mirroring();
        let runs: Vec<(u32, u32)> = self.runs.iter().collect();
        for (first, last) in runs {
            self.access_table_mut()[first as usize..=last as usize].fill(0);
        }
        if let Some(window) = &self.parts.window {
            window.clear_context(CONTEXT_USED);
        }
        // Pages that held data are zeroed in place and kept (so the next user does not fault
        // them in) while this and earlier users' kept pages stay few; otherwise all of them are
        // released to the kernel.
        let mut kept = std::mem::take(&mut self.parts.kept_pages);
        for (first, last) in self.touched.iter() {
            kept.set(first, last, true);
        }
        let kept_count: u64 = kept
            .iter()
            .map(|(first, last)| u64::from(last - first) + 1)
            .sum();
        if kept_count <= ZERO_IN_PLACE_PAGES {
            for (first, last) in self.touched.iter() {
                let (start, len) = (
                    first as usize * PAGE_SIZE as usize,
                    (last - first + 1) as usize * PAGE_SIZE as usize,
                );
                // SAFETY: the range lies inside the host view.
                unsafe { std::ptr::write_bytes(self.base.add(start), 0, len) };
            }
            self.parts.kept_pages = kept;
        } else {
            for (first, last) in kept.iter() {
                self.parts.backing.discard(first, last)?;
            }
        }
        self.runs = PageRuns::default();
        self.touched = PageRuns::default();
        self.transitions = 0;
        Ok(())
    }

    /// Pointers for the interpreter's fast path.
    ///
    /// # Safety
    /// The returned value must not be used after this `Memory` is dropped, and while it is used
    /// nothing else may access this `Memory` (its `store` writes through the pointers; hold the
    /// `&mut Memory` for as long as the `FastPath` lives).
    pub unsafe fn fast_path(&self) -> FastPath {
        FastPath {
            base: self.base,
            access: self.access,
        }
    }

    fn access_table(&self) -> &[u8] {
        // SAFETY: a live mapping of PAGE_COUNT bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.access, PAGE_COUNT) }
    }

    fn access_table_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `access_table`, borrowed mutably through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.access, PAGE_COUNT) }
    }

    #[inline(always)]
    fn access_of(&self, page: usize) -> u8 {
        debug_assert!(page < PAGE_COUNT);
        // SAFETY: callers pass `addr >> 12` of a u32, always < PAGE_COUNT.
        unsafe { *self.access.add(page) }
    }

    /// The access rights of the page containing `addr`.
    pub fn page_access(&self, addr: u32) -> Access {
        match self.access_of(page_of(addr)) {
            0 => Access::None,
            1 => Access::Read,
            _ => Access::Write,
        }
    }

    /// Sets the access of every page that overlaps `[addr, addr + len)` (wrapping at 2³²).
    pub fn set_access(&mut self, addr: u32, len: u64, access: Access) -> Result<(), MemoryError> {
        if len == 0 {
            return Ok(());
        }
        let first = addr >> 12;
        let last_byte = u64::from(addr) + len - 1;
        let count = ((last_byte >> 12) - u64::from(first) + 1).min(PAGE_COUNT as u64) as u32;
        // At most two segments: up to the top of the address space, then from page 0.
        let to_top = (PAGE_COUNT as u32 - first).min(count);
        self.set_page_range(first, to_top, access)?;
        self.set_page_range(0, count - to_top, access)
    }

    /// Sets the access of pages `[first_page, first_page + count)` (clipped at the top).
    pub fn set_page_range(
        &mut self,
        first_page: u32,
        count: u32,
        access: Access,
    ) -> Result<(), MemoryError> {
        let first = first_page as usize;
        let end = (first + count as usize).min(PAGE_COUNT);
        if first >= end {
            return Ok(());
        }
        let before = transitions_in(self.access_table(), first, end);
        self.access_table_mut()[first..end].fill(access as u8);
        let after = transitions_in(self.access_table(), first, end);
        self.transitions = self.transitions + after - before;
        self.runs
            .set(first as u32, (end - 1) as u32, access != Access::None);
        if access != Access::None {
            self.touched.set(first as u32, (end - 1) as u32, true);
        }
        self.protect_window(first, end, access as u8);
        Ok(())
    }

    /// The GP fault for an access of `len` bytes at `addr` needing `need`, if any byte fails.
    #[cold]
    fn check_slow(&self, addr: u32, len: u32, need: u8) -> Result<(), MemoryFault> {
        let mut lowest: Option<u32> = None;
        for i in 0..len {
            let a = addr.wrapping_add(i);
            if self.access_of(page_of(a)) < need {
                lowest = Some(lowest.map_or(a, |l| l.min(a)));
            }
        }
        self.classify(lowest)
    }

    /// Turns the lowest failing address of an access into its outcome: below 64 KiB a panic; a
    /// write to a read-only page a panic (the vectors' rule, also PolkaVM's); else a page fault.
    fn classify(&self, lowest: Option<u32>) -> Result<(), MemoryFault> {
        match lowest {
            None => Ok(()),
            Some(a) if a < LOW_GUARD => Err(MemoryFault::Panic),
            Some(a) if self.access_of(page_of(a)) == Access::Read as u8 => Err(MemoryFault::Panic),
            Some(a) => Err(MemoryFault::PageFault(a & !(PAGE_SIZE - 1))),
        }
    }

    #[inline(always)]
    fn check(&self, addr: u32, len: u32, need: u8) -> Result<bool, MemoryFault> {
        let end = addr.wrapping_add(len - 1);
        if end >= addr
            && self.access_of(page_of(addr)) >= need
            && self.access_of(page_of(end)) >= need
        {
            return Ok(true); // contiguous and accessible
        }
        self.check_slow(addr, len, need).map(|()| false)
    }

    /// Reads `N` bytes for the guest (checked; wraps at 2³²). The interpreter calls this only
    /// when [`FastPath::load`] declines, so it is kept out of line.
    #[inline(never)]
    pub fn load<const N: usize>(&self, addr: u32) -> Result<[u8; N], MemoryFault> {
        let mut out = [0u8; N];
        if self.check(addr, N as u32, Access::Read as u8)? {
            // SAFETY: the range is inside the host view.
            unsafe {
                std::ptr::copy_nonoverlapping(self.base.add(addr as usize), out.as_mut_ptr(), N);
            }
        } else {
            for (i, b) in out.iter_mut().enumerate() {
                *b = self.byte(addr.wrapping_add(i as u32));
            }
        }
        Ok(out)
    }

    /// Writes `N` bytes for the guest (checked; nothing is written on a fault). Out of line for
    /// the same reason as [`Memory::load`].
    #[inline(never)]
    pub fn store<const N: usize>(&mut self, addr: u32, bytes: [u8; N]) -> Result<(), MemoryFault> {
        if self.check(addr, N as u32, Access::Write as u8)? {
            // SAFETY: as in `load`.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(addr as usize), N);
            }
        } else {
            for (i, b) in bytes.iter().enumerate() {
                self.set_byte(addr.wrapping_add(i as u32), *b);
            }
        }
        Ok(())
    }

    /// One byte, bypassing guest access rights (zero where nothing was ever written).
    fn byte(&self, addr: u32) -> u8 {
        let page = addr >> 12;
        if !self.touched.contains(page) {
            // Never accessible and never written: zero, without allocating a page for it.
            return 0;
        }
        // SAFETY: the host view covers all 4 GiB read-write.
        unsafe { *self.base.add(addr as usize) }
    }

    fn set_byte(&mut self, addr: u32, value: u8) {
        // SAFETY: as in `byte`.
        unsafe { *self.base.add(addr as usize) = value }
    }

    /// Checked guest-semantics read of a byte range (as a host function reading guest memory).
    pub fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), MemoryFault> {
        self.check_range(addr, buf.len() as u64, Access::Read)?;
        self.host_read(addr, buf);
        Ok(())
    }

    /// Checked guest-semantics write of a byte range; nothing is written on a fault.
    pub fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryFault> {
        self.check_range(addr, data.len() as u64, Access::Write)?;
        for (i, chunk) in data.chunks(PAGE_SIZE as usize).enumerate() {
            let at = addr.wrapping_add((i * PAGE_SIZE as usize) as u32);
            for (j, b) in chunk.iter().enumerate() {
                self.set_byte(at.wrapping_add(j as u32), *b);
            }
        }
        Ok(())
    }

    /// Whether every byte of `[addr, addr + len)` is readable, the range not wrapping past
    /// 2³². Costs O(log runs of accessible pages) whatever the length, so host functions can
    /// check guest-chosen lengths of any size.
    pub fn is_readable(&self, addr: u32, len: u64) -> bool {
        if len == 0 {
            return true;
        }
        let end = match u64::from(addr).checked_add(len) {
            Some(end) if end <= 1 << 32 => end,
            _ => return false,
        };
        self.runs.covers(addr >> 12, ((end - 1) >> 12) as u32)
    }

    /// Checks that every byte of `[addr, addr + len)` has at least `need`.
    pub fn check_range(&self, addr: u32, len: u64, need: Access) -> Result<(), MemoryFault> {
        if len == 0 {
            return Ok(());
        }
        let need = need as u8;
        let mut lowest: Option<u32> = None;
        let first = page_of(addr);
        let pages = ((u64::from(addr & (PAGE_SIZE - 1)) + len - 1) >> 12) as usize + 1;
        for i in 0..pages.min(PAGE_COUNT + 1) {
            let page = (first + i) % PAGE_COUNT;
            if self.access_of(page) < need {
                let page_addr = (page as u32) << 12;
                let a = if i == 0 { addr } else { page_addr };
                lowest = Some(lowest.map_or(a, |l| l.min(a)));
            }
        }
        self.classify(lowest)
    }

    /// Reads bytes ignoring access rights (inaccessible, never-mapped pages read as zero).
    pub fn host_read(&self, addr: u32, buf: &mut [u8]) {
        // Page by page: pages that never held data read as zero without being touched.
        let mut at = addr;
        let mut rest = buf;
        while !rest.is_empty() {
            let in_page = (PAGE_SIZE - (at & (PAGE_SIZE - 1))) as usize;
            let (chunk, tail) = rest.split_at_mut(in_page.min(rest.len()));
            if self.touched.contains(at >> 12) {
                // SAFETY: the chunk lies in one page of the host view.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        self.base.add(at as usize),
                        chunk.as_mut_ptr(),
                        chunk.len(),
                    );
                }
            } else {
                chunk.fill(0);
            }
            at = at.wrapping_add(chunk.len() as u32);
            rest = tail;
        }
    }

    /// Writes bytes ignoring access rights (initial data, debugger writes).
    pub fn host_write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemoryError> {
        if data.is_empty() {
            return Ok(());
        }
        let first = addr >> 12;
        let pages = ((u64::from(addr & (PAGE_SIZE - 1)) + data.len() as u64 - 1) >> 12) + 1;
        let pages = pages.min(PAGE_COUNT as u64) as u32;
        let to_top_pages = (PAGE_COUNT as u32 - first).min(pages);
        self.touched.set(first, first + to_top_pages - 1, true);
        if pages > to_top_pages {
            self.touched.set(0, pages - to_top_pages - 1, true);
        }
        let to_top = (SPACE - addr as usize).min(data.len());
        // SAFETY: `[addr, addr + to_top)` lies inside the host view.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(addr as usize), to_top);
        }
        // The rest wraps around to address 0.
        for (i, b) in data[to_top..].iter().enumerate() {
            self.set_byte(i as u32, *b);
        }
        Ok(())
    }

    /// Whether no page is accessible and none ever held data: the state `new` gives. The
    /// kernel runs VMs that own no memory on such an address space.
    pub(crate) fn is_pristine(&self) -> bool {
        self.runs.is_empty() && self.touched.is_empty()
    }

    /// Zeroes pages `[first_page, first_page + count)` (clipped at the top), releasing their
    /// memory; their access rights are unchanged.
    pub(crate) fn zero_pages(&mut self, first_page: u32, count: u32) -> Result<(), MemoryError> {
        let end = (u64::from(first_page) + u64::from(count)).min(PAGE_COUNT as u64);
        if u64::from(first_page) >= end {
            return Ok(());
        }
        self.parts.backing.discard(first_page, end as u32 - 1)
    }

    /// Every page that is not inaccessible, as `(page address, access)`, in address order.
    pub fn accessible_pages(&self) -> impl Iterator<Item = (u32, Access)> + '_ {
        self.runs.iter().flat_map(move |(first, last)| {
            (first..=last).map(move |page| {
                let access = match self.access_of(page as usize) {
                    1 => Access::Read,
                    _ => Access::Write,
                };
                (page << 12, access)
            })
        })
    }

    /// The accessible pages as maximal runs of equal rights: `(first page, last page, access)`
    /// (page numbers, not addresses), in address order.
    pub fn access_runs(&self) -> Vec<(u32, u32, Access)> {
        let mut out = Vec::new();
        for (first, last) in self.runs.iter() {
            let mut start = first;
            while start <= last {
                let access = self.access_of(start as usize);
                let mut stop = start;
                while stop < last && self.access_of(stop as usize + 1) == access {
                    stop += 1;
                }
                out.push((start, stop, self.page_access(start << 12)));
                start = stop + 1;
            }
        }
        out
    }

    /// Pages that may hold non-zero bytes, as `(first page, last page)` runs; every other page
    /// reads as zero. Costs a few system calls per run of pages ever used, not per page.
    pub fn pages_holding_data(&self) -> Vec<(u32, u32)> {
        let page = u64::from(PAGE_SIZE);
        let mut out = Vec::new();
        for (first, last) in self.touched.iter() {
            let (start, end) = (u64::from(first) * page, (u64::from(last) + 1) * page);
            for (from, to) in self.parts.backing.data_ranges(start, end) {
                out.push(((from / page) as u32, (to.div_ceil(page) - 1) as u32));
            }
        }
        out
    }

    /// GP 0.7 `sbrk` as the reference implementation runs it (and as the w3f accumulate
    /// vectors' services expect): a program break `brk`. A `size` of 0 returns the break.
    /// Otherwise the break moves up by `size`, every page below the new break becomes writable,
    /// and the old break is returned, with the new one. It fails, returning 0 and changing
    /// nothing, when the new break would reach 2³² or the pages it needs are not free (they
    /// would run into other memory). Costs O(runs of accessible pages), never O(pages).
    pub fn sbrk(&mut self, brk: u32, size: u64) -> (u64, u32) {
        if size == 0 {
            return (u64::from(brk), brk);
        }
        let new = match u64::from(brk).checked_add(size) {
            Some(new) if new < SPACE as u64 => new,
            _ => return (0, brk),
        };
        // Pages from the first one the old break does not reach into.
        let first = u64::from(brk).div_ceil(u64::from(PAGE_SIZE));
        let last = (new - 1) >> 12;
        if first <= last {
            let (first, last) = (first as u32, last as u32);
            if self.runs.overlapping_end(first, last).is_some()
                || self
                    .set_page_range(first, last - first + 1, Access::Write)
                    .is_err()
            {
                return (0, brk);
            }
        }
        (u64::from(brk), new as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readability_is_decided_by_runs_and_agrees_with_check_range() {
        let mut m = Memory::new().unwrap();
        m.set_access(0x20000, 3 * 4096, Access::Write).unwrap();
        m.set_access(0x23000, 4096, Access::Read).unwrap();
        m.set_access(0xFFFF_F000, 4096, Access::Read).unwrap();
        let cases: [(u32, u64); 10] = [
            (0x20000, 0),
            (0x20000, 4 * 4096),
            (0x20000, 4 * 4096 + 1),
            (0x1FFFF, 2),
            (0x23FFF, 1),
            (0x24000, 1),
            (0x10, 0),
            (0xFFFF_F000, 4096),
            (0xFFFF_F000, 4097),
            (0x20000, u64::from(u32::MAX)),
        ];
        for (addr, len) in cases {
            let wraps = u64::from(addr) + len > 1 << 32; // no overflow: len < 2^33 here
            let checked = !wraps && m.check_range(addr, len, Access::Read).is_ok();
            assert_eq!(m.is_readable(addr, len), checked, "{addr:#x} + {len}");
        }
        assert!(!m.is_readable(0x20000, u64::MAX));
    }

    #[test]
    fn faults_report_the_lowest_bad_page() {
        let mut m = Memory::new().unwrap();
        m.set_access(0x20000, 4096, Access::Write).unwrap();
        assert!(m.store(0x20000, [1u8; 8]).is_ok());
        assert_eq!(m.load::<4>(0x20000).unwrap(), [1, 1, 1, 1]);
        // Split access: first page fine, second page inaccessible.
        assert_eq!(m.load::<4>(0x20FFE), Err(MemoryFault::PageFault(0x21000)));
        assert_eq!(
            m.store(0x20FFE, [9u8; 4]),
            Err(MemoryFault::PageFault(0x21000))
        );
        // Nothing was written on the failed split store.
        assert_eq!(m.load::<2>(0x20FFE).unwrap(), [0, 0]);
        // Below 64 KiB: panic.
        assert_eq!(m.load::<1>(0xFFFF), Err(MemoryFault::Panic));
        // A read-only page rejects writes with a panic (the vectors' rule).
        m.set_access(0x30000, 1, Access::Read).unwrap();
        assert_eq!(m.store(0x30010, [1u8]), Err(MemoryFault::Panic));
        assert!(m.load::<8>(0x30010).is_ok());
    }

    #[test]
    fn wrapping_accesses_take_the_lowest_address() {
        let mut m = Memory::new().unwrap();
        m.set_access(0xFFFF_F000, 4096, Access::Write).unwrap();
        // Wraps to address 0, which is below 64 KiB: panic even though the first bytes are fine.
        assert_eq!(m.load::<4>(0xFFFF_FFFE), Err(MemoryFault::Panic));
        m.set_access(0, 4096, Access::Write).unwrap();
        m.store(0xFFFF_FFFE, [1, 2, 3, 4]).unwrap();
        assert_eq!(m.load::<4>(0xFFFF_FFFE).unwrap(), [1, 2, 3, 4]);
        let mut b = [0u8; 2];
        m.host_read(0, &mut b);
        assert_eq!(b, [3, 4]);
    }

    #[test]
    fn sbrk_moves_a_program_break() {
        let mut m = Memory::new().unwrap();
        m.set_access(0x20000, 8192, Access::Write).unwrap();
        // The break starts at the end of the read-write region.
        assert_eq!(m.sbrk(0x22000, 0), (0x22000, 0x22000));
        assert_eq!(m.sbrk(0x22000, 100), (0x22000, 0x22064));
        assert_eq!(m.page_access(0x22000), Access::Write);
        assert_eq!(m.page_access(0x23000), Access::None);
        // Within the mapped page nothing new is mapped; past it, the next page is.
        assert_eq!(m.sbrk(0x22064, 0xF9C), (0x22064, 0x23000));
        assert_eq!(m.page_access(0x23000), Access::None);
        assert_eq!(m.sbrk(0x23000, 1), (0x23000, 0x23001));
        assert_eq!(m.page_access(0x23000), Access::Write);
        // Into other memory, or past 2³²: refused, nothing changes.
        m.set_access(0x30000, 4096, Access::Read).unwrap();
        assert_eq!(m.sbrk(0x23001, 0x10000), (0, 0x23001));
        assert_eq!(m.page_access(0x24000), Access::None);
        assert_eq!(m.sbrk(0x23001, u64::MAX), (0, 0x23001));
        assert_eq!(m.sbrk(0xFFFF_F000, 0x1000), (0, 0xFFFF_F000));
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    #[test]
    fn the_fast_path_serves_single_page_accesses() {
        let mut m = Memory::new().unwrap();
        m.set_access(0x20000, 4096, Access::Write).unwrap();
        m.set_access(0x30000, 4096, Access::Read).unwrap();
        // SAFETY: `m` outlives `fast`.
        let fast = unsafe { m.fast_path() };
        assert!(fast.store::<8>(0x20FF8, [7; 8]));
        assert_eq!(fast.load::<8>(0x20FF8), Some([7; 8]));
        // Crossing into an unmapped page, a read-only page, and unmapped memory: slow path.
        assert!(!fast.store::<8>(0x20FFC, [0; 8]));
        assert!(!fast.store::<1>(0x30000, [0; 1]));
        assert_eq!(fast.load::<1>(0x30000), Some([0]));
        assert_eq!(fast.load::<1>(0x40000), None);
    }
}
