//! Round trips over every instruction, standard programs and error reporting.

use std::collections::HashMap;

use super::parse::imm32_value;
use super::*;
use crate::isa::{Args, Format, IsaVariant, Opcode};
use crate::profile::{GasModel, HostCallNumbering, Profile};
use crate::program::{Origin, Program};

/// `args` with the fields `op`'s format does not use cleared (as the decoder leaves them).
pub(crate) fn project(op: Opcode, a: &Args) -> Args {
    let mut p = Args::default();
    match op.format() {
        Format::NoArgs => {}
        Format::Imm => p.imm1 = a.imm1,
        Format::RegImm64 | Format::RegImm => (p.ra, p.imm1) = (a.ra, a.imm1),
        Format::ImmImm => (p.imm1, p.imm2) = (a.imm1, a.imm2),
        Format::Offset => p.target = a.target,
        Format::RegImmImm => (p.ra, p.imm1, p.imm2) = (a.ra, a.imm1, a.imm2),
        Format::RegImmOffset => (p.ra, p.imm1, p.target) = (a.ra, a.imm1, a.target),
        Format::RegReg => (p.rd, p.ra) = (a.rd, a.ra),
        Format::RegRegImm => (p.ra, p.rb, p.imm1) = (a.ra, a.rb, a.imm1),
        Format::RegRegOffset => (p.ra, p.rb, p.target) = (a.ra, a.rb, a.target),
        Format::RegRegImmImm => (p.ra, p.rb, p.imm1, p.imm2) = (a.ra, a.rb, a.imm1, a.imm2),
        Format::RegRegReg => (p.ra, p.rb, p.rd) = (a.ra, a.rb, a.rd),
    }
    p
}

pub(crate) fn profile(isa: IsaVariant) -> Profile {
    Profile {
        isa,
        gas: GasModel::PerInstruction,
        host_calls: HostCallNumbering::Gp07,
    }
}

const IMMS: &[&str] = &[
    "0",
    "1",
    "-1",
    "127",
    "-128",
    "128",
    "-129",
    "0x7fff",
    "-0x8000",
    "0x8000",
    "0x7f_ffff",
    "-0x800000",
    "0x800000",
    "0x7fffffff",
    "-0x80000000",
    "0xffffffff",
    "0x80000000",
    "0xFFFFFFFFFFFF0000",
    "+42",
    "0b1010",
];

const IMMS64: &[&str] = &[
    "0",
    "-1",
    "0x123456789abcdef0",
    "0xffffffffffffffff",
    "-9223372036854775808",
    "42",
    "0x8000000000000000",
];

/// Where an instruction's target should point.
#[derive(Clone)]
enum Expect {
    Label(String),
    Abs(i64),
}

/// Builds a source text alongside the instructions it should decode to.
#[derive(Default)]
struct Gen {
    lines: Vec<String>,
    insns: Vec<(Opcode, Args, Option<Expect>)>,
    labels: HashMap<String, usize>,
    imm_counter: usize,
}

impl Gen {
    fn label(&mut self, name: &str) {
        self.labels.insert(name.to_string(), self.insns.len());
        self.lines.push(format!("{name}:"));
    }

    fn imm(&mut self) -> (String, u64) {
        let text = IMMS[self.imm_counter % IMMS.len()];
        self.imm_counter += 1;
        let value = imm32_value(parse::parse_number(text).unwrap()).unwrap();
        (text.to_string(), value)
    }

    fn imm64(&mut self) -> (String, u64) {
        let text = IMMS64[self.imm_counter % IMMS64.len()];
        self.imm_counter += 1;
        let v = parse::parse_number(text).unwrap();
        (text.to_string(), v as u64)
    }

    /// One instruction of `op` with representative operands; `target` names its target.
    fn insn(&mut self, op: Opcode, seed: usize, target: (String, Expect)) {
        let ra = (seed % 13) as u8;
        let rb = ((seed * 5 + 3) % 13) as u8;
        let rd = ((seed * 7 + 1) % 13) as u8;
        let mut args = Args::default();
        let mut ops: Vec<String> = Vec::new();
        let mut expect = None;
        let reg = |r: u8| format!("r{r}");
        let mut tgt = |ops: &mut Vec<String>| {
            ops.push(target.0.clone());
            expect = Some(target.1.clone());
        };
        match op.format() {
            Format::NoArgs => {}
            Format::Imm => {
                let (t, v) = self.imm();
                (args.imm1, ops) = (v, vec![t]);
            }
            Format::RegImm64 => {
                let (t, v) = self.imm64();
                (args.ra, args.imm1, ops) = (ra, v, vec![reg(ra), t]);
            }
            Format::ImmImm => {
                let ((t1, v1), (t2, v2)) = (self.imm(), self.imm());
                (args.imm1, args.imm2, ops) = (v1, v2, vec![t1, t2]);
            }
            Format::Offset => tgt(&mut ops),
            Format::RegImm => {
                let (t, v) = self.imm();
                (args.ra, args.imm1, ops) = (ra, v, vec![reg(ra), t]);
            }
            Format::RegImmImm => {
                let ((t1, v1), (t2, v2)) = (self.imm(), self.imm());
                (args.ra, args.imm1, args.imm2) = (ra, v1, v2);
                ops = vec![reg(ra), t1, t2];
            }
            Format::RegImmOffset => {
                let (t, v) = self.imm();
                (args.ra, args.imm1, ops) = (ra, v, vec![reg(ra), t]);
                tgt(&mut ops);
            }
            Format::RegReg => (args.rd, args.ra, ops) = (rd, ra, vec![reg(rd), reg(ra)]),
            Format::RegRegImm => {
                let (t, v) = self.imm();
                (args.ra, args.rb, args.imm1) = (ra, rb, v);
                ops = vec![reg(ra), reg(rb), t];
            }
            Format::RegRegOffset => {
                (args.ra, args.rb, ops) = (ra, rb, vec![reg(ra), reg(rb)]);
                tgt(&mut ops);
            }
            Format::RegRegImmImm => {
                let ((t1, v1), (t2, v2)) = (self.imm(), self.imm());
                (args.ra, args.rb, args.imm1, args.imm2) = (ra, rb, v1, v2);
                ops = vec![reg(ra), reg(rb), t1, t2];
            }
            Format::RegRegReg => {
                (args.rd, args.ra, args.rb) = (rd, ra, rb);
                ops = vec![reg(rd), reg(ra), reg(rb)];
            }
        }
        // Vary the spacing and case a little; the disassembler normalises it.
        let name = if seed % 3 == 0 {
            op.name().to_ascii_uppercase()
        } else {
            op.name().to_string()
        };
        self.lines.push(format!("  {name}\t{}", ops.join(" ,  ")));
        self.insns.push((op, args, expect));
    }

    fn filler(&mut self, count: usize) {
        for j in 0..count {
            let target = (String::new(), Expect::Abs(0));
            self.imm_counter = j;
            self.insn(Opcode::LoadImm64, j, target);
        }
    }
}

/// A program with every instruction of `isa`, near and far targets in both directions, a jump
/// table and `&label`.
fn every_instruction(isa: IsaVariant) -> Gen {
    let mut g = Gen::default();
    g.lines
        .push(".jump_table start, mid, end, l5 # entries".into());
    g.lines.push(".jump_table @3".into());
    g.label("start");
    g.filler(3500);
    let ops: Vec<Opcode> = Opcode::ALL
        .iter()
        .copied()
        .filter(|&op| isa.table().encode(op).is_some())
        .collect();
    let mut with_target = 0;
    for (i, &op) in ops.iter().enumerate() {
        g.label(&format!("l{i}"));
        let near = |k: usize| format!("l{k}");
        let target = match with_target % 7 {
            0 => near(i),
            1 => near(i.saturating_sub(3)),
            2 if i + 2 < ops.len() => near(i + 2),
            2 | 3 => "mid".to_string(),
            4 => "end".to_string(),
            5 => "start".to_string(),
            _ => "@3".to_string(),
        };
        let expect = match target.strip_prefix('@') {
            Some(pc) => Expect::Abs(pc.parse().unwrap()),
            None => Expect::Label(target.clone()),
        };
        if super::encode::has_target(op) {
            with_target += 1;
        }
        g.insn(op, i, (target, expect));
    }
    g.filler(150);
    g.label("mid");
    g.insn(Opcode::Trap, 0, (String::new(), Expect::Abs(0)));
    g.lines
        .push("  jump_ind r1, &mid // jump-table address 4".into());
    let mid_addr = Args {
        ra: 1,
        imm1: 4,
        ..Args::default()
    };
    g.insns.push((Opcode::JumpInd, mid_addr, None));
    g.filler(3500);
    g.label("end");
    g.insn(Opcode::Fallthrough, 0, (String::new(), Expect::Abs(0)));
    g
}

fn blob_of(a: Assembled) -> CodeBlob {
    match a {
        Assembled::Blob(b) => b,
        Assembled::Standard(_) => panic!("expected a bare blob"),
    }
}

#[test]
fn every_instruction_round_trips_in_every_variant() {
    for isa in IsaVariant::ALL {
        let g = every_instruction(isa);
        let source = g.lines.join("\n");
        let blob = blob_of(assemble(&source, isa).unwrap_or_else(|e| panic!("{isa:?}: {e}")));
        let bytes = blob.to_bytes();

        // The decoder sees exactly the intended instructions.
        let program = Program::from_blob_bytes(&bytes, profile(isa)).unwrap();
        let decoded: Vec<_> = program
            .instructions()
            .filter(|i| i.origin == Origin::Real)
            .collect();
        assert_eq!(decoded.len(), g.insns.len(), "{isa:?}");
        let pc_of = |label: &str| i64::from(decoded[g.labels[label]].pc);
        for (insn, (op, args, expect)) in decoded.iter().zip(&g.insns) {
            let mut want = *args;
            want.target = match expect {
                Some(Expect::Label(l)) => pc_of(l),
                Some(Expect::Abs(pc)) => *pc,
                None => 0,
            };
            assert_eq!(insn.op, *op, "{isa:?} pc {}", insn.pc);
            assert_eq!(
                insn.args,
                project(*op, &want),
                "{isa:?} {op:?} at {}",
                insn.pc
            );
        }
        let jt: Vec<u32> = ["start", "mid", "end", "l5"]
            .iter()
            .map(|l| pc_of(l) as u32)
            .chain([3])
            .collect();
        assert_eq!(blob.jump_table, jt);
        // Far targets really need 3-byte offsets, near ones fewer.
        assert!(blob.code.len() > 70_000);

        // asm → blob → disasm → asm: identical text and bytes.
        let text = disassemble_blob(&blob, isa);
        assert!(!text.contains(".insn"), "non-canonical output:\n{text}");
        let again = blob_of(assemble(&text, isa).unwrap());
        assert_eq!(again, blob, "{isa:?}");
        assert_eq!(again.to_bytes(), bytes);
        assert_eq!(disassemble_blob(&again, isa), text, "{isa:?}");
    }
}

#[test]
fn canonical_text_is_a_fixed_point() {
    let text = "\
.jump_table L0, L16
L0:
    load_imm r1, -5
    load_imm_64 r2, 0x123456789abcdef0
    add_64 r7, r8, r9
L16:
    branch_eq_imm r1, 0x20000, L0
    store_imm_u8 0xffff0000, 7
    ecalli 0
    branch_lt_u r1, r2, @1000
    jump L16
";
    let blob = blob_of(assemble(text, IsaVariant::Jam07).unwrap());
    assert_eq!(disassemble_blob(&blob, IsaVariant::Jam07), text);
}

#[test]
fn format_instruction_for_traces() {
    let text = "add_64 r7, r8, r9\nx: jump x\n jump_ind r0, 0\n";
    let blob = blob_of(assemble(text, IsaVariant::Jam07).unwrap());
    let program = Program::decode(blob, Profile::JAM_07).unwrap();
    let lines: Vec<String> = program
        .instructions()
        .map(|i| format_instruction(&i))
        .collect();
    assert_eq!(
        lines,
        [
            "add_64 r7, r8, r9",
            "jump @3",
            "jump_ind r0, 0",
            "trap (not an instruction start)"
        ]
    );
    let named = format_instruction_with(&program.instruction(1), &|pc| Some(format!("x{pc}")));
    assert_eq!(named, "jump x3");
}

#[test]
fn standard_program_round_trips() {
    let source = r#"
        .heap_pages 3
        .stack_size 0x2000
        .ro_data
            .string "hello, world\n"
            .bytes 00 01 ff
            .string "quote \" and \\ # not a comment"
        .rw_data
            .bytes 2a 2b
        .code
        .jump_table main
        main:
            load_imm r7, 0x10000   # ro data
            ecalli 1
            jump_ind r0, 0
        .rw_data
            .string "more"
    "#;
    let isa = IsaVariant::Jam07;
    let Assembled::Standard(p) = assemble(source, isa).unwrap() else {
        panic!("expected a standard program");
    };
    assert_eq!(p.heap_pages, 3);
    assert_eq!(p.stack_size, 0x2000);
    assert_eq!(
        p.ro_data,
        b"hello, world\n\x00\x01\xffquote \" and \\ # not a comment".to_vec()
    );
    assert_eq!(p.rw_data, b"\x2a\x2bmore".to_vec());
    let bytes = p.to_bytes();
    let parsed = crate::standard::StandardProgram::parse(&bytes).unwrap();
    assert_eq!(parsed, p);
    let text = disassemble_standard(&parsed, isa).unwrap();
    let again = assemble(&text, isa).unwrap();
    assert_eq!(again.to_bytes(), bytes);
    let Assembled::Standard(q) = again else {
        panic!("expected a standard program");
    };
    assert_eq!(disassemble_standard(&q, isa).unwrap(), text);
    assert!(text.contains(".string \"hello, world\""), "{text}");

    // Header directives alone make a standard program; an empty one too.
    for src in [".stack_size 0", ".heap_pages 0\ntrap", ".rw_data"] {
        let a = assemble(src, isa).unwrap();
        let Assembled::Standard(p) = &a else {
            panic!("{src}")
        };
        let text = disassemble_standard(p, isa).unwrap();
        assert_eq!(assemble(&text, isa).unwrap(), a, "{src}");
    }
}

#[test]
fn errors_name_the_line() {
    let isa = IsaVariant::Jam07;
    let cases: &[(&str, usize, &str)] = &[
        ("trap\nfrobnicate r1", 2, "unknown mnemonic `frobnicate`"),
        ("add_64 r1, r2", 1, "takes 3 operand(s)"),
        ("\n\nload_imm r13, 1", 3, "register `r13` out of range"),
        ("load_imm x1, 1", 1, "expected a register"),
        (
            "load_imm r1, 0x100000000",
            1,
            "immediate `0x100000000` out of range for `load_imm`: expected a sign-extended 32-bit",
        ),
        (".ro_data\n.bytes +1", 2, "hex bytes"),
        ("load_imm r1, -0x80000001", 1, "out of range"),
        ("load_imm_64 r1, 0x10000000000000000", 1, "out of range"),
        ("add_imm_64 r1, r2, 12abc", 1, "invalid number"),
        ("jump nowhere", 1, "undefined label `nowhere`"),
        (".wide\ntrap", 1, "`.wide` must be followed"),
        ("trap\n.wide", 2, "`.wide` must be followed"),
        (".wide\n.wide\njump @0", 1, "`.wide` must be followed"),
        ("a:\ntrap\na: trap", 3, "already defined on line 1"),
        ("unlikely", 1, "not part of ISA variant"),
        ("trap\n.jump_table x", 2, "undefined label `x`"),
        ("trap\nload_imm r1, &a\na: trap", 2, "not in the jump table"),
        ("jump @0x100000000", 1, "out of range of a 32-bit offset"),
        (".jump_table @-1", 1, "outside 0..2^32"),
        (".ro_data\ntrap", 2, "not allowed in a data section"),
        (".bytes 01", 1, "need a `.ro_data`"),
        (".ro_data\n.bytes 123", 2, "hex bytes"),
        (".heap_pages 1\n.heap_pages 2", 2, "already given on line 1"),
        (".heap_pages 65536", 1, "out of range for `.heap_pages`"),
        (".stack_size 0x1000000", 1, "out of range"),
        (".frob", 1, "unknown directive"),
        ("r1: trap", 1, "invalid label name"),
        ("add_64 r1, , r2", 1, "operand 2 is empty"),
        (".string \"abc", 1, "double-quoted"),
        (".insn", 1, "at least one hex byte"),
        ("jump 5", 1, "expected a label"),
        ("trap r1", 1, "takes 0 operand(s)"),
        (".ro_data\nx:", 2, "labels are only allowed in code"),
    ];
    for &(source, line, needle) in cases {
        match assemble(source, isa) {
            Ok(_) => panic!("{source:?} assembled"),
            Err(e) => {
                assert_eq!(e.line, line, "{source:?}: {e}");
                let msg = e.to_string();
                assert!(msg.contains(needle), "{source:?}: `{msg}` lacks `{needle}`");
                assert!(msg.starts_with(&format!("line {line}: ")), "{msg}");
            }
        }
    }
    // Variant-specific instructions are accepted where they exist.
    assert!(assemble("sbrk r1, r2", IsaVariant::Jam07).is_ok());
    let e = assemble("trap\nsbrk r1, r2", IsaVariant::Jam08).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: instruction `sbrk` is not part of ISA variant jam-0.8"
    );
    assert!(assemble("unlikely", IsaVariant::Jam08).is_ok());
    assert!(assemble("unlikely", IsaVariant::GasDraft).is_ok());
}

#[test]
fn aliases_and_jump_table_addresses() {
    let isa = IsaVariant::Jam07;
    let a = blob_of(assemble(".jump_table a, b\na: trap\nb: load_imm a0, &b", isa).unwrap());
    let b = blob_of(assemble(".jump_table a, b\na: trap\nb: load_imm r7, 4", isa).unwrap());
    assert_eq!(a, b);
}

#[test]
fn wide_offsets_take_four_bytes() {
    // Entry points at fixed pcs: pc 0 and pc 5 (GP's refine and accumulate).
    let src = ".wide\njump a\n.wide\njump b\na: trap\nb: fallthrough\ntrap";
    let Assembled::Blob(blob) = assemble(src, IsaVariant::Jam07).unwrap() else {
        panic!("a bare blob")
    };
    let program = Program::decode(blob.clone(), Profile::JAM_07).unwrap();
    let pcs: Vec<u32> = program.instructions().map(|i| i.pc).collect();
    assert_eq!(pcs[..4], [0, 5, 10, 11]);
    assert_eq!(program.instruction(0).args.target, 10);
    assert_eq!(program.instruction(1).args.target, 11);
    // Without `.wide` the same jumps take two bytes each.
    let Assembled::Blob(narrow) = assemble(&src.replace(".wide\n", ""), IsaVariant::Jam07).unwrap()
    else {
        panic!("a bare blob")
    };
    assert_eq!(narrow.code.len() + 6, blob.code.len());
}
