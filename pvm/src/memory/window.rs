//! A guest window: the memfd mapped again with the guest's own page rights, for generated code.
//!
//! Layout of the reserved range (all `PROT_NONE` and unbacked unless said otherwise):
//!
//! | offset              | size            | what                                             |
//! |---------------------|-----------------|--------------------------------------------------|
//! | 0                   | [`CONTEXT_SPAN`]| the VM context page (private, read-write)        |
//! | `CONTEXT_SPAN`      | 4 GiB           | guest memory: the memfd, each page with its rights|
//! | `CONTEXT_SPAN` + 4 GiB | [`GUARD_SPAN`] | guard: never mapped                           |
//!
//! The guard is large enough that any 32-bit address plus any 32-bit offset plus an 8-byte access
//! stays inside the reservation, so an access can never reach another mapping of the process.

use std::os::fd::RawFd;

use super::mapping::Mapping;
use super::{Access, MemoryError, PAGE_SIZE, SPACE};

/// Bytes before guest address 0 that hold the VM context.
pub const CONTEXT_SPAN: usize = 4096;
/// Unmapped bytes after the 4 GiB of guest memory.
pub const GUARD_SPAN: usize = SPACE + 4096;
/// Bytes reserved per window.
pub const WINDOW_SPAN: usize = CONTEXT_SPAN + SPACE + GUARD_SPAN;

/// One reserved window over a backing store.
pub(super) struct Window {
    reservation: Mapping,
    /// While no `Memory` mirrors rights into it: its exact protections, as
    /// `(first page, last page, access)` runs (empty: entirely inaccessible).
    pub(super) rights: Vec<(u32, u32, Access)>,
    /// Transitions charged to the process mapping budget while this window is parked as a
    /// spare (see `mirror.rs`); given back when it is used again or unmapped.
    pub(super) parked_charge: u32,
}

impl Drop for Window {
    fn drop(&mut self) {
        super::mirror::release_parked_charge(self);
    }
}

fn prot_of(access: Access) -> libc::c_int {
    match access {
        Access::None => libc::PROT_NONE,
        Access::Read => libc::PROT_READ,
        Access::Write => libc::PROT_READ | libc::PROT_WRITE,
    }
}

impl Window {
    /// Reserves a window and maps the file `fd` into its guest part, entirely inaccessible.
    pub(super) fn new(fd: RawFd) -> Result<Self, MemoryError> {
        let reservation = Mapping::anonymous(WINDOW_SPAN, libc::PROT_NONE)?;
        reservation.remap(
            0,
            CONTEXT_SPAN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
        )?;
        reservation.remap(
            CONTEXT_SPAN,
            SPACE,
            libc::PROT_NONE,
            libc::MAP_SHARED | libc::MAP_NORESERVE,
            fd,
        )?;
        Ok(Self {
            reservation,
            rights: Vec::new(),
            parked_charge: 0,
        })
    }

    /// The context page.
    pub(super) fn context(&self) -> *mut u8 {
        self.reservation.ptr()
    }

    /// Guest address 0.
    pub(super) fn guest_base(&self) -> *mut u8 {
        // SAFETY: CONTEXT_SPAN is inside the reservation.
        unsafe { self.reservation.ptr().add(CONTEXT_SPAN) }
    }

    /// Gives pages `[first, end)` the host protection matching `access`.
    pub(super) fn protect(
        &self,
        first: usize,
        end: usize,
        access: Access,
    ) -> Result<(), MemoryError> {
        let page = PAGE_SIZE as usize;
        self.reservation.protect(
            CONTEXT_SPAN + first * page,
            (end - first) * page,
            prot_of(access),
        )
    }

    /// Makes all guest memory inaccessible through this window (one mapping again). Callers
    /// keep `rights` in step.
    pub(super) fn revoke_all(&self) -> Result<(), MemoryError> {
        self.reservation
            .protect(CONTEXT_SPAN, SPACE, libc::PROT_NONE)
    }

    /// Clears the last `len` bytes of the context page (the part a run uses).
    pub(super) fn clear_context(&self, len: usize) {
        let len = len.min(CONTEXT_SPAN);
        // SAFETY: the range lies in the context page, a private read-write mapping.
        unsafe { std::ptr::write_bytes(self.guest_base().sub(len), 0, len) };
    }
}
