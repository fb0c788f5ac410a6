//! The PVM instruction set: one table of every instruction (name, operand format, GP 0.7 opcode
//! number), the per-variant opcode maps derived from it, and operand decoding.
//!
//! Every consumer (decoder, interpreter, gas models, assembler, disassembler, recompiler) works from
//! [`Opcode`], never from raw opcode numbers, so ISA variants differ only in their decode tables.

mod args;
mod variant;

pub use args::{decode_args, skip_len, Args};
pub(crate) use args::{decode_compact, CompactArgs};
pub use variant::{IsaVariant, OpcodeTable};

/// Operand layout classes of GP §A.5 (F0–F12 in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// F0: no operands.
    NoArgs,
    /// F1: one immediate.
    Imm,
    /// F2: one register and a raw 64-bit immediate.
    RegImm64,
    /// F3: two immediates.
    ImmImm,
    /// F4: one pc-relative offset.
    Offset,
    /// F5: one register and one immediate.
    RegImm,
    /// F6: one register and two immediates.
    RegImmImm,
    /// F7: one register, one immediate and one offset.
    RegImmOffset,
    /// F8: two registers (destination, source).
    RegReg,
    /// F9: two registers and one immediate.
    RegRegImm,
    /// F10: two registers and one offset.
    RegRegOffset,
    /// F11: two registers and two immediates.
    RegRegImmImm,
    /// F12: three registers.
    RegRegReg,
}

macro_rules! define_opcodes {
    ($( $variant:ident = $gp07:expr, $name:literal, $format:ident; )*) => {
        /// A PVM instruction, independent of any ISA variant's numbering.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum Opcode { $( $variant, )* }

        impl Opcode {
            /// Every instruction, in table order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$variant, )* ];

            /// The instruction's mnemonic (the Gray Paper's name).
            pub const fn name(self) -> &'static str {
                match self { $( Opcode::$variant => $name, )* }
            }

            /// The operand format.
            #[inline(always)]
            pub const fn format(self) -> Format {
                const FORMATS: &[Format] = &[ $( Format::$format, )* ];
                FORMATS[self as usize]
            }

            /// The opcode number in GP 0.7.x (`None` for instructions that only exist in later drafts).
            pub const fn gp07_number(self) -> Option<u8> {
                match self { $( Opcode::$variant => $gp07, )* }
            }
        }
    };
}

define_opcodes! {
    Trap = Some(0), "trap", NoArgs;
    Fallthrough = Some(1), "fallthrough", NoArgs;
    Unlikely = None, "unlikely", NoArgs;
    Ecalli = Some(10), "ecalli", Imm;
    LoadImm64 = Some(20), "load_imm_64", RegImm64;
    StoreImmU8 = Some(30), "store_imm_u8", ImmImm;
    StoreImmU16 = Some(31), "store_imm_u16", ImmImm;
    StoreImmU32 = Some(32), "store_imm_u32", ImmImm;
    StoreImmU64 = Some(33), "store_imm_u64", ImmImm;
    Jump = Some(40), "jump", Offset;
    JumpInd = Some(50), "jump_ind", RegImm;
    LoadImm = Some(51), "load_imm", RegImm;
    LoadU8 = Some(52), "load_u8", RegImm;
    LoadI8 = Some(53), "load_i8", RegImm;
    LoadU16 = Some(54), "load_u16", RegImm;
    LoadI16 = Some(55), "load_i16", RegImm;
    LoadU32 = Some(56), "load_u32", RegImm;
    LoadI32 = Some(57), "load_i32", RegImm;
    LoadU64 = Some(58), "load_u64", RegImm;
    StoreU8 = Some(59), "store_u8", RegImm;
    StoreU16 = Some(60), "store_u16", RegImm;
    StoreU32 = Some(61), "store_u32", RegImm;
    StoreU64 = Some(62), "store_u64", RegImm;
    StoreImmIndU8 = Some(70), "store_imm_ind_u8", RegImmImm;
    StoreImmIndU16 = Some(71), "store_imm_ind_u16", RegImmImm;
    StoreImmIndU32 = Some(72), "store_imm_ind_u32", RegImmImm;
    StoreImmIndU64 = Some(73), "store_imm_ind_u64", RegImmImm;
    LoadImmJump = Some(80), "load_imm_jump", RegImmOffset;
    BranchEqImm = Some(81), "branch_eq_imm", RegImmOffset;
    BranchNeImm = Some(82), "branch_ne_imm", RegImmOffset;
    BranchLtUImm = Some(83), "branch_lt_u_imm", RegImmOffset;
    BranchLeUImm = Some(84), "branch_le_u_imm", RegImmOffset;
    BranchGeUImm = Some(85), "branch_ge_u_imm", RegImmOffset;
    BranchGtUImm = Some(86), "branch_gt_u_imm", RegImmOffset;
    BranchLtSImm = Some(87), "branch_lt_s_imm", RegImmOffset;
    BranchLeSImm = Some(88), "branch_le_s_imm", RegImmOffset;
    BranchGeSImm = Some(89), "branch_ge_s_imm", RegImmOffset;
    BranchGtSImm = Some(90), "branch_gt_s_imm", RegImmOffset;
    MoveReg = Some(100), "move_reg", RegReg;
    Sbrk = Some(101), "sbrk", RegReg;
    CountSetBits64 = Some(102), "count_set_bits_64", RegReg;
    CountSetBits32 = Some(103), "count_set_bits_32", RegReg;
    LeadingZeroBits64 = Some(104), "leading_zero_bits_64", RegReg;
    LeadingZeroBits32 = Some(105), "leading_zero_bits_32", RegReg;
    TrailingZeroBits64 = Some(106), "trailing_zero_bits_64", RegReg;
    TrailingZeroBits32 = Some(107), "trailing_zero_bits_32", RegReg;
    SignExtend8 = Some(108), "sign_extend_8", RegReg;
    SignExtend16 = Some(109), "sign_extend_16", RegReg;
    ZeroExtend16 = Some(110), "zero_extend_16", RegReg;
    ReverseBytes = Some(111), "reverse_bytes", RegReg;
    StoreIndU8 = Some(120), "store_ind_u8", RegRegImm;
    StoreIndU16 = Some(121), "store_ind_u16", RegRegImm;
    StoreIndU32 = Some(122), "store_ind_u32", RegRegImm;
    StoreIndU64 = Some(123), "store_ind_u64", RegRegImm;
    LoadIndU8 = Some(124), "load_ind_u8", RegRegImm;
    LoadIndI8 = Some(125), "load_ind_i8", RegRegImm;
    LoadIndU16 = Some(126), "load_ind_u16", RegRegImm;
    LoadIndI16 = Some(127), "load_ind_i16", RegRegImm;
    LoadIndU32 = Some(128), "load_ind_u32", RegRegImm;
    LoadIndI32 = Some(129), "load_ind_i32", RegRegImm;
    LoadIndU64 = Some(130), "load_ind_u64", RegRegImm;
    AddImm32 = Some(131), "add_imm_32", RegRegImm;
    AndImm = Some(132), "and_imm", RegRegImm;
    XorImm = Some(133), "xor_imm", RegRegImm;
    OrImm = Some(134), "or_imm", RegRegImm;
    MulImm32 = Some(135), "mul_imm_32", RegRegImm;
    SetLtUImm = Some(136), "set_lt_u_imm", RegRegImm;
    SetLtSImm = Some(137), "set_lt_s_imm", RegRegImm;
    ShloLImm32 = Some(138), "shlo_l_imm_32", RegRegImm;
    ShloRImm32 = Some(139), "shlo_r_imm_32", RegRegImm;
    SharRImm32 = Some(140), "shar_r_imm_32", RegRegImm;
    NegAddImm32 = Some(141), "neg_add_imm_32", RegRegImm;
    SetGtUImm = Some(142), "set_gt_u_imm", RegRegImm;
    SetGtSImm = Some(143), "set_gt_s_imm", RegRegImm;
    ShloLImmAlt32 = Some(144), "shlo_l_imm_alt_32", RegRegImm;
    ShloRImmAlt32 = Some(145), "shlo_r_imm_alt_32", RegRegImm;
    SharRImmAlt32 = Some(146), "shar_r_imm_alt_32", RegRegImm;
    CmovIzImm = Some(147), "cmov_iz_imm", RegRegImm;
    CmovNzImm = Some(148), "cmov_nz_imm", RegRegImm;
    AddImm64 = Some(149), "add_imm_64", RegRegImm;
    MulImm64 = Some(150), "mul_imm_64", RegRegImm;
    ShloLImm64 = Some(151), "shlo_l_imm_64", RegRegImm;
    ShloRImm64 = Some(152), "shlo_r_imm_64", RegRegImm;
    SharRImm64 = Some(153), "shar_r_imm_64", RegRegImm;
    NegAddImm64 = Some(154), "neg_add_imm_64", RegRegImm;
    ShloLImmAlt64 = Some(155), "shlo_l_imm_alt_64", RegRegImm;
    ShloRImmAlt64 = Some(156), "shlo_r_imm_alt_64", RegRegImm;
    SharRImmAlt64 = Some(157), "shar_r_imm_alt_64", RegRegImm;
    RotR64Imm = Some(158), "rot_r_64_imm", RegRegImm;
    RotR64ImmAlt = Some(159), "rot_r_64_imm_alt", RegRegImm;
    RotR32Imm = Some(160), "rot_r_32_imm", RegRegImm;
    RotR32ImmAlt = Some(161), "rot_r_32_imm_alt", RegRegImm;
    BranchEq = Some(170), "branch_eq", RegRegOffset;
    BranchNe = Some(171), "branch_ne", RegRegOffset;
    BranchLtU = Some(172), "branch_lt_u", RegRegOffset;
    BranchLtS = Some(173), "branch_lt_s", RegRegOffset;
    BranchGeU = Some(174), "branch_ge_u", RegRegOffset;
    BranchGeS = Some(175), "branch_ge_s", RegRegOffset;
    LoadImmJumpInd = Some(180), "load_imm_jump_ind", RegRegImmImm;
    Add32 = Some(190), "add_32", RegRegReg;
    Sub32 = Some(191), "sub_32", RegRegReg;
    Mul32 = Some(192), "mul_32", RegRegReg;
    DivU32 = Some(193), "div_u_32", RegRegReg;
    DivS32 = Some(194), "div_s_32", RegRegReg;
    RemU32 = Some(195), "rem_u_32", RegRegReg;
    RemS32 = Some(196), "rem_s_32", RegRegReg;
    ShloL32 = Some(197), "shlo_l_32", RegRegReg;
    ShloR32 = Some(198), "shlo_r_32", RegRegReg;
    SharR32 = Some(199), "shar_r_32", RegRegReg;
    Add64 = Some(200), "add_64", RegRegReg;
    Sub64 = Some(201), "sub_64", RegRegReg;
    Mul64 = Some(202), "mul_64", RegRegReg;
    DivU64 = Some(203), "div_u_64", RegRegReg;
    DivS64 = Some(204), "div_s_64", RegRegReg;
    RemU64 = Some(205), "rem_u_64", RegRegReg;
    RemS64 = Some(206), "rem_s_64", RegRegReg;
    ShloL64 = Some(207), "shlo_l_64", RegRegReg;
    ShloR64 = Some(208), "shlo_r_64", RegRegReg;
    SharR64 = Some(209), "shar_r_64", RegRegReg;
    And = Some(210), "and", RegRegReg;
    Xor = Some(211), "xor", RegRegReg;
    Or = Some(212), "or", RegRegReg;
    MulUpperSS = Some(213), "mul_upper_s_s", RegRegReg;
    MulUpperUU = Some(214), "mul_upper_u_u", RegRegReg;
    MulUpperSU = Some(215), "mul_upper_s_u", RegRegReg;
    SetLtU = Some(216), "set_lt_u", RegRegReg;
    SetLtS = Some(217), "set_lt_s", RegRegReg;
    CmovIz = Some(218), "cmov_iz", RegRegReg;
    CmovNz = Some(219), "cmov_nz", RegRegReg;
    RotL64 = Some(220), "rot_l_64", RegRegReg;
    RotL32 = Some(221), "rot_l_32", RegRegReg;
    RotR64 = Some(222), "rot_r_64", RegRegReg;
    RotR32 = Some(223), "rot_r_32", RegRegReg;
    AndInv = Some(224), "and_inv", RegRegReg;
    OrInv = Some(225), "or_inv", RegRegReg;
    Xnor = Some(226), "xnor", RegRegReg;
    Max = Some(227), "max", RegRegReg;
    MaxU = Some(228), "max_u", RegRegReg;
    Min = Some(229), "min", RegRegReg;
    MinU = Some(230), "min_u", RegRegReg;
}

impl Opcode {
    /// Whether the instruction ends a basic block (the set T of GP §A.3).
    #[inline(always)]
    pub const fn is_terminator(self) -> bool {
        const TERMINATORS: [bool; Opcode::ALL.len()] = {
            let mut table = [false; Opcode::ALL.len()];
            let mut i = 0;
            while i < Opcode::ALL.len() {
                table[i] = Opcode::ALL[i].compute_is_terminator();
                i += 1;
            }
            table
        };
        TERMINATORS[self as usize]
    }

    const fn compute_is_terminator(self) -> bool {
        use Opcode::*;
        matches!(
            self,
            Trap | Fallthrough
                | Jump
                | JumpInd
                | LoadImmJump
                | LoadImmJumpInd
                | BranchEq
                | BranchNe
                | BranchLtU
                | BranchLtS
                | BranchGeU
                | BranchGeS
                | BranchEqImm
                | BranchNeImm
                | BranchLtUImm
                | BranchLeUImm
                | BranchGeUImm
                | BranchGtUImm
                | BranchLtSImm
                | BranchLeSImm
                | BranchGeSImm
                | BranchGtSImm
        )
    }

    /// Whether the instruction is a conditional branch (its second successor is the next instruction).
    pub const fn is_conditional_branch(self) -> bool {
        matches!(self.format(), Format::RegRegOffset | Format::RegImmOffset)
            && !matches!(self, Opcode::LoadImmJump)
    }

    /// Looks an instruction up by mnemonic.
    pub fn from_name(name: &str) -> Option<Opcode> {
        Opcode::ALL.iter().copied().find(|op| op.name() == name)
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_gp07_instruction_once() {
        let numbered: Vec<u8> = Opcode::ALL
            .iter()
            .filter_map(|op| op.gp07_number())
            .collect();
        assert_eq!(numbered.len(), 139);
        let mut sorted = numbered.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 139, "duplicate GP 0.7 opcode numbers");
        assert_eq!(Opcode::ALL.len(), 140);
    }

    #[test]
    fn names_are_unique_and_found() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_name(op.name()), Some(*op));
        }
    }
}
