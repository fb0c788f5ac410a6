//! The disassembler and the one-instruction formatter.
//!
//! Canonically encoded instructions print as `mnemonic operands`; anything else stands at an
//! instruction start (invalid opcodes, non-minimal encodings, operands read past the skip) prints
//! as `.insn` with its exact bytes and the decoded form in a comment, and bytes that belong to no
//! instruction print as `.raw`. So the text always assembles back to the identical code.

use std::fmt::Write;

use super::encode::{encode, has_target, imm_len};
use super::{assemble, Assembled};
use crate::blob::{BlobError, CodeBlob};
use crate::isa::{decode_args, skip_len, Args, Format, IsaVariant, Opcode};
use crate::program::{Instruction, Origin};
use crate::standard::StandardProgram;

/// Jump-table entries per `.jump_table` line.
const JUMP_TABLE_PER_LINE: usize = 8;
/// Bytes per `.raw` or `.bytes` line.
const BYTES_PER_LINE: usize = 16;
/// Characters per `.string` line.
const CHARS_PER_LINE: usize = 64;
/// Shortest printable run shown as `.string`.
const MIN_STRING_RUN: usize = 4;

/// Formats one decoded instruction for a trace, e.g. `add_64 r7, r8, r9`; targets print as
/// `@<pc>`, invalid opcodes as `invalid 0xNN`.
pub fn format_instruction(insn: &Instruction) -> String {
    format_instruction_with(insn, &|_| None)
}

/// Like [`format_instruction`], but prints a branch or jump target as `label(target)` when that
/// returns a name.
pub fn format_instruction_with(
    insn: &Instruction,
    label: &dyn Fn(i64) -> Option<String>,
) -> String {
    match insn.origin {
        Origin::Real => format_op(insn.op, &insn.args, label),
        Origin::InvalidOpcode(byte) => format!("invalid {byte:#04x}"),
        Origin::NotAnInstruction => "trap (not an instruction start)".to_string(),
    }
}

/// An ordinary immediate: small values in decimal, others as a hex 32-bit pattern.
fn format_imm(value: u64) -> String {
    let signed = value as i64;
    if signed.unsigned_abs() < 0x1_0000 {
        signed.to_string()
    } else if imm_len(value).is_some() {
        format!("{:#x}", value as u32)
    } else {
        format!("{value:#x}")
    }
}

/// `load_imm_64`'s immediate: small values in decimal, others as 64-bit hex.
fn format_imm64(value: u64) -> String {
    let signed = value as i64;
    if signed.unsigned_abs() < 0x1_0000 {
        signed.to_string()
    } else {
        format!("{value:#x}")
    }
}

/// `mnemonic operands` in the assembler's operand order.
fn format_op(op: Opcode, a: &Args, label: &dyn Fn(i64) -> Option<String>) -> String {
    let r = |n: u8| format!("r{n}");
    let t = |pc: i64| label(pc).unwrap_or_else(|| format!("@{pc}"));
    let i = format_imm;
    let operands = match op.format() {
        Format::NoArgs => vec![],
        Format::Imm => vec![i(a.imm1)],
        Format::RegImm64 => vec![r(a.ra), format_imm64(a.imm1)],
        Format::ImmImm => vec![i(a.imm1), i(a.imm2)],
        Format::Offset => vec![t(a.target)],
        Format::RegImm => vec![r(a.ra), i(a.imm1)],
        Format::RegImmImm => vec![r(a.ra), i(a.imm1), i(a.imm2)],
        Format::RegImmOffset => vec![r(a.ra), i(a.imm1), t(a.target)],
        Format::RegReg => vec![r(a.rd), r(a.ra)],
        Format::RegRegImm => vec![r(a.ra), r(a.rb), i(a.imm1)],
        Format::RegRegOffset => vec![r(a.ra), r(a.rb), t(a.target)],
        Format::RegRegImmImm => vec![r(a.ra), r(a.rb), i(a.imm1), i(a.imm2)],
        Format::RegRegReg => vec![r(a.rd), r(a.ra), r(a.rb)],
    };
    if operands.is_empty() {
        op.name().to_string()
    } else {
        format!("{} {}", op.name(), operands.join(", "))
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What a stretch of code is.
enum Unit {
    /// Bytes that are not instruction starts.
    Raw,
    /// An instruction start: its opcode (`None` if invalid), operands, and whether the bytes are
    /// exactly the canonical encoding.
    Insn {
        op: Option<Opcode>,
        args: Args,
        canonical: bool,
    },
}

/// A blob split into units, with a sanitised bitmask.
struct View<'a> {
    code: &'a [u8],
    mask: Vec<u8>,
    jump_table: &'a [u32],
    isa: IsaVariant,
    /// `(start pc, end pc, unit)` in order, covering the whole code.
    units: Vec<(usize, usize, Unit)>,
}

impl<'a> View<'a> {
    fn new(blob: &'a CodeBlob, isa: IsaVariant) -> Self {
        let code = &blob.code[..];
        let len = code.len();
        // Tolerate hand-built blobs: exactly one bit per byte, padding bits clear.
        let mut mask = blob.mask.clone();
        mask.resize(len.div_ceil(8), 0);
        if len % 8 != 0 {
            if let Some(last) = mask.last_mut() {
                *last &= (1u8 << (len % 8)) - 1;
            }
        }
        let mut view = View {
            code,
            mask,
            jump_table: &blob.jump_table,
            isa,
            units: Vec::new(),
        };
        let mut pc = 0;
        while pc < len {
            if !view.is_start(pc) {
                let end = (pc + 1..len).find(|&n| view.is_start(n)).unwrap_or(len);
                view.units.push((pc, end, Unit::Raw));
                pc = end;
                continue;
            }
            let skip = skip_len(&view.mask, len, pc);
            let end = pc + 1 + skip;
            let byte = code[pc];
            let unit = match isa.table().decode(byte) {
                Some(op) => {
                    let args = decode_args(op, code, pc, skip);
                    let mut bytes = Vec::with_capacity(16);
                    let canonical = encode(op, byte, &args, pc as u64, None, &mut bytes).is_ok()
                        && bytes == code[pc..end];
                    Unit::Insn {
                        op: Some(op),
                        args,
                        canonical,
                    }
                }
                None => Unit::Insn {
                    op: None,
                    args: Args::default(),
                    canonical: false,
                },
            };
            view.units.push((pc, end, unit));
            pc = end;
        }
        view
    }

    fn is_start(&self, pc: usize) -> bool {
        pc < self.code.len() && self.mask[pc / 8] & (1 << (pc % 8)) != 0
    }

    /// The label of `pc` when it is an instruction start.
    fn label(&self, pc: i64) -> Option<String> {
        usize::try_from(pc)
            .ok()
            .filter(|&p| self.is_start(p))
            .map(|p| format!("L{p}"))
    }

    /// The text. With `raw_branches`, instructions with offsets are printed as `.insn` too, which
    /// fixes every instruction's size (used when the layout pass would choose other sizes).
    fn render(&self, raw_branches: bool) -> String {
        let mut out = String::new();
        let label = |pc: i64| self.label(pc);
        for chunk in self.jump_table.chunks(JUMP_TABLE_PER_LINE) {
            let entries: Vec<String> = chunk
                .iter()
                .map(|&e| label(i64::from(e)).unwrap_or_else(|| format!("@{e}")))
                .collect();
            let _ = writeln!(out, ".jump_table {}", entries.join(", "));
        }
        let referenced = self.referenced_starts();
        for (pc, end, unit) in &self.units {
            let bytes = &self.code[*pc..*end];
            let Unit::Insn {
                op,
                args,
                canonical,
            } = unit
            else {
                for chunk in bytes.chunks(BYTES_PER_LINE) {
                    let _ = writeln!(out, "    .raw {}", hex(chunk));
                }
                continue;
            };
            if referenced[*pc] {
                let _ = writeln!(out, "L{pc}:");
            }
            match op {
                None => {
                    let _ = writeln!(out, "    .insn {}  # invalid opcode", hex(bytes));
                }
                Some(op) if *canonical && !(raw_branches && has_target(*op)) => {
                    let _ = writeln!(out, "    {}", format_op(*op, args, &label));
                }
                Some(op) => {
                    let text = format_op(*op, args, &label);
                    let _ = writeln!(out, "    .insn {}  # {text}", hex(bytes));
                }
            }
        }
        out
    }

    /// Which pcs need a label definition (indexed by pc).
    fn referenced_starts(&self) -> Vec<bool> {
        let mut referenced = vec![false; self.code.len()];
        let mut mark = |pc: i64| {
            if let Ok(p) = usize::try_from(pc) {
                if self.is_start(p) {
                    referenced[p] = true;
                }
            }
        };
        for &entry in self.jump_table {
            mark(i64::from(entry));
        }
        for (_, _, unit) in &self.units {
            if let Unit::Insn {
                op: Some(op), args, ..
            } = unit
            {
                if has_target(*op) {
                    mark(args.target);
                }
            }
        }
        referenced
    }

    /// Whether `text` assembles to exactly this blob.
    fn reproduces(&self, text: &str) -> bool {
        match assemble(text, self.isa) {
            Ok(Assembled::Blob(b)) => {
                b.code == self.code && b.mask == self.mask && b.jump_table == self.jump_table
            }
            _ => false,
        }
    }
}

/// Disassembles a code blob into canonical text for ISA variant `isa`.
///
/// Never panics, whatever the blob holds. Assembling the text gives the same code, bitmask and
/// jump table; for a blob produced by [`assemble`], disassembling again gives the same text.
pub fn disassemble_blob(blob: &CodeBlob, isa: IsaVariant) -> String {
    let view = View::new(blob, isa);
    let text = view.render(false);
    if view.reproduces(&text) {
        return text;
    }
    // Only blobs not laid out by the assembler's minimal-offset iteration get here.
    view.render(true)
}

/// Disassembles a standard program: header directives, data sections, then the code.
///
/// Fails only when the program's code is not a valid blob.
pub fn disassemble_standard(p: &StandardProgram, isa: IsaVariant) -> Result<String, BlobError> {
    let blob = CodeBlob::parse(&p.code)?;
    let mut out = String::new();
    let _ = writeln!(out, ".heap_pages {}", p.heap_pages);
    let _ = writeln!(out, ".stack_size {}", p.stack_size);
    if !p.ro_data.is_empty() {
        out.push_str(".ro_data\n");
        data_lines(&mut out, &p.ro_data);
    }
    if !p.rw_data.is_empty() {
        out.push_str(".rw_data\n");
        data_lines(&mut out, &p.rw_data);
    }
    if !p.ro_data.is_empty() || !p.rw_data.is_empty() {
        out.push_str(".code\n");
    }
    out.push_str(&disassemble_blob(&blob, isa));
    Ok(out)
}

/// Data as `.string` lines for printable runs of at least [`MIN_STRING_RUN`] characters and
/// `.bytes` lines for everything else.
fn data_lines(out: &mut String, data: &[u8]) {
    let printable = |b: &u8| (0x20..=0x7E).contains(b);
    let mut pending: Vec<u8> = Vec::new();
    let flush = |out: &mut String, pending: &mut Vec<u8>| {
        for chunk in pending.chunks(BYTES_PER_LINE) {
            let _ = writeln!(out, "    .bytes {}", hex(chunk));
        }
        pending.clear();
    };
    let mut i = 0;
    while i < data.len() {
        let run = data[i..].iter().take_while(|b| printable(b)).count();
        if run < MIN_STRING_RUN {
            let n = run.max(1);
            pending.extend_from_slice(&data[i..i + n]);
            i += n;
            continue;
        }
        flush(out, &mut pending);
        for chunk in data[i..i + run].chunks(CHARS_PER_LINE) {
            let mut s = String::with_capacity(chunk.len() + 2);
            for &b in chunk {
                if b == b'"' || b == b'\\' {
                    s.push('\\');
                }
                s.push(char::from(b));
            }
            let _ = writeln!(out, "    .string \"{s}\"");
        }
        i += run;
    }
    flush(out, &mut pending);
}
