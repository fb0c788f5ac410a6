//! The context block shared by generated code, the host and the fault handler.
//!
//! It lives in the window's context page, [`CONTEXT_BELOW_GUEST`] bytes below guest address 0, so
//! that one register (`r15`, the guest base) reaches both guest memory and the context, the
//! context with one-byte displacements. It holds only what one run needs; the registers stay in
//! the instance and are reached through `regs`.

use crate::memory::window::CONTEXT_SPAN;

/// Exit codes written by generated code (or by the fault handler).
pub(super) mod exit {
    pub const PANIC: u32 = 1;
    pub const OUT_OF_GAS: u32 = 2;
    pub const HOST_CALL: u32 = 3;
    /// A dynamic jump to the halt address.
    pub const HALT: u32 = 4;
    /// The host must execute instruction `exit_index` itself (`sbrk`, or an access that
    /// faulted), then continue after it.
    pub const STEP: u32 = 5;
}

/// A memory access instruction in generated code: its native offset and instruction index.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Trap {
    pub native: u32,
    pub index: u32,
}

/// Gas, the last exit and the per-program tables, at fixed offsets the generated code uses.
#[repr(C)]
#[derive(Debug, Clone)]
pub(super) struct VmContext {
    pub gas: i64,
    pub exit: u32,
    pub exit_index: u32,
    pub arg: u64,
    /// The instance's 13 registers (loaded on entry, stored on exit).
    pub regs: *mut u64,
    /// Native offsets (from `code_base`) of each jump-table entry's block, 0 when invalid.
    pub jump_table: *const u32,
    /// Entries in `jump_table`.
    pub jump_table_len: u64,
    /// Start of the generated code.
    pub code_base: u64,
    /// Bytes of generated code.
    pub code_len: u64,
    /// Every guest memory access in the code, by native offset.
    pub trap_table: *const Trap,
    /// Entries in `trap_table`.
    pub trap_table_len: u64,
    /// Where the fault handler resumes: the exit path that stores the registers.
    pub fault_exit: u64,
    /// The compiled program these fields belong to (unique in the process, never reused).
    pub program_id: u64,
}

/// Bytes from the context's start to guest address 0.
pub(super) const CONTEXT_BELOW_GUEST: usize = 128;
const _: () = assert!(std::mem::size_of::<VmContext>() <= CONTEXT_BELOW_GUEST);
const _: () = assert!(CONTEXT_BELOW_GUEST <= crate::memory::CONTEXT_USED);
const _: () = assert!(CONTEXT_BELOW_GUEST <= CONTEXT_SPAN);

const BASE: i32 = -(CONTEXT_BELOW_GUEST as i32);
pub(super) const GAS: i32 = BASE;
pub(super) const EXIT: i32 = BASE + 8;
pub(super) const EXIT_INDEX: i32 = BASE + 12;
pub(super) const ARG: i32 = BASE + 16;
pub(super) const REGS: i32 = BASE + 24;
pub(super) const JUMP_TABLE: i32 = BASE + 32;
pub(super) const JUMP_TABLE_LEN: i32 = BASE + 40;
pub(super) const CODE_BASE: i32 = BASE + 48;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_layout() {
        let c = VmContext {
            gas: 0,
            exit: 0,
            exit_index: 0,
            arg: 0,
            regs: std::ptr::null_mut(),
            jump_table: std::ptr::null(),
            jump_table_len: 0,
            code_base: 0,
            code_len: 0,
            trap_table: std::ptr::null(),
            trap_table_len: 0,
            fault_exit: 0,
            program_id: 0,
        };
        let ctx = &c as *const VmContext as isize;
        let at = |p: *const u8| (p as isize - ctx) as i32 + BASE;
        assert_eq!(at((&c.gas as *const i64).cast()), GAS);
        assert_eq!(at((&c.exit as *const u32).cast()), EXIT);
        assert_eq!(at((&c.exit_index as *const u32).cast()), EXIT_INDEX);
        assert_eq!(at((&c.arg as *const u64).cast()), ARG);
        assert_eq!(at((&c.regs as *const *mut u64).cast()), REGS);
        assert_eq!(at((&c.jump_table as *const *const u32).cast()), JUMP_TABLE);
        assert_eq!(at((&c.jump_table_len as *const u64).cast()), JUMP_TABLE_LEN);
        assert_eq!(at((&c.code_base as *const u64).cast()), CODE_BASE);
    }
}
