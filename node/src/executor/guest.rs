//! Guest memory as host functions see it: every pointer and length comes from guest registers
//! (64-bit), so each range is checked against the 32-bit address space and the pages' access
//! before anything is read or written. A range that fails is GP's `☇` (the host function
//! panics the VM); a range too large for the host to buffer is reported separately so that
//! the caller can answer with a result code instead of allocating.

use kiln_pvm::{Access, Kernel};

/// Why a guest range cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GuestError {
    /// Outside the address space or not accessible as needed: the VM panics.
    Fault,
    /// Accessible, but longer than the host buffers.
    TooLarge,
}

/// The 32-bit address of `[addr, addr + len)`, if the range lies inside the address space.
fn in_space(addr: u64, len: u64) -> Option<u32> {
    let end = addr.checked_add(len)?;
    if end > 1 << 32 {
        return None;
    }
    u32::try_from(addr).ok()
}

/// Whether `[addr, addr + len)` is readable (an empty range always is). O(log runs of
/// accessible pages) for any length: guest-chosen lengths cost no host time.
pub(super) fn readable(kernel: &Kernel, addr: u64, len: u64) -> bool {
    len == 0 || in_space(addr, len).is_some_and(|a| kernel.memory().is_readable(a, len))
}

/// Whether `[addr, addr + len)` is writable (an empty range always is). Callers pass lengths
/// bounded by what they write.
fn writable(kernel: &Kernel, addr: u64, len: u64) -> bool {
    len == 0
        || in_space(addr, len)
            .is_some_and(|a| kernel.memory().check_range(a, len, Access::Write).is_ok())
}

/// Reads `[addr, addr + len)`, at most `max` bytes.
pub(super) fn read(
    kernel: &Kernel,
    addr: u64,
    len: u64,
    max: usize,
) -> Result<Vec<u8>, GuestError> {
    if !readable(kernel, addr, len) {
        return Err(GuestError::Fault);
    }
    if len > max as u64 {
        return Err(GuestError::TooLarge);
    }
    let mut buf = vec![0; len as usize];
    if len > 0 {
        kernel
            .memory()
            .read(addr as u32, &mut buf)
            .map_err(|_| GuestError::Fault)?;
    }
    Ok(buf)
}

/// Writes `data` at `addr`; nothing is written unless all of it can be.
pub(super) fn write(kernel: &mut Kernel, addr: u64, data: &[u8]) -> Result<(), GuestError> {
    if data.is_empty() {
        return Ok(());
    }
    if !writable(kernel, addr, data.len() as u64) {
        return Err(GuestError::Fault);
    }
    kernel
        .memory_mut()
        .write(addr as u32, data)
        .map_err(|_| GuestError::Fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_lie_inside_the_address_space() {
        assert_eq!(in_space(0, 0), Some(0));
        assert_eq!(in_space(u64::MAX, 0), None);
        assert_eq!(in_space(0xFFFF_FFFF, 1), Some(0xFFFF_FFFF));
        assert_eq!(in_space(0xFFFF_FFFF, 2), None);
        assert_eq!(in_space(1 << 32, 1), None);
        assert_eq!(in_space(u64::MAX, 2), None);
    }
}
