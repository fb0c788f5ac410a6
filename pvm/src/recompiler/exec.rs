//! Executable memory for one compiled program: an anonymous mapping filled while writable, then
//! made read + execute (never both writable and executable) and unmapped on drop.

use std::io;

/// A read + execute copy of generated code.
#[derive(Debug)]
pub(super) struct ExecutableCode {
    ptr: *mut u8,
    len: usize,
    mapped: usize,
}

// SAFETY: the mapping is immutable after construction and owned by this value.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above; shared use only reads or executes.
unsafe impl Sync for ExecutableCode {}

impl ExecutableCode {
    /// Maps `code` executable. The pages are populated in one call rather than faulted in one
    /// by one while copying.
    pub(super) fn new(code: &[u8]) -> io::Result<Self> {
        let page = page_size();
        let mapped = code.len().max(1).div_ceil(page) * page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let this = Self {
            ptr: ptr.cast(),
            len: code.len(),
            mapped,
        };
        // SAFETY: the mapping is `mapped ≥ code.len()` bytes, writable, and not aliased.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), this.ptr, code.len());
            if libc::mprotect(ptr, mapped, libc::PROT_READ | libc::PROT_EXEC) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(this)
    }

    /// The first byte of the code.
    pub(super) fn base(&self) -> *const u8 {
        self.ptr
    }

    /// Bytes of code.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The code bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes from `ptr` are mapped readable for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by `new` and nothing refers to it any more.
        unsafe {
            libc::munmap(self.ptr.cast(), self.mapped);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}
