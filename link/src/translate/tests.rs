//! Instruction-level translation tests: random straight-line RV64E sequences (every ALU,
//! multiply, divide, shift, 32-bit, load and store form, with x0 in any operand) are translated
//! and run on both PVM backends, and must leave the registers and memory a reference RISC-V
//! interpreter computes.

use std::sync::Arc;

use super::*;
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{Access, Backend, Code, ExitReason, IsaVariant, Profile, Program};

struct NoAddresses;

impl AddressMap for NoAddresses {
    fn value_of(&self, _: u64) -> Option<Value> {
        None
    }
}

/// The base register of loads and stores (never written by the sequences).
const BASE: u8 = 8;
/// Its value: a read-write page.
const PAGE: u64 = 0x20000;

/// The RISC-V meaning of the subset the sequences use.
fn reference(insts: &[Inst], regs: &mut [u64; 16], memory: &mut [u8]) {
    for &inst in insts {
        let r = |regs: &[u64; 16], x: u8| if x == 0 { 0 } else { regs[x as usize] };
        let (rd, value) = match inst {
            Inst::Lui { rd, value } => (rd, value as u64),
            Inst::AluImm { op, rd, rs1, imm } => (rd, alu(op, r(regs, rs1), imm as u64)),
            Inst::Alu { op, rd, rs1, rs2 } => (rd, alu(op, r(regs, rs1), r(regs, rs2))),
            Inst::Load {
                kind,
                rd,
                rs1,
                offset,
            } => {
                let at = (r(regs, rs1).wrapping_add(offset as u64) - PAGE) as usize;
                let b = |n: usize| {
                    let mut v = [0u8; 8];
                    v[..n].copy_from_slice(&memory[at..at + n]);
                    u64::from_le_bytes(v)
                };
                let v = match kind {
                    LoadKind::I8 => b(1) as i8 as u64,
                    LoadKind::U8 => b(1),
                    LoadKind::I16 => b(2) as i16 as u64,
                    LoadKind::U16 => b(2),
                    LoadKind::I32 => b(4) as i32 as u64,
                    LoadKind::U32 => b(4),
                    LoadKind::U64 => b(8),
                };
                (rd, v)
            }
            Inst::Store {
                kind,
                rs1,
                rs2,
                offset,
            } => {
                let at = (r(regs, rs1).wrapping_add(offset as u64) - PAGE) as usize;
                let n = match kind {
                    StoreKind::U8 => 1,
                    StoreKind::U16 => 2,
                    StoreKind::U32 => 4,
                    StoreKind::U64 => 8,
                };
                memory[at..at + n].copy_from_slice(&r(regs, rs2).to_le_bytes()[..n]);
                continue;
            }
            other => unreachable!("not generated: {other:?}"),
        };
        if rd != 0 {
            regs[rd as usize] = value;
        }
    }
}

fn alu(op: AluOp, a: u64, b: u64) -> u64 {
    use AluOp::*;
    let w = |v: u32| v as i32 as i64 as u64;
    let (sa, sb) = (a as i64, b as i64);
    let (a32, b32) = (a as u32, b as u32);
    match op {
        Add => a.wrapping_add(b),
        Sub => a.wrapping_sub(b),
        Sll => a << (b & 63),
        Slt => u64::from(sa < sb),
        Sltu => u64::from(a < b),
        Xor => a ^ b,
        Srl => a >> (b & 63),
        Sra => (sa >> (b & 63)) as u64,
        Or => a | b,
        And => a & b,
        Mul => a.wrapping_mul(b),
        Mulh => ((i128::from(sa) * i128::from(sb)) >> 64) as u64,
        Mulhsu => ((i128::from(sa) * i128::from(b)) >> 64) as u64,
        Mulhu => ((u128::from(a) * u128::from(b)) >> 64) as u64,
        Div => match (sa, sb) {
            (_, 0) => u64::MAX,
            (i64::MIN, -1) => i64::MIN as u64,
            _ => (sa / sb) as u64,
        },
        Divu => a.checked_div(b).unwrap_or(u64::MAX),
        Rem => match (sa, sb) {
            (_, 0) => a,
            (i64::MIN, -1) => 0,
            _ => (sa % sb) as u64,
        },
        Remu => a.checked_rem(b).unwrap_or(a),
        AddW => w(a32.wrapping_add(b32)),
        SubW => w(a32.wrapping_sub(b32)),
        SllW => w(a32 << (b & 31)),
        SrlW => w(a32 >> (b & 31)),
        SraW => w(((a32 as i32) >> (b & 31)) as u32),
        MulW => w(a32.wrapping_mul(b32)),
        DivW => match (a32 as i32, b32 as i32) {
            (_, 0) => u64::MAX,
            (i32::MIN, -1) => w(i32::MIN as u32),
            (x, y) => w((x / y) as u32),
        },
        DivuW => w(a32.checked_div(b32).unwrap_or(u32::MAX)),
        RemW => match (a32 as i32, b32 as i32) {
            (x, 0) => w(x as u32),
            (i32::MIN, -1) => 0,
            (x, y) => w((x % y) as u32),
        },
        RemuW => w(a32.checked_rem(b32).unwrap_or(a32)),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A register the sequences may read: any but gp and tp.
    fn src(&mut self) -> u8 {
        [0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][self.below(14) as usize]
    }
    /// A register the sequences may write: not the memory base.
    fn dst(&mut self) -> u8 {
        [0, 1, 2, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15][self.below(13) as usize]
    }
}

const ALL_OPS: [AluOp; 28] = {
    use AluOp::*;
    [
        Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And, Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem,
        Remu, AddW, SubW, SllW, SrlW, SraW, MulW, DivW, DivuW, RemW, RemuW,
    ]
};

fn random_inst(rng: &mut Rng) -> Inst {
    use AluOp::*;
    match rng.below(10) {
        0..=3 => Inst::Alu {
            op: ALL_OPS[rng.below(28) as usize],
            rd: rng.dst(),
            rs1: rng.src(),
            rs2: rng.src(),
        },
        4..=6 => {
            let op = [
                Add, Slt, Sltu, Xor, Or, And, Sll, Srl, Sra, AddW, SllW, SrlW, SraW,
            ][rng.below(13) as usize];
            let imm = match op {
                Sll | Srl | Sra => rng.below(64) as i64,
                SllW | SrlW | SraW => rng.below(32) as i64,
                _ => rng.below(4096) as i64 - 2048,
            };
            Inst::AluImm {
                op,
                rd: rng.dst(),
                rs1: rng.src(),
                imm,
            }
        }
        7 => Inst::Lui {
            rd: rng.dst(),
            value: i64::from((rng.next() as u32 & 0xFFFF_F000) as i32),
        },
        8 => Inst::Load {
            kind: [
                LoadKind::I8,
                LoadKind::U8,
                LoadKind::I16,
                LoadKind::U16,
                LoadKind::I32,
                LoadKind::U32,
                LoadKind::U64,
            ][rng.below(7) as usize],
            rd: rng.dst(),
            rs1: BASE,
            offset: rng.below(4088) as i64,
        },
        _ => Inst::Store {
            kind: [
                StoreKind::U8,
                StoreKind::U16,
                StoreKind::U32,
                StoreKind::U64,
            ][rng.below(4) as usize],
            rs1: BASE,
            rs2: rng.src(),
            offset: rng.below(4088) as i64,
        },
    }
}

/// PVM register of RISC-V register `x` (not x0, gp or tp).
fn pvm(x: u8) -> usize {
    reg(x, 0).unwrap().unwrap() as usize
}

#[test]
fn random_sequences_compute_what_risc_v_computes_on_both_backends() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for case in 0..2000 {
        let insts: Vec<Inst> = (0..1 + rng.below(40))
            .map(|_| random_inst(&mut rng))
            .collect();
        let mut text = String::new();
        for (i, &inst) in insts.iter().enumerate() {
            let located = Located {
                address: 0x1000 + 4 * i as u64,
                len: 4,
                inst,
            };
            emit(&mut text, &located, &Plan::default(), &NoAddresses)
                .unwrap_or_else(|e| panic!("case {case}: {e}"));
        }
        text.push_str("ecalli 0\ntrap\n");
        let Ok(Assembled::Blob(blob)) = assemble(&text, IsaVariant::Jam07) else {
            panic!("case {case}: the translation does not assemble:\n{text}");
        };
        let program =
            Arc::new(Program::from_blob_bytes(&blob.to_bytes(), Profile::JAM_07).expect("decodes"));
        // Registers: random, with special values now and then.
        let mut regs = [0u64; 16];
        for x in [1u8, 2, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15] {
            regs[x as usize] = match rng.below(6) {
                0 => 0,
                1 => u64::MAX,
                2 => i64::MIN as u64,
                3 => rng.below(8),
                _ => rng.next(),
            };
        }
        regs[BASE as usize] = PAGE;
        let memory: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
        let (mut expected_regs, mut expected_memory) = (regs, memory.clone());
        reference(&insts, &mut expected_regs, &mut expected_memory);
        for &backend in Backend::available() {
            let code = Code::prepare(program.clone(), backend).unwrap();
            let mut vm = code.instantiate().unwrap();
            vm.memory_mut()
                .set_access(PAGE as u32, 4096, Access::Write)
                .unwrap();
            vm.memory_mut().host_write(PAGE as u32, &memory).unwrap();
            for x in 1..16u8 {
                if !matches!(x, 3 | 4) {
                    vm.set_reg(pvm(x), regs[x as usize]);
                }
            }
            vm.set_gas(1_000_000);
            assert_eq!(
                vm.run(),
                ExitReason::HostCall(0),
                "case {case} on {backend:?}:\n{text}"
            );
            for x in 1..16u8 {
                if !matches!(x, 3 | 4) {
                    assert_eq!(
                        vm.reg(pvm(x)),
                        expected_regs[x as usize],
                        "case {case} on {backend:?}: x{x}\n{insts:?}\n{text}"
                    );
                }
            }
            let mut after = vec![0u8; 4096];
            vm.memory().host_read(PAGE as u32, &mut after);
            assert_eq!(after, expected_memory, "case {case} on {backend:?}: memory");
        }
    }
}
