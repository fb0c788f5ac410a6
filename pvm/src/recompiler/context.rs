//! The context block shared by generated code and the host (`r15` points at it).

/// Exit codes written by generated code.
pub(super) mod exit {
    pub const PANIC: u32 = 1;
    pub const OUT_OF_GAS: u32 = 2;
    pub const HOST_CALL: u32 = 3;
    /// A dynamic jump the host resolves (target address in `arg`).
    pub const DYNAMIC_JUMP: u32 = 4;
}

/// Registers, gas and the last exit, at fixed offsets the generated code uses.
#[repr(C)]
#[derive(Debug, Default, Clone)]
pub(super) struct VmContext {
    pub regs: [u64; 13],
    pub gas: i64,
    pub exit: u32,
    pub exit_index: u32,
    pub arg: u64,
}

pub(super) const REGS: i32 = 0;
pub(super) const GAS: i32 = 104;
pub(super) const EXIT: i32 = 112;
pub(super) const EXIT_INDEX: i32 = 116;
pub(super) const ARG: i32 = 120;

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
    }
}
