//! An owned host mapping (unmapped on drop) and the `mmap` / `mprotect` calls guest memory uses.

use std::os::fd::RawFd;
use std::ptr::NonNull;

use super::MemoryError;

/// A region of host address space this process mapped and owns.
pub(super) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the region is owned exclusively; access is synchronised by the owner.
unsafe impl Send for Mapping {}
// SAFETY: as above; shared references only read.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region this value mapped.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

impl Mapping {
    /// A private anonymous mapping of `len` bytes with `prot`, reserving no swap.
    pub(super) fn anonymous(len: usize, prot: libc::c_int) -> Result<Self, MemoryError> {
        map(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )
        .map(|ptr| Self { ptr, len })
    }

    /// A shared mapping of `len` bytes of the file `fd` from offset 0.
    pub(super) fn shared_file(
        fd: RawFd,
        len: usize,
        prot: libc::c_int,
    ) -> Result<Self, MemoryError> {
        map(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED | libc::MAP_NORESERVE,
            fd,
        )
        .map(|ptr| Self { ptr, len })
    }

    /// Start of the region.
    pub(super) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Replaces `[offset, offset + len)` of this region with a new mapping (`MAP_FIXED`).
    pub(super) fn remap(
        &self,
        offset: usize,
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: RawFd,
    ) -> Result<(), MemoryError> {
        assert!(offset + len <= self.len, "remap outside the mapping");
        // SAFETY: the target range lies inside a region this value owns.
        let at = unsafe { self.ptr.as_ptr().add(offset) };
        map(at.cast(), len, prot, flags | libc::MAP_FIXED, fd).map(|_| ())
    }

    /// Changes the protection of `[offset, offset + len)`.
    pub(super) fn protect(
        &self,
        offset: usize,
        len: usize,
        prot: libc::c_int,
    ) -> Result<(), MemoryError> {
        assert!(offset + len <= self.len, "mprotect outside the mapping");
        // SAFETY: the range lies inside a region this value owns.
        let rc = unsafe { libc::mprotect(self.ptr.as_ptr().add(offset).cast(), len, prot) };
        if rc != 0 {
            return Err(MemoryError(std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

fn map(
    at: *mut libc::c_void,
    len: usize,
    prot: libc::c_int,
    flags: libc::c_int,
    fd: RawFd,
) -> Result<NonNull<u8>, MemoryError> {
    // SAFETY: either a fresh mapping (`at` null) or MAP_FIXED over a range the caller owns.
    let ptr = unsafe { libc::mmap(at, len, prot, flags, fd, 0) };
    if ptr == libc::MAP_FAILED {
        return Err(MemoryError(std::io::Error::last_os_error()));
    }
    NonNull::new(ptr.cast())
        .ok_or_else(|| MemoryError(std::io::Error::other("mmap returned a null pointer")))
}
