//! The byte vector generated code is assembled into, reused across compilations on the same
//! thread (so a large program does not fault in a fresh multi-megabyte buffer every time).
//!
//! Instruction bodies are encoded by dynasmrt through [`DynasmApi`]; jumps are written here as raw
//! `rel8` / `rel32` fields and patched by the code generator, which knows every target by
//! instruction index. That keeps label bookkeeping to one `u32` per instruction instead of a
//! label registry and relocation list.

use std::cell::RefCell;

use dynasmrt::{AssemblyOffset, DynasmApi};

/// Spare buffers larger than this are freed rather than kept for the next compilation.
const KEEP_AT_MOST: usize = 64 << 20;

thread_local! {
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

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
    ops: Vec<u8>,
}

impl CodeBuffer {
    /// An empty buffer with room for about `capacity` bytes.
    pub(super) fn new(capacity: usize) -> Self {
        let mut ops = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
        ops.clear();
        ops.reserve(capacity);
        Self { ops }
    }

    /// The current offset.
    #[inline(always)]
    pub(super) fn here(&self) -> u32 {
        self.ops.len() as u32
    }

    /// Raw bytes.
    #[inline(always)]
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.ops.extend_from_slice(bytes);
    }

    /// `mov ecx, value`.
    #[inline(always)]
    pub(super) fn mov_ecx(&mut self, value: u32) {
        let v = value.to_le_bytes();
        self.bytes(&[0xB9, v[0], v[1], v[2], v[3]]);
    }

    /// `jmp rel32` to `target` (already emitted).
    #[inline(always)]
    pub(super) fn jmp_to(&mut self, target: u32) {
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

    /// `jcc rel32` to `target`.
    #[inline(always)]
    pub(super) fn jcc_to(&mut self, cond: Cond, target: u32) {
        let at = self.jcc_forward(cond);
        self.patch(at, target);
    }

    /// Points the jump whose displacement is at `at` to `target`.
    #[inline(always)]
    pub(super) fn patch(&mut self, at: Rel32, target: u32) {
        let at = at.0 as usize;
        let rel = target.wrapping_sub(at as u32 + 4);
        self.ops[at..at + 4].copy_from_slice(&rel.to_le_bytes());
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
        self.ops[at.0 as usize] = distance as u8;
    }

    /// The assembled code; the vector goes back to the thread's spare slot when `use_code`
    /// returns.
    pub(super) fn finish<T>(mut self, use_code: impl FnOnce(&[u8]) -> T) -> T {
        let result = use_code(&self.ops);
        let ops = std::mem::take(&mut self.ops);
        if ops.capacity() <= KEEP_AT_MOST {
            SPARE.with(|spare| *spare.borrow_mut() = ops);
        }
        result
    }
}

// dynasmrt emits an instruction as a few pieces of one to eight bytes. `Vec::extend` would copy
// each with a `memcpy` call; byte pushes and fixed-size copies inline to a handful of moves.
impl Extend<u8> for CodeBuffer {
    #[inline(always)]
    fn extend<T: IntoIterator<Item = u8>>(&mut self, iter: T) {
        for byte in iter {
            self.ops.push(byte);
        }
    }
}

impl<'a> Extend<&'a u8> for CodeBuffer {
    #[inline(always)]
    fn extend<T: IntoIterator<Item = &'a u8>>(&mut self, iter: T) {
        for &byte in iter {
            self.ops.push(byte);
        }
    }
}

impl DynasmApi for CodeBuffer {
    fn offset(&self) -> AssemblyOffset {
        AssemblyOffset(self.ops.len())
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.ops.push(byte);
    }

    #[inline(always)]
    fn push_i16(&mut self, value: i16) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_i32(&mut self, value: i32) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_i64(&mut self, value: i64) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u16(&mut self, value: u16) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u32(&mut self, value: u32) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    #[inline(always)]
    fn push_u64(&mut self, value: u64) {
        self.ops.extend_from_slice(&value.to_le_bytes());
    }

    fn align(&mut self, alignment: usize, with: u8) {
        let misalignment = self.ops.len() % alignment;
        if misalignment != 0 {
            self.ops
                .extend(std::iter::repeat_n(with, alignment - misalignment));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_are_relative_to_the_end_of_their_instruction() {
        let mut b = CodeBuffer::new(64);
        b.bytes(&[0x90; 3]);
        let back = b.here();
        b.jmp_to(back);
        let fwd = b.jcc_forward(Cond::Less);
        let short = b.jcc_short(Cond::Eq);
        b.bytes(&[0x90; 2]);
        b.bind(short);
        let end = b.here();
        b.patch(fwd, end);
        b.finish(|code| {
            assert_eq!(&code[3..8], &[0xE9, 0xFB, 0xFF, 0xFF, 0xFF]);
            assert_eq!(&code[8..14], &[0x0F, 0x8C, 4, 0, 0, 0]);
            assert_eq!(&code[14..16], &[0x74, 2]);
        });
    }
}
