//! The bytes of one guest address space: a memfd, and the host's read-write view of all of it.
//!
//! The same file is mapped a second time, with the guest's page rights, by a [`Window`]
//! (`super::window`) when generated code runs on it; both views see the same pages.

use std::os::fd::{AsRawFd, RawFd};

use super::mapping::Mapping;
use super::{MemoryError, SPACE};

/// A 4 GiB sparse memfd and a `MAP_SHARED` read-write view of it for the host.
pub(super) struct Backing {
    file: memfd::Memfd,
    view: Mapping,
}

impl Backing {
    /// A fresh, all-zero backing store (no memory is committed until pages are touched).
    pub(super) fn new() -> Result<Self, MemoryError> {
        let file = memfd::MemfdOptions::default()
            .close_on_exec(true)
            .create("kiln-guest-memory")
            .map_err(|e| MemoryError(std::io::Error::other(e.to_string())))?;
        file.as_file().set_len(SPACE as u64)?;
        let view =
            Mapping::shared_file(file.as_raw_fd(), SPACE, libc::PROT_READ | libc::PROT_WRITE)?;
        Ok(Self { file, view })
    }

    /// The host view's base: guest address `a` is at `base + a`.
    pub(super) fn base(&self) -> *mut u8 {
        self.view.ptr()
    }

    /// The file, for further mappings of it.
    pub(super) fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// The byte ranges of `[start, end)` that may hold data (everything else is a hole, which
    /// reads as zero), found with `SEEK_DATA` / `SEEK_HOLE`.
    pub(super) fn data_ranges(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            // SAFETY: plain syscalls on a file this value owns.
            let data = unsafe { libc::lseek(self.fd(), at as libc::off_t, libc::SEEK_DATA) };
            if data < 0 || data as u64 >= end {
                break; // ENXIO: no data after `at`.
            }
            // SAFETY: as above.
            let hole = unsafe { libc::lseek(self.fd(), data, libc::SEEK_HOLE) };
            let hole = if hole < 0 {
                end
            } else {
                (hole as u64).min(end)
            };
            out.push((data as u64, hole));
            at = hole;
        }
        out
    }

    /// Releases the pages `[first, last]` (they read as zero again), in every mapping of the
    /// file.
    pub(super) fn discard(&self, first: u32, last: u32) -> Result<(), MemoryError> {
        let page = u64::from(super::PAGE_SIZE);
        let (start, len) = (u64::from(first) * page, u64::from(last - first + 1) * page);
        debug_assert!(start + len <= SPACE as u64);
        // SAFETY: a plain syscall on a file this value owns.
        let rc = unsafe {
            libc::fallocate(
                self.fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                start as libc::off_t,
                len as libc::off_t,
            )
        };
        if rc != 0 {
            return Err(MemoryError(std::io::Error::last_os_error()));
        }
        Ok(())
    }
}
