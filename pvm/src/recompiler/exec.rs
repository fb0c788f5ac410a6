//! Executable memory for one compiled program. Code is assembled straight into a private
//! anonymous mapping reserved for the worst case ([`WritableCode`]); when it is complete, the
//! unused tail is unmapped and the rest made read + execute ([`ExecutableCode`]), never writable
//! and executable at once. The mapping is unmapped on drop.

use std::io;

/// A read-write mapping being filled with code.
#[derive(Debug)]
pub(super) struct WritableCode {
    ptr: *mut u8,
    reserved: usize,
}

/// A read + execute mapping of finished code.
#[derive(Debug)]
pub(super) struct ExecutableCode {
    ptr: *mut u8,
    len: usize,
    mapped: usize,
}

// SAFETY: the mappings are owned by these values; executable code is immutable.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above; shared use only reads or executes.
unsafe impl Sync for ExecutableCode {}

impl WritableCode {
    /// Reserves `reserved` bytes (address space only), with the first `likely` bytes populated
    /// at once rather than faulted in page by page while code is written.
    pub(super) fn reserve(reserved: usize, likely: usize) -> io::Result<Self> {
        let reserved = round_up_to_page(reserved.max(1));
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let populate = round_up_to_page(likely).min(reserved);
        // Best effort: on kernels without MADV_POPULATE_WRITE the pages fault in as written.
        // SAFETY: the range lies inside the mapping just created.
        unsafe { libc::madvise(ptr, populate, libc::MADV_POPULATE_WRITE) };
        Ok(Self {
            ptr: ptr.cast(),
            reserved,
        })
    }

    /// The first writable byte.
    pub(super) fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Bytes that may be written.
    pub(super) fn capacity(&self) -> usize {
        self.reserved
    }

    /// Makes the first `len` bytes executable and releases the rest.
    pub(super) fn into_executable(self, len: usize) -> io::Result<ExecutableCode> {
        let mapped = round_up_to_page(len.max(1)).min(self.reserved);
        // SAFETY: both ranges lie inside the reservation, which nothing else uses. On failure
        // `self` still owns (and unmaps) the whole reservation.
        unsafe {
            if mapped < self.reserved
                && libc::munmap(self.ptr.add(mapped).cast(), self.reserved - mapped) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        let this = std::mem::ManuallyDrop::new(self);
        // From here `code` owns what is left of the mapping.
        let code = ExecutableCode {
            ptr: this.ptr,
            len,
            mapped,
        };
        // SAFETY: the range is the part of the mapping `code` owns.
        if unsafe { libc::mprotect(code.ptr.cast(), mapped, libc::PROT_READ | libc::PROT_EXEC) }
            != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(code)
    }
}

impl Drop for WritableCode {
    fn drop(&mut self) {
        // SAFETY: the reservation was created by `reserve` and nothing refers to it any more.
        unsafe {
            libc::munmap(self.ptr.cast(), self.reserved);
        }
    }
}

impl ExecutableCode {
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
        // SAFETY: the mapping was created by `WritableCode::reserve` and nothing refers to it
        // any more.
        unsafe {
            libc::munmap(self.ptr.cast(), self.mapped);
        }
    }
}

fn round_up_to_page(len: usize) -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).unwrap_or(4096).max(4096);
    len.div_ceil(page) * page
}
