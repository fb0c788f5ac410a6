//! Assembler and disassembler (text syntax for every instruction).
//!
//! [`assemble`] turns text into a code blob ([`CodeBlob`]) or, when the text uses any data or
//! standard-program directive, a [`StandardProgram`]. [`disassemble_blob`] and
//! [`disassemble_standard`] produce *canonical* text: assembling it gives back identical bytes,
//! and disassembling the result gives identical text. [`format_instruction`] prints one decoded
//! instruction for tracers.
//!
//! # Syntax
//!
//! One statement per line. `#` or `//` start a comment (outside string literals); blank lines
//! are ignored; leading whitespace is insignificant.
//!
//! - **Labels**: `name:` on its own line or before a statement (several may precede one). Names
//!   start with a letter or `_` and continue with letters, digits, `_` or `.`; register names are
//!   reserved. A label's value is the pc of the next byte of code.
//! - **Instructions**: `mnemonic operand, operand, …` using the Gray Paper names of
//!   [`Opcode::name`](crate::isa::Opcode::name) (e.g. `add_64 r7, r8, r9`). Mnemonics are case-insensitive.
//! - **Registers**: `r0`…`r12`, or the RISC-V ABI aliases `ra sp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5`
//!   (in index order).
//! - **Immediates**: decimal, `0x` hex or `0b` binary, optionally negative, `_` separators
//!   allowed. Ordinary immediates are sign-extended 32-bit values: anything in
//!   `-2³¹ ..= 2³²−1` (values `2³¹ ..= 2³²−1` are 32-bit patterns, so `0x80000000` means
//!   `0xFFFFFFFF80000000`), or the 64-bit sign-extended form itself. `load_imm_64` takes any
//!   value in `-2⁶³ ..= 2⁶⁴−1`. `&label` is the dynamic-jump address `(i + 1) · 2` of the first
//!   jump-table entry `i` naming `label`.
//! - **Targets** (branches and jumps): a label, or `@<pc>` for an absolute pc (`@12`, `@-3`).
//!   Offsets are encoded relative to the instruction's own pc.
//!
//! Operands follow the order of the fields in the encoding (GP §A.5), except that three-register
//! instructions name the destination first:
//!
//! | Format | Operands | Example |
//! |---|---|---|
//! | F0 no args | — | `trap` |
//! | F1 one imm | `imm` | `ecalli 3` |
//! | F2 reg + imm64 | `reg, imm64` | `load_imm_64 r1, 0x123456789abcdef0` |
//! | F3 two imms | `imm, imm` | `store_imm_u8 0x20000, 7` |
//! | F4 offset | `target` | `jump loop` |
//! | F5 reg + imm | `reg, imm` | `load_imm r1, -5` |
//! | F6 reg + two imms | `reg, imm, imm` | `store_imm_ind_u32 r1, 8, 99` |
//! | F7 reg + imm + offset | `reg, imm, target` | `branch_eq_imm r1, 0, done` |
//! | F8 two regs | `rd, ra` | `move_reg r2, r3` |
//! | F9 two regs + imm | `ra, rb, imm` | `add_imm_64 r1, r2, 16` |
//! | F10 two regs + offset | `ra, rb, target` | `branch_lt_u r1, r2, loop` |
//! | F11 two regs + two imms | `ra, rb, imm, imm` | `load_imm_jump_ind r0, r1, 5, 0` |
//! | F12 three regs | `rd, ra, rb` | `add_64 r7, r8, r9` |
//!
//! # Directives
//!
//! - `.jump_table target, …`: appends entries (labels or `@<pc>`) to the jump table.
//! - `.insn xx xx …`: raw instruction bytes (hex); the first byte is marked as an instruction
//!   start. The disassembler uses it for invalid opcodes and non-canonical encodings.
//! - `.raw xx xx …`: raw code bytes that are not instruction starts (they lengthen the skip of
//!   the preceding instruction).
//! - Standard programs: `.ro_data` / `.rw_data` switch to a data section, `.code` switches back;
//!   in a data section `.bytes 01 02 ff` appends hex bytes and `.string "text"` appends text
//!   (escapes `\n \t \r \0 \\ \" \xNN`). `.heap_pages N` and `.stack_size N` set the header.
//!
//! # Encoding
//!
//! Encodings are canonical: every immediate and offset uses the fewest bytes that sign-extend to
//! its value (none for zero), register nibbles carry nothing else, and the layout is computed by
//! iteration (offsets start at their smallest size and grow until stable). Only instruction
//! starts are marked in the bitmask.

mod assemble;
mod disasm;
mod encode;
mod parse;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_vectors;

pub use assemble::assemble;
pub use disasm::{
    disassemble_blob, disassemble_standard, format_instruction, format_instruction_with,
};

use crate::blob::CodeBlob;
use crate::standard::StandardProgram;

/// The result of [`assemble`]: a bare code blob, or a standard program when the source uses data
/// or standard-program directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// A GP code blob (jump table, code, bitmask).
    Blob(CodeBlob),
    /// A GP standard program (data sections, heap pages, stack size and a code blob).
    Standard(StandardProgram),
}

impl Assembled {
    /// The encoded program: the blob bytes, or the standard-program bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Assembled::Blob(blob) => blob.to_bytes(),
            Assembled::Standard(program) => program.to_bytes(),
        }
    }
}

/// An assembly error: the 1-based source line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// The problem.
    pub kind: AsmErrorKind,
}

/// What is wrong with an assembly source line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    /// No instruction has this name.
    #[error("unknown mnemonic `{0}`")]
    UnknownMnemonic(String),
    /// No directive has this name.
    #[error("unknown directive `{0}`")]
    UnknownDirective(String),
    /// The instruction exists but not in the chosen ISA variant.
    #[error("instruction `{mnemonic}` is not part of ISA variant {isa}")]
    NotInIsa {
        /// The instruction.
        mnemonic: &'static str,
        /// The variant's name.
        isa: &'static str,
    },
    /// Wrong number of operands.
    #[error("`{mnemonic}` takes {expected} operand(s) ({syntax}), found {found}")]
    OperandCount {
        /// Instruction or directive.
        mnemonic: String,
        /// Operands expected.
        expected: usize,
        /// Operands given.
        found: usize,
        /// The expected operand syntax.
        syntax: &'static str,
    },
    /// An operand is empty (e.g. `add_64 r1, , r2`).
    #[error("operand {0} is empty")]
    EmptyOperand(usize),
    /// A register was expected.
    #[error("expected a register (r0..r12), found `{0}`")]
    ExpectedRegister(String),
    /// A register number above 12.
    #[error("register `{0}` out of range (r0..r12)")]
    RegisterOutOfRange(String),
    /// An integer literal could not be parsed.
    #[error("invalid number `{0}`")]
    InvalidNumber(String),
    /// An immediate does not fit what the format can encode.
    #[error("immediate `{value}` out of range for {context}: expected {expected}")]
    ImmediateOutOfRange {
        /// The literal as written.
        value: String,
        /// The instruction or directive.
        context: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// A branch or jump target was expected.
    #[error("expected a label or `@<pc>` target, found `{0}`")]
    ExpectedTarget(String),
    /// A label is used but never defined.
    #[error("undefined label `{0}`")]
    UndefinedLabel(String),
    /// A label is defined twice.
    #[error("label `{name}` already defined on line {first_line}")]
    DuplicateLabel {
        /// The label.
        name: String,
        /// Where it was first defined.
        first_line: usize,
    },
    /// A label name is malformed or reserved.
    #[error("invalid label name `{0}`")]
    InvalidLabel(String),
    /// `&label` names a label that no jump-table entry refers to.
    #[error("label `{0}` is not in the jump table")]
    NotInJumpTable(String),
    /// A branch target is too far from the instruction for a 32-bit offset.
    #[error("target {target} is out of range of a 32-bit offset from pc {pc}")]
    OffsetOutOfRange {
        /// Absolute target.
        target: i64,
        /// The instruction's pc.
        pc: u64,
    },
    /// A jump-table entry outside `0..2³²`.
    #[error("jump-table entry {0} is outside 0..2^32")]
    JumpTableEntryOutOfRange(i64),
    /// The code exceeds the blob format's limit.
    #[error("code is larger than {0} bytes")]
    CodeTooLarge(usize),
    /// A data section exceeds the standard program's 24-bit length field.
    #[error("{0} section is larger than 16 MiB - 1")]
    DataTooLarge(&'static str),
    /// A statement that is not allowed where it stands.
    #[error("{0}")]
    Misplaced(&'static str),
    /// A header directive given twice.
    #[error("`{directive}` already given on line {first_line}")]
    DuplicateDirective {
        /// The directive.
        directive: &'static str,
        /// Where it was first given.
        first_line: usize,
    },
    /// Anything else that does not parse.
    #[error("syntax error: {0}")]
    Syntax(String),
}

impl AsmErrorKind {
    pub(crate) fn at(self, line: usize) -> AsmError {
        AsmError { line, kind: self }
    }
}
