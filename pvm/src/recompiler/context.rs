//! The context block shared by generated code and the host (`r15` points at it).

/// Exit codes written by generated code.
pub(super) mod exit {
    pub const PANIC: u32 = 1;
    pub const OUT_OF_GAS: u32 = 2;
    pub const HOST_CALL: u32 = 3;
    /// A dynamic jump to the halt address.
    pub const HALT: u32 = 4;
}

/// Registers, gas and the last exit, at fixed offsets the generated code uses.
#[repr(C)]
#[derive(Debug, Clone)]
pub(super) struct VmContext {
    pub regs: [u64; 13],
    pub gas: i64,
    pub exit: u32,
    pub exit_index: u32,
    pub arg: u64,
    /// Native offsets (from `code_base`) of each jump-table entry's block, 0 when invalid.
    pub jump_table: *const u32,
    /// Entries in `jump_table`.
    pub jump_table_len: u64,
    /// Start of the generated code.
    pub code_base: u64,
}

impl Default for VmContext {
    fn default() -> Self {
        Self {
            regs: [0; 13],
            gas: 0,
            exit: 0,
            exit_index: 0,
            arg: 0,
            jump_table: std::ptr::null(),
            jump_table_len: 0,
            code_base: 0,
        }
    }
}

pub(super) const REGS: i32 = 0;
pub(super) const GAS: i32 = 104;
pub(super) const EXIT: i32 = 112;
pub(super) const EXIT_INDEX: i32 = 116;
pub(super) const ARG: i32 = 120;
pub(super) const JUMP_TABLE: i32 = 128;
pub(super) const JUMP_TABLE_LEN: i32 = 136;
pub(super) const CODE_BASE: i32 = 144;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_the_layout() {
        let c = VmContext::default();
        let base = &c as *const _ as usize;
        assert_eq!(&c.regs as *const _ as usize - base, REGS as usize);
        assert_eq!(&c.gas as *const _ as usize - base, GAS as usize);
        assert_eq!(&c.exit as *const _ as usize - base, EXIT as usize);
        assert_eq!(
            &c.exit_index as *const _ as usize - base,
            EXIT_INDEX as usize
        );
        assert_eq!(&c.arg as *const _ as usize - base, ARG as usize);
        assert_eq!(
            &c.jump_table as *const _ as usize - base,
            JUMP_TABLE as usize
        );
        assert_eq!(
            &c.jump_table_len as *const _ as usize - base,
            JUMP_TABLE_LEN as usize
        );
        assert_eq!(&c.code_base as *const _ as usize - base, CODE_BASE as usize);
    }
}
