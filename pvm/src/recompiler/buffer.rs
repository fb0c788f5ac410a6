//! The buffer generated code is assembled into: written straight into the program's own
//! mapping ([`WritableCode`]), reserved for the worst case, so finished code is never copied.
//!
//! Instruction bodies are encoded by dynasmrt through [`DynasmApi`]; jumps are written here as raw
//! `rel8` / `rel32` fields and patched by the code generator, which knows every target by
//! instruction index. That keeps label bookkeeping to one `u32` per instruction instead of a
//! label registry and relocation list.

use std::io;

use dynasmrt::{AssemblyOffset, DynasmApi};

use super::exec::{ExecutableCode, WritableCode};

/// An x86 condition code (the low nibble of `jcc` / `setcc` / `cmovcc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Cond {
    Below = 0x2,
    AboveEq = 0x3,
    Eq = 0x4,
    NotEq = 0x5,
    BelowEq = 0x6,
    Above = 0x7,
    Less = 0xC,
    GreaterEq = 0xD,
    LessEq = 0xE,
    Greater = 0xF,
}

/// Where a jump's displacement field was written, to be patched once its target is known.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rel32(u32);

/// A forward `rel8` jump to be bound to a later offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rel8(u32);

/// Position-independent code being assembled at base address 0.
pub(super) struct CodeBuffer {
    ptr: *mut u8,
    len: usize,
    capacity: usize,
    /// Set when a write did not fit: the code is then discarded by [`finish`](Self::finish).
    overflowed: bool,
    mapping: WritableCode,
}

impl CodeBuffer {
    /// A buffer of at most `capacity` bytes, of which about `likely` will be used.
    pub(super) fn new(capacity: usize, likely: usize) -> io::Result<Self> {
        let mapping = WritableCode::reserve(capacity, likely)?;
        Ok(Self {
            ptr: mapping.as_mut_ptr(),
            len: 0,
            capacity: mapping.capacity(),
            overflowed: false,
            mapping,
        })
    }

    /// Appends `bytes`, or records an overflow.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() <= self.capacity - self.len {
            // SAFETY: the range lies inside the writable mapping (checked just above).
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(self.len), bytes.len())
            };
            self.len += bytes.len();
        } else {
            self.overflow();
        }
    }

    #[cold]
    fn overflow(&mut self) {
        self.overflowed = true;
    }

    /// The bytes written so far.
    fn written(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes from `ptr` are inside the mapping and were written.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// The current offset.
    #[inline(always)]
    pub(super) fn here(&self) -> u32 {
        self.len as u32
    }

    /// Raw bytes.
    #[inline(always)]
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }

    /// `mov ecx, value`.
    #[inline(always)]
    pub(super) fn mov_ecx(&mut self, value: u32) {
        let v = value.to_le_bytes();
        self.bytes(&[0xB9, v[0], v[1], v[2], v[3]]);
    }

    /// `jmp` to `target` (already emitted): `rel8` when it reaches.
    #[inline(always)]
    pub(super) fn jmp_to(&mut self, target: u32) {
        let rel = i64::from(target) - (i64::from(self.here()) + 2);
        if let Ok(rel) = i8::try_from(rel) {
            self.bytes(&[0xEB, rel as u8]);
            return;
        }
        let at = self.jmp_forward();
        self.patch(at, target);
    }

    /// `jmp rel32` with its displacement left to [`patch`](Self::patch).
    #[inline(always)]
    pub(super) fn jmp_forward(&mut self) -> Rel32 {
        self.bytes(&[0xE9, 0, 0, 0, 0]);
        Rel32(self.here() - 4)
    }

    /// `jcc rel32` with its displacement left to [`patch`](Self::patch).
    #[inline(always)]
    pub(super) fn jcc_forward(&mut self, cond: Cond) -> Rel32 {
        self.bytes(&[0x0F, 0x80 | cond as u8, 0, 0, 0, 0]);
        Rel32(self.here() - 4)
    }

    /// `jcc` to `target` (already emitted): `rel8` when it reaches.
    #[inline(always)]
    pub(super) fn jcc_to(&mut self, cond: Cond, target: u32) {
        let rel = i64::from(target) - (i64::from(self.here()) + 2);
        if let Ok(rel) = i8::try_from(rel) {
            self.bytes(&[0x70 | cond as u8, rel as u8]);
            return;
        }
        let at = self.jcc_forward(cond);
        self.patch(at, target);
    }

    /// Points the jump whose displacement is at `at` to `target`.
    #[inline(always)]
    pub(super) fn patch(&mut self, at: Rel32, target: u32) {
        let rel = target.wrapping_sub(at.0 + 4);
        // Code is smaller than 2 GiB (`codegen::MAX_CODE_RESERVATION`), so this fits in i32.
        debug_assert!((i64::from(target) - i64::from(at.0 + 4)).unsigned_abs() < 1 << 31);
        let at = at.0 as usize;
        if let Some(field) = self.written().get_mut(at..at + 4) {
            field.copy_from_slice(&rel.to_le_bytes());
        }
    }

    /// A short `jcc` over code that follows; [`bind`](Self::bind) it where that code ends.
    #[inline(always)]
    pub(super) fn jcc_short(&mut self, cond: Cond) -> Rel8 {
        self.bytes(&[0x70 | cond as u8, 0]);
        Rel8(self.here() - 1)
    }

    /// A short `jmp` over code that follows.
    #[inline(always)]
    pub(super) fn jmp_short(&mut self) -> Rel8 {
        self.bytes(&[0xEB, 0]);
        Rel8(self.here() - 1)
    }

    /// Points a short jump to the current offset. The code jumped over must be under 128 bytes
    /// (every use skips a few instructions).
    #[inline(always)]
    pub(super) fn bind(&mut self, at: Rel8) {
        let distance = self.here() - (at.0 + 1);
        debug_assert!(distance < 128, "short jump over {distance} bytes");
        if let Some(field) = self.written().get_mut(at.0 as usize) {
            *field = distance as u8;
        }
    }

    /// The finished code, made executable.
    pub(super) fn finish(self) -> io::Result<ExecutableCode> {
        if self.overflowed {
            return Err(io::Error::other(format!(
                "generated code exceeds the {} bytes reserved for it",
                self.capacity
            )));
        }
        self.mapping.into_executable(self.len)
    }
}

// dynasmrt emits an instruction as a few pieces of one to eight bytes: appended with one bounds
// check each, never a `memcpy` call.
impl Extend<u8> for CodeBuffer {
    #[inline(always)]
    fn extend<T: IntoIterator<Item = u8>>(&mut self, iter: T) {
        for byte in iter {
            self.put(&[byte]);
        }
    }
}

impl<'a> Extend<&'a u8> for CodeBuffer {
    #[inline(always)]
    fn extend<T: IntoIterator<Item = &'a u8>>(&mut self, iter: T) {
        for &byte in iter {
            self.put(&[byte]);
        }
    }
}

impl DynasmApi for CodeBuffer {
    fn offset(&self) -> AssemblyOffset {
        AssemblyOffset(self.len)
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.put(&[byte]);
    }

    #[inline(always)]
    fn push_i16(&mut self, value: i16) {
        self.put(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_i32(&mut self, value: i32) {
        self.put(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_i64(&mut self, value: i64) {
        self.put(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u16(&mut self, value: u16) {
        self.put(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u32(&mut self, value: u32) {
        self.put(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u64(&mut self, value: u64) {
        self.put(&value.to_le_bytes());
    }

    fn align(&mut self, alignment: usize, with: u8) {
        while self.len % alignment != 0 && !self.overflowed {
            self.put(&[with]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_are_relative_to_the_end_of_their_instruction() {
        let mut b = CodeBuffer::new(64, 64).unwrap();
        b.bytes(&[0x90; 3]);
        let back = b.here();
        b.jmp_to(back);
        let fwd = b.jcc_forward(Cond::Less);
        let short = b.jcc_short(Cond::Eq);
        b.bytes(&[0x90; 2]);
        b.bind(short);
        let end = b.here();
        b.patch(fwd, end);
        let code = b.finish().unwrap();
        let code = code.bytes();
        // Backward jumps that reach take the short form.
        assert_eq!(&code[3..5], &[0xEB, 0xFE]);
        assert_eq!(&code[5..11], &[0x0F, 0x8C, 4, 0, 0, 0]);
        assert_eq!(&code[11..13], &[0x74, 2]);
    }

    #[test]
    fn code_larger_than_its_reservation_is_an_error_not_an_overrun() {
        let mut b = CodeBuffer::new(1, 1).unwrap();
        let capacity = b.capacity;
        for _ in 0..capacity + 10 {
            b.push(0x90);
        }
        b.push_u64(0);
        assert_eq!(b.here() as usize, capacity);
        let error = b.finish().unwrap_err();
        assert!(error.to_string().contains("exceeds"), "{error}");
    }
}
