//! Decoding RV64E instructions (base integer ISA with 16 registers, the M extension and the
//! compressed C forms) into one [`Inst`] type; compressed forms are expanded to the base
//! instruction they stand for. Anything else (floating point, other extensions, registers above
//! x15) is a [`DecodeError`] naming the encoding.

/// An integer register `x0`..`x15`.
pub type Reg = u8;

/// Loads, by width and extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// `lb`
    I8,
    /// `lbu`
    U8,
    /// `lh`
    I16,
    /// `lhu`
    U16,
    /// `lw`
    I32,
    /// `lwu`
    U32,
    /// `ld`
    U64,
}

/// Store widths in bytes' log2: `sb`, `sh`, `sw`, `sd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// `sb`
    U8,
    /// `sh`
    U16,
    /// `sw`
    U32,
    /// `sd`
    U64,
}

/// Conditional branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchKind {
    /// `beq`
    Eq,
    /// `bne`
    Ne,
    /// `blt`
    LtS,
    /// `bge`
    GeS,
    /// `bltu`
    LtU,
    /// `bgeu`
    GeU,
}

/// Register–register and register–immediate computations. The `W` forms work on the low 32
/// bits and sign-extend the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AluOp {
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    AddW,
    SubW,
    SllW,
    SrlW,
    SraW,
    MulW,
    DivW,
    DivuW,
    RemW,
    RemuW,
}

/// One decoded instruction. (Field docs would repeat the assembly syntax on each variant.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Inst {
    /// `lui rd, imm` (`imm` already shifted: the value written, sign-extended).
    Lui { rd: Reg, value: i64 },
    /// `auipc rd, imm` (`offset` already shifted).
    Auipc { rd: Reg, offset: i64 },
    /// `jal rd, offset`
    Jal { rd: Reg, offset: i64 },
    /// `jalr rd, offset(rs1)`
    Jalr { rd: Reg, rs1: Reg, offset: i64 },
    /// Conditional branch to `pc + offset`.
    Branch {
        kind: BranchKind,
        rs1: Reg,
        rs2: Reg,
        offset: i64,
    },
    /// `rd = load(rs1 + offset)`
    Load {
        kind: LoadKind,
        rd: Reg,
        rs1: Reg,
        offset: i64,
    },
    /// `store(rs1 + offset) = rs2`
    Store {
        kind: StoreKind,
        rs1: Reg,
        rs2: Reg,
        offset: i64,
    },
    /// `rd = rs1 op imm` (shifts: `imm` is the shift amount).
    AluImm {
        op: AluOp,
        rd: Reg,
        rs1: Reg,
        imm: i64,
    },
    /// `rd = rs1 op rs2`
    Alu {
        op: AluOp,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
    },
    /// `fence` / `fence.i`: nothing to do on a single-threaded machine.
    Fence,
    /// `ecall`
    Ecall,
    /// `ebreak`, `c.ebreak` and `unimp` (16 and 32 bits): a trap.
    Ebreak,
    /// The SDK's host-call shim: the `custom-0` encoding `.insn i 0x0B, 0, x0, x0, id`.
    HostCall { id: u32 },
}

/// An encoding this decoder does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not an instruction of RV64 I/M/C (or one Kiln does not translate: floating point,
    /// atomics, CSRs).
    #[error("unsupported instruction {word:#010x}: {what}")]
    Unsupported {
        /// The raw bits (16 for a compressed form).
        word: u32,
        /// What it is, as far as it was recognised.
        what: &'static str,
    },
    /// A register above x15: not RV64E code.
    #[error("instruction {word:#010x} uses x{reg}, which RV64E does not have")]
    NotRve {
        /// The raw bits.
        word: u32,
        /// The register.
        reg: u8,
    },
    /// The code ends inside an instruction.
    #[error("the code ends inside an instruction")]
    Truncated,
}

/// Decodes the instruction at the start of `bytes`: the instruction and its length (2 or 4).
pub fn decode(bytes: &[u8]) -> Result<(Inst, usize), DecodeError> {
    let half = match bytes {
        [a, b, ..] => u16::from_le_bytes([*a, *b]),
        _ => return Err(DecodeError::Truncated),
    };
    if half & 3 != 3 {
        return decode_compressed(half).map(|i| (i, 2));
    }
    let word = match bytes {
        [a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => return Err(DecodeError::Truncated),
    };
    decode_word(word).map(|i| (i, 4))
}

fn reg(word: u32, bits: u32) -> Result<Reg, DecodeError> {
    let r = bits as u8;
    if r >= 16 {
        return Err(DecodeError::NotRve { word, reg: r });
    }
    Ok(r)
}

fn sign_extend(value: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u64::from(value) << shift) as i64) >> shift
}

fn unsupported(word: u32, what: &'static str) -> DecodeError {
    DecodeError::Unsupported { word, what }
}

/// A 32-bit instruction.
pub fn decode_word(word: u32) -> Result<Inst, DecodeError> {
    let rd = || reg(word, (word >> 7) & 31);
    let rs1 = || reg(word, (word >> 15) & 31);
    let rs2 = || reg(word, (word >> 20) & 31);
    let funct3 = (word >> 12) & 7;
    let funct7 = word >> 25;
    let imm_i = sign_extend(word >> 20, 12);
    let imm_s = sign_extend((word >> 25) << 5 | (word >> 7) & 31, 12);
    let imm_b = sign_extend(
        (word >> 31) << 12
            | ((word >> 7) & 1) << 11
            | ((word >> 25) & 63) << 5
            | ((word >> 8) & 15) << 1,
        13,
    );
    let imm_u = i64::from((word & 0xFFFF_F000) as i32);
    let imm_j = sign_extend(
        (word >> 31) << 20
            | ((word >> 12) & 0xFF) << 12
            | ((word >> 20) & 1) << 11
            | ((word >> 21) & 0x3FF) << 1,
        21,
    );
    Ok(match word & 0x7F {
        0x37 => Inst::Lui {
            rd: rd()?,
            value: imm_u,
        },
        0x17 => Inst::Auipc {
            rd: rd()?,
            offset: imm_u,
        },
        0x6F => Inst::Jal {
            rd: rd()?,
            offset: imm_j,
        },
        0x67 if funct3 == 0 => Inst::Jalr {
            rd: rd()?,
            rs1: rs1()?,
            offset: imm_i,
        },
        0x63 => {
            let kind = match funct3 {
                0 => BranchKind::Eq,
                1 => BranchKind::Ne,
                4 => BranchKind::LtS,
                5 => BranchKind::GeS,
                6 => BranchKind::LtU,
                7 => BranchKind::GeU,
                _ => return Err(unsupported(word, "branch with a reserved funct3")),
            };
            Inst::Branch {
                kind,
                rs1: rs1()?,
                rs2: rs2()?,
                offset: imm_b,
            }
        }
        0x03 => {
            let kind = match funct3 {
                0 => LoadKind::I8,
                1 => LoadKind::I16,
                2 => LoadKind::I32,
                3 => LoadKind::U64,
                4 => LoadKind::U8,
                5 => LoadKind::U16,
                6 => LoadKind::U32,
                _ => return Err(unsupported(word, "load with a reserved funct3")),
            };
            Inst::Load {
                kind,
                rd: rd()?,
                rs1: rs1()?,
                offset: imm_i,
            }
        }
        0x23 => {
            let kind = match funct3 {
                0 => StoreKind::U8,
                1 => StoreKind::U16,
                2 => StoreKind::U32,
                3 => StoreKind::U64,
                _ => return Err(unsupported(word, "store with a reserved funct3")),
            };
            Inst::Store {
                kind,
                rs1: rs1()?,
                rs2: rs2()?,
                offset: imm_s,
            }
        }
        0x13 => {
            let shamt = i64::from((word >> 20) & 63);
            let (op, imm) = match funct3 {
                0 => (AluOp::Add, imm_i),
                2 => (AluOp::Slt, imm_i),
                3 => (AluOp::Sltu, imm_i),
                4 => (AluOp::Xor, imm_i),
                6 => (AluOp::Or, imm_i),
                7 => (AluOp::And, imm_i),
                1 if word >> 26 == 0 => (AluOp::Sll, shamt),
                5 if word >> 26 == 0 => (AluOp::Srl, shamt),
                5 if word >> 26 == 0x10 => (AluOp::Sra, shamt),
                _ => return Err(unsupported(word, "shift-immediate form outside RV64I")),
            };
            Inst::AluImm {
                op,
                rd: rd()?,
                rs1: rs1()?,
                imm,
            }
        }
        0x1B => {
            let shamt = i64::from((word >> 20) & 31);
            let (op, imm) = match (funct3, funct7) {
                (0, _) => (AluOp::AddW, imm_i),
                (1, 0) => (AluOp::SllW, shamt),
                (5, 0) => (AluOp::SrlW, shamt),
                (5, 0x20) => (AluOp::SraW, shamt),
                _ => return Err(unsupported(word, "32-bit immediate form outside RV64I")),
            };
            Inst::AluImm {
                op,
                rd: rd()?,
                rs1: rs1()?,
                imm,
            }
        }
        0x33 => {
            let op = match (funct7, funct3) {
                (0, 0) => AluOp::Add,
                (0x20, 0) => AluOp::Sub,
                (0, 1) => AluOp::Sll,
                (0, 2) => AluOp::Slt,
                (0, 3) => AluOp::Sltu,
                (0, 4) => AluOp::Xor,
                (0, 5) => AluOp::Srl,
                (0x20, 5) => AluOp::Sra,
                (0, 6) => AluOp::Or,
                (0, 7) => AluOp::And,
                (1, 0) => AluOp::Mul,
                (1, 1) => AluOp::Mulh,
                (1, 2) => AluOp::Mulhsu,
                (1, 3) => AluOp::Mulhu,
                (1, 4) => AluOp::Div,
                (1, 5) => AluOp::Divu,
                (1, 6) => AluOp::Rem,
                (1, 7) => AluOp::Remu,
                _ => return Err(unsupported(word, "register operation outside RV64IM")),
            };
            Inst::Alu {
                op,
                rd: rd()?,
                rs1: rs1()?,
                rs2: rs2()?,
            }
        }
        0x3B => {
            let op = match (funct7, funct3) {
                (0, 0) => AluOp::AddW,
                (0x20, 0) => AluOp::SubW,
                (0, 1) => AluOp::SllW,
                (0, 5) => AluOp::SrlW,
                (0x20, 5) => AluOp::SraW,
                (1, 0) => AluOp::MulW,
                (1, 4) => AluOp::DivW,
                (1, 5) => AluOp::DivuW,
                (1, 6) => AluOp::RemW,
                (1, 7) => AluOp::RemuW,
                _ => {
                    return Err(unsupported(
                        word,
                        "32-bit register operation outside RV64IM",
                    ))
                }
            };
            Inst::Alu {
                op,
                rd: rd()?,
                rs1: rs1()?,
                rs2: rs2()?,
            }
        }
        0x0F => Inst::Fence,
        0x73 => match word {
            0x0000_0073 => Inst::Ecall,
            // `ebreak`, and `unimp` (`csrrw x0, cycle, x0`), the 32-bit trap.
            0x0010_0073 | 0xC000_1073 => Inst::Ebreak,
            _ => return Err(unsupported(word, "CSR or privileged instruction")),
        },
        0x0B if word & 0x000F_FF80 == 0 => Inst::HostCall { id: word >> 20 },
        0x2F => return Err(unsupported(word, "atomic (A extension)")),
        0x07 | 0x27 | 0x43 | 0x47 | 0x4B | 0x4F | 0x53 => {
            return Err(unsupported(word, "floating point"))
        }
        _ => return Err(unsupported(word, "unknown opcode")),
    })
}

/// A compressed (16-bit) instruction, expanded.
pub fn decode_compressed(half: u16) -> Result<Inst, DecodeError> {
    let w = u32::from(half);
    let bits = |hi: u32, lo: u32| (w >> lo) & ((1 << (hi - lo + 1)) - 1);
    // Registers x8..x15 in the three-bit fields.
    let rp = |lo: u32| 8 + bits(lo + 2, lo) as u8;
    let full = |lo: u32| reg(w, bits(lo + 4, lo));
    let funct3 = bits(15, 13);
    let ci_imm = sign_extend(bits(12, 12) << 5 | bits(6, 2), 6);
    let cj_off = sign_extend(
        bits(12, 12) << 11
            | bits(8, 8) << 10
            | bits(10, 9) << 8
            | bits(6, 6) << 7
            | bits(7, 7) << 6
            | bits(2, 2) << 5
            | bits(11, 11) << 4
            | bits(5, 3) << 1,
        12,
    );
    let cb_off = sign_extend(
        bits(12, 12) << 8 | bits(6, 5) << 6 | bits(2, 2) << 5 | bits(11, 10) << 3 | bits(4, 3) << 1,
        9,
    );
    let lw_off = i64::from(bits(5, 5) << 6 | bits(12, 10) << 3 | bits(6, 6) << 2);
    let ld_off = i64::from(bits(6, 5) << 6 | bits(12, 10) << 3);
    Ok(match (w & 3, funct3) {
        (0, 0) => {
            let imm = bits(10, 7) << 6 | bits(12, 11) << 4 | bits(5, 5) << 3 | bits(6, 6) << 2;
            if w == 0 {
                // `c.unimp`, the canonical illegal instruction compilers emit for traps.
                return Ok(Inst::Ebreak);
            }
            if imm == 0 {
                return Err(unsupported(w, "reserved c.addi4spn"));
            }
            Inst::AluImm {
                op: AluOp::Add,
                rd: rp(2),
                rs1: 2,
                imm: i64::from(imm),
            }
        }
        (0, 2) => Inst::Load {
            kind: LoadKind::I32,
            rd: rp(2),
            rs1: rp(7),
            offset: lw_off,
        },
        (0, 3) => Inst::Load {
            kind: LoadKind::U64,
            rd: rp(2),
            rs1: rp(7),
            offset: ld_off,
        },
        (0, 6) => Inst::Store {
            kind: StoreKind::U32,
            rs1: rp(7),
            rs2: rp(2),
            offset: lw_off,
        },
        (0, 7) => Inst::Store {
            kind: StoreKind::U64,
            rs1: rp(7),
            rs2: rp(2),
            offset: ld_off,
        },
        (0, _) => return Err(unsupported(w, "compressed floating-point load or store")),
        (1, 0) => Inst::AluImm {
            op: AluOp::Add,
            rd: full(7)?,
            rs1: full(7)?,
            imm: ci_imm,
        },
        (1, 1) => {
            let rd = full(7)?;
            if rd == 0 {
                return Err(unsupported(w, "reserved c.addiw"));
            }
            Inst::AluImm {
                op: AluOp::AddW,
                rd,
                rs1: rd,
                imm: ci_imm,
            }
        }
        (1, 2) => Inst::AluImm {
            op: AluOp::Add,
            rd: full(7)?,
            rs1: 0,
            imm: ci_imm,
        },
        (1, 3) => {
            let rd = full(7)?;
            if rd == 2 {
                let imm = sign_extend(
                    bits(12, 12) << 9
                        | bits(4, 3) << 7
                        | bits(5, 5) << 6
                        | bits(2, 2) << 5
                        | bits(6, 6) << 4,
                    10,
                );
                if imm == 0 {
                    return Err(unsupported(w, "reserved c.addi16sp"));
                }
                Inst::AluImm {
                    op: AluOp::Add,
                    rd: 2,
                    rs1: 2,
                    imm,
                }
            } else {
                if ci_imm == 0 {
                    return Err(unsupported(w, "reserved c.lui"));
                }
                Inst::Lui {
                    rd,
                    value: ci_imm << 12,
                }
            }
        }
        (1, 4) => {
            let rd = rp(7);
            let shamt = i64::from(bits(12, 12) << 5 | bits(6, 2));
            match bits(11, 10) {
                0 => Inst::AluImm {
                    op: AluOp::Srl,
                    rd,
                    rs1: rd,
                    imm: shamt,
                },
                1 => Inst::AluImm {
                    op: AluOp::Sra,
                    rd,
                    rs1: rd,
                    imm: shamt,
                },
                2 => Inst::AluImm {
                    op: AluOp::And,
                    rd,
                    rs1: rd,
                    imm: ci_imm,
                },
                _ => {
                    let op = match (bits(12, 12), bits(6, 5)) {
                        (0, 0) => AluOp::Sub,
                        (0, 1) => AluOp::Xor,
                        (0, 2) => AluOp::Or,
                        (0, 3) => AluOp::And,
                        (1, 0) => AluOp::SubW,
                        (1, 1) => AluOp::AddW,
                        _ => return Err(unsupported(w, "reserved compressed arithmetic")),
                    };
                    Inst::Alu {
                        op,
                        rd,
                        rs1: rd,
                        rs2: rp(2),
                    }
                }
            }
        }
        (1, 5) => Inst::Jal {
            rd: 0,
            offset: cj_off,
        },
        (1, 6) | (1, 7) => Inst::Branch {
            kind: if funct3 == 6 {
                BranchKind::Eq
            } else {
                BranchKind::Ne
            },
            rs1: rp(7),
            rs2: 0,
            offset: cb_off,
        },
        (2, 0) => {
            let rd = full(7)?;
            Inst::AluImm {
                op: AluOp::Sll,
                rd,
                rs1: rd,
                imm: i64::from(bits(12, 12) << 5 | bits(6, 2)),
            }
        }
        (2, 2) => Inst::Load {
            kind: LoadKind::I32,
            rd: full(7)?,
            rs1: 2,
            offset: i64::from(bits(3, 2) << 6 | bits(12, 12) << 5 | bits(6, 4) << 2),
        },
        (2, 3) => Inst::Load {
            kind: LoadKind::U64,
            rd: full(7)?,
            rs1: 2,
            offset: i64::from(bits(4, 2) << 6 | bits(12, 12) << 5 | bits(6, 5) << 3),
        },
        (2, 4) => {
            let (r1, r2) = (full(7)?, full(2)?);
            match (bits(12, 12), r1, r2) {
                (0, 0, _) => return Err(unsupported(w, "reserved c.jr")),
                (0, _, 0) => Inst::Jalr {
                    rd: 0,
                    rs1: r1,
                    offset: 0,
                },
                (0, _, _) => Inst::Alu {
                    op: AluOp::Add,
                    rd: r1,
                    rs1: 0,
                    rs2: r2,
                },
                (_, 0, 0) => Inst::Ebreak,
                (_, _, 0) => Inst::Jalr {
                    rd: 1,
                    rs1: r1,
                    offset: 0,
                },
                _ => Inst::Alu {
                    op: AluOp::Add,
                    rd: r1,
                    rs1: r1,
                    rs2: r2,
                },
            }
        }
        (2, 6) => Inst::Store {
            kind: StoreKind::U32,
            rs1: 2,
            rs2: full(2)?,
            offset: i64::from(bits(8, 7) << 6 | bits(12, 9) << 2),
        },
        (2, 7) => Inst::Store {
            kind: StoreKind::U64,
            rs1: 2,
            rs2: full(2)?,
            offset: i64::from(bits(9, 7) << 6 | bits(12, 10) << 3),
        },
        _ => return Err(unsupported(w, "compressed floating-point or reserved form")),
    })
}

#[cfg(test)]
mod tests;
