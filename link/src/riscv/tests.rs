use super::*;

/// Encodings and meanings read off `llvm-objdump -d` of Zig 0.17.1 output
/// (`-target riscv64-freestanding-none -mcpu=generic_rv64+e+m+c`).
#[test]
fn encodings_from_a_real_compiler_decode_as_the_disassembler_reads_them() {
    use AluOp::*;
    let cases: &[(&[u8], Inst)] = &[
        (
            &[0x21, 0x11],
            Inst::AluImm {
                op: Add,
                rd: 2,
                rs1: 2,
                imm: -24,
            },
        ), // addi sp, sp, -24
        (
            &[0x06, 0xe8],
            Inst::Store {
                kind: StoreKind::U64,
                rs1: 2,
                rs2: 1,
                offset: 16,
            },
        ), // sd ra, 16(sp)
        (
            &[0x2a, 0x84],
            Inst::Alu {
                op: Add,
                rd: 8,
                rs1: 0,
                rs2: 10,
            },
        ), // mv s0, a0
        (&[0x97, 0x00, 0x00, 0x00], Inst::Auipc { rd: 1, offset: 0 }),
        (
            &[0xe7, 0x80, 0x00, 0x02],
            Inst::Jalr {
                rd: 1,
                rs1: 1,
                offset: 32,
            },
        ),
        (
            &[0xe7, 0x80, 0xa0, 0xfe],
            Inst::Jalr {
                rd: 1,
                rs1: 1,
                offset: -22,
            },
        ),
        (
            &[0x82, 0x80],
            Inst::Jalr {
                rd: 0,
                rs1: 1,
                offset: 0,
            },
        ), // ret
        (
            &[0x81, 0x45],
            Inst::AluImm {
                op: Add,
                rd: 11,
                rs1: 0,
                imm: 0,
            },
        ), // li a1, 0
        (
            &[0x05, 0x46],
            Inst::AluImm {
                op: Add,
                rd: 12,
                rs1: 0,
                imm: 1,
            },
        ), // li a2, 1
        (
            &[0x11, 0xc5],
            Inst::Branch {
                kind: BranchKind::Eq,
                rs1: 10,
                rs2: 0,
                offset: 12,
            },
        ),
        (
            &[0x65, 0xfd],
            Inst::Branch {
                kind: BranchKind::Ne,
                rs1: 10,
                rs2: 0,
                offset: -8,
            },
        ),
        (
            &[0x7d, 0x15],
            Inst::AluImm {
                op: Add,
                rd: 10,
                rs1: 10,
                imm: -1,
            },
        ),
        (
            &[0x2e, 0x96],
            Inst::Alu {
                op: Add,
                rd: 12,
                rs1: 12,
                rs2: 11,
            },
        ), // add a2, a2, a1
        (
            &[0x63, 0x7b, 0x85, 0x00],
            Inst::Branch {
                kind: BranchKind::GeU,
                rs1: 10,
                rs2: 8,
                offset: 22,
            },
        ),
        (
            &[0x13, 0x05, 0xf4, 0xff],
            Inst::AluImm {
                op: Add,
                rd: 10,
                rs1: 8,
                imm: -1,
            },
        ),
        (&[0xed, 0xb7], Inst::Jal { rd: 0, offset: -22 }), // j
        (
            &[0x33, 0x05, 0x94, 0x00],
            Inst::Alu {
                op: Add,
                rd: 10,
                rs1: 8,
                rs2: 9,
            },
        ),
        (
            &[0xc2, 0x60],
            Inst::Load {
                kind: LoadKind::U64,
                rd: 1,
                rs1: 2,
                offset: 16,
            },
        ), // ld ra, 16(sp)
        (
            &[0x82, 0x64],
            Inst::Load {
                kind: LoadKind::U64,
                rd: 9,
                rs1: 2,
                offset: 0,
            },
        ),
        (
            &[0x61, 0x01],
            Inst::AluImm {
                op: Add,
                rd: 2,
                rs1: 2,
                imm: 24,
            },
        ),
        (
            &[0x79, 0x14],
            Inst::AluImm {
                op: Add,
                rd: 8,
                rs1: 8,
                imm: -2,
            },
        ),
        (
            &[0x26, 0x95],
            Inst::Alu {
                op: Add,
                rd: 10,
                rs1: 10,
                rs2: 9,
            },
        ), // add a0, a0, s1
    ];
    for (bytes, expected) in cases {
        let (inst, len) = decode(bytes).unwrap_or_else(|e| panic!("{bytes:02x?}: {e}"));
        assert_eq!(len, bytes.len(), "{bytes:02x?}");
        assert_eq!(inst, *expected, "{bytes:02x?}");
    }
}

/// Encodes the base formats, to test the decoder against the specification's field layout
/// for every opcode it accepts.
fn r_type(funct7: u32, rs2: u32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
    funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode
}

fn i_type(imm: i32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
    ((imm as u32) & 0xFFF) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode
}

#[test]
fn every_register_operation_of_rv64im_decodes() {
    use AluOp::*;
    let ops = [
        (0, 0, Add),
        (0x20, 0, Sub),
        (0, 1, Sll),
        (0, 2, Slt),
        (0, 3, Sltu),
        (0, 4, Xor),
        (0, 5, Srl),
        (0x20, 5, Sra),
        (0, 6, Or),
        (0, 7, And),
        (1, 0, Mul),
        (1, 1, Mulh),
        (1, 2, Mulhsu),
        (1, 3, Mulhu),
        (1, 4, Div),
        (1, 5, Divu),
        (1, 6, Rem),
        (1, 7, Remu),
    ];
    for (f7, f3, op) in ops {
        let word = r_type(f7, 15, 14, f3, 13, 0x33);
        assert_eq!(
            decode_word(word),
            Ok(Inst::Alu {
                op,
                rd: 13,
                rs1: 14,
                rs2: 15
            })
        );
    }
    let ops32 = [
        (0, 0, AddW),
        (0x20, 0, SubW),
        (0, 1, SllW),
        (0, 5, SrlW),
        (0x20, 5, SraW),
        (1, 0, MulW),
        (1, 4, DivW),
        (1, 5, DivuW),
        (1, 6, RemW),
        (1, 7, RemuW),
    ];
    for (f7, f3, op) in ops32 {
        let word = r_type(f7, 1, 2, f3, 3, 0x3B);
        assert_eq!(
            decode_word(word),
            Ok(Inst::Alu {
                op,
                rd: 3,
                rs1: 2,
                rs2: 1
            })
        );
    }
}

#[test]
fn immediates_are_sign_extended_and_shifts_take_six_bits() {
    use AluOp::*;
    for imm in [-2048, -1, 0, 1, 2047] {
        let word = i_type(imm, 5, 0, 6, 0x13);
        assert_eq!(
            decode_word(word),
            Ok(Inst::AluImm {
                op: Add,
                rd: 6,
                rs1: 5,
                imm: i64::from(imm)
            })
        );
        let word = i_type(imm, 5, 3, 6, 0x03);
        assert_eq!(
            decode_word(word),
            Ok(Inst::Load {
                kind: LoadKind::U64,
                rd: 6,
                rs1: 5,
                offset: i64::from(imm)
            })
        );
    }
    // srai x1, x1, 63: funct6 0x10, shamt 63.
    let word = 0x10 << 26 | 63 << 20 | 1 << 15 | 5 << 12 | 1 << 7 | 0x13;
    assert_eq!(
        decode_word(word),
        Ok(Inst::AluImm {
            op: Sra,
            rd: 1,
            rs1: 1,
            imm: 63
        })
    );
    // lui x5, 0xFFFFF: the value is sign-extended from bit 31.
    let word = 0xFFFF_F000 | 5 << 7 | 0x37;
    assert_eq!(
        decode_word(word),
        Ok(Inst::Lui {
            rd: 5,
            value: -4096
        })
    );
}

#[test]
fn what_rv64e_code_cannot_contain_is_rejected_with_the_reason() {
    // add x16, x1, x2
    assert_eq!(
        decode_word(r_type(0, 2, 1, 0, 16, 0x33)),
        Err(DecodeError::NotRve {
            word: r_type(0, 2, 1, 0, 16, 0x33),
            reg: 16
        })
    );
    // fadd.d, flw, amoadd.w, csrrw
    for (word, what) in [
        (0x0220_0053u32, "floating point"),
        (0x0000_2007, "floating point"),
        (0x0000_202F, "atomic (A extension)"),
        (0x3400_1073, "CSR or privileged instruction"),
    ] {
        assert!(
            matches!(decode_word(word), Err(DecodeError::Unsupported { what: w, .. }) if w == what),
            "{word:#x}"
        );
    }
    // c.fld and a reserved c.addi4spn; the all-zero `c.unimp` and 32-bit `unimp` are traps.
    assert!(decode_compressed(0x2000).is_err());
    assert!(decode_compressed(0x0004).is_err());
    assert_eq!(decode_compressed(0x0000), Ok(Inst::Ebreak));
    assert_eq!(decode_word(0xC000_1073), Ok(Inst::Ebreak));
    // Truncated input.
    assert_eq!(decode(&[0x13]), Err(DecodeError::Truncated));
    assert_eq!(decode(&[0x13, 0x00, 0x00]), Err(DecodeError::Truncated));
    // ecall, ebreak, c.ebreak, fence.
    assert_eq!(decode_word(0x73), Ok(Inst::Ecall));
    assert_eq!(decode_word(0x0010_0073), Ok(Inst::Ebreak));
    assert_eq!(decode_compressed(0x9002), Ok(Inst::Ebreak));
    assert_eq!(decode_word(0x0FF0_000F), Ok(Inst::Fence));
    // The host-call shim (custom-0, funct3 0, x0, x0) and a custom-0 word that is not it.
    assert_eq!(
        decode_word(100 << 20 | 0x0B),
        Ok(Inst::HostCall { id: 100 })
    );
    assert_eq!(
        decode_word(0xFFF << 20 | 0x0B),
        Ok(Inst::HostCall { id: 4095 })
    );
    assert!(decode_word(100 << 20 | 1 << 7 | 0x0B).is_err());
}

#[test]
fn no_input_makes_the_decoder_panic() {
    for half in 0..=u16::MAX {
        let _ = decode(&half.to_le_bytes());
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let _ = decode(&(state as u32).to_le_bytes());
    }
}
