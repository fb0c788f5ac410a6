//! The assembler: sections, label resolution, iterative layout and emission.

use std::collections::HashMap;

use super::encode::{encode, has_target, offset_len, EncodeError};
use super::parse::{parse_line, ImmExpr, InsnSpec, Stmt, Target};
use super::{AsmError, AsmErrorKind, Assembled};
use crate::blob::{CodeBlob, MAX_CODE_LEN};
use crate::isa::{Args, IsaVariant, Opcode};
use crate::standard::StandardProgram;

/// Largest data section a standard program's 24-bit length field can describe.
const MAX_DATA_LEN: usize = 0xFF_FFFF;

/// One piece of code.
enum Item {
    /// An instruction whose operands are resolved except for the target.
    Insn {
        line: usize,
        op: Opcode,
        byte: u8,
        args: Args,
        target: Option<Target>,
        /// Bytes of the instruction without its offset.
        fixed: usize,
        /// Current offset length (grows during layout).
        off_len: usize,
    },
    /// Raw bytes; the first is an instruction start when `start`.
    Bytes { bytes: Vec<u8>, start: bool },
}

impl Item {
    fn size(&self) -> usize {
        match self {
            Item::Insn { fixed, off_len, .. } => fixed + off_len,
            Item::Bytes { bytes, .. } => bytes.len(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Code,
    Ro,
    Rw,
}

/// Everything collected from the source before layout.
#[derive(Default)]
struct Source {
    items: Vec<Item>,
    /// Item lines, parallel to `items` (for errors on raw bytes).
    item_lines: Vec<usize>,
    /// Label → (index of the item it precedes, defining line).
    labels: HashMap<String, (usize, usize)>,
    jump_table: Vec<(Target, usize)>,
    ro_data: Vec<u8>,
    rw_data: Vec<u8>,
    heap_pages: Option<(u16, usize)>,
    stack_size: Option<(u32, usize)>,
    standard: bool,
}

/// Assembles `source` for ISA variant `isa`.
///
/// The result is a [`StandardProgram`] when the source uses `.ro_data`, `.rw_data`,
/// `.heap_pages` or `.stack_size`, and a bare [`CodeBlob`] otherwise. Errors carry the 1-based
/// line number.
pub fn assemble(source: &str, isa: IsaVariant) -> Result<Assembled, AsmError> {
    let mut src = Source::default();
    // Instructions with unresolved immediates: (item index, imm1, imm2).
    let mut pending: Vec<(usize, ImmExpr, ImmExpr)> = Vec::new();
    let mut section = Section::Code;
    // Line of a `.wide` waiting for its instruction.
    let mut wide: Option<usize> = None;
    for (index, text) in source.lines().enumerate() {
        let line = index + 1;
        let parsed = parse_line(text).map_err(|k| k.at(line))?;
        for name in parsed.labels {
            if section != Section::Code {
                return Err(AsmErrorKind::Misplaced("labels are only allowed in code").at(line));
            }
            if let Some(&(_, first_line)) = src.labels.get(&name) {
                return Err(AsmErrorKind::DuplicateLabel { name, first_line }.at(line));
            }
            src.labels.insert(name, (src.items.len(), line));
        }
        let Some(stmt) = parsed.stmt else { continue };
        let in_code = |what| {
            if section == Section::Code {
                Ok(())
            } else {
                Err(AsmErrorKind::Misplaced(what).at(line))
            }
        };
        if let (Some(wide_line), false) = (wide, matches!(stmt, Stmt::Insn(_))) {
            return Err(AsmErrorKind::Misplaced(
                "`.wide` must be followed by an instruction with a target",
            )
            .at(wide_line));
        }
        match stmt {
            Stmt::Insn(spec) => {
                in_code("instructions are not allowed in a data section (use `.code`)")?;
                let (mut item, imm1, imm2) =
                    instruction(spec, isa, line).map_err(|k| k.at(line))?;
                if let Some(wide_line) = wide.take() {
                    match &mut item {
                        Item::Insn {
                            target: Some(_),
                            off_len,
                            ..
                        } => *off_len = 4,
                        _ => {
                            return Err(AsmErrorKind::Misplaced(
                                "`.wide` must be followed by an instruction with a target",
                            )
                            .at(wide_line))
                        }
                    }
                }
                pending.push((src.items.len(), imm1, imm2));
                src.push(item, line);
            }
            Stmt::InsnBytes(bytes) => {
                in_code("`.insn` is not allowed in a data section (use `.code`)")?;
                src.push(Item::Bytes { bytes, start: true }, line);
            }
            Stmt::Raw(bytes) => {
                in_code("`.raw` is not allowed in a data section (use `.code`)")?;
                src.push(
                    Item::Bytes {
                        bytes,
                        start: false,
                    },
                    line,
                );
            }
            Stmt::JumpTable(targets) => {
                src.jump_table
                    .extend(targets.into_iter().map(|t| (t, line)));
            }
            Stmt::RoData => (section, src.standard) = (Section::Ro, true),
            Stmt::RwData => (section, src.standard) = (Section::Rw, true),
            Stmt::Code => section = Section::Code,
            Stmt::Data(bytes) => {
                let (data, name) = match section {
                    Section::Code => {
                        return Err(AsmErrorKind::Misplaced(
                            "data directives need a `.ro_data` or `.rw_data` section",
                        )
                        .at(line))
                    }
                    Section::Ro => (&mut src.ro_data, "read-only data"),
                    Section::Rw => (&mut src.rw_data, "read-write data"),
                };
                if data.len() + bytes.len() > MAX_DATA_LEN {
                    return Err(AsmErrorKind::DataTooLarge(name).at(line));
                }
                data.extend_from_slice(&bytes);
            }
            Stmt::HeapPages(n) => set_once(&mut src.heap_pages, n, ".heap_pages", line)?,
            Stmt::StackSize(n) => set_once(&mut src.stack_size, n, ".stack_size", line)?,
            Stmt::Wide => {
                in_code("`.wide` is not allowed in a data section (use `.code`)")?;
                wide = Some(line);
            }
        }
        if src.heap_pages.is_some() || src.stack_size.is_some() {
            src.standard = true;
        }
    }
    if let Some(wide_line) = wide {
        return Err(AsmErrorKind::Misplaced(
            "`.wide` must be followed by an instruction with a target",
        )
        .at(wide_line));
    }
    src.resolve_immediates(pending)?;
    src.check_labels()?;
    let starts = src.layout()?;
    let blob = src.emit(&starts)?;
    Ok(if src.standard {
        Assembled::Standard(StandardProgram {
            ro_data: src.ro_data,
            rw_data: src.rw_data,
            heap_pages: src.heap_pages.map_or(0, |(n, _)| n),
            stack_size: src.stack_size.map_or(0, |(n, _)| n),
            code: blob.to_bytes(),
        })
    } else {
        Assembled::Blob(blob)
    })
}

fn set_once<T>(
    slot: &mut Option<(T, usize)>,
    value: T,
    directive: &'static str,
    line: usize,
) -> Result<(), AsmError> {
    if let Some((_, first_line)) = slot {
        return Err(AsmErrorKind::DuplicateDirective {
            directive,
            first_line: *first_line,
        }
        .at(line));
    }
    *slot = Some((value, line));
    Ok(())
}

/// Checks the instruction against the ISA variant and builds its item.
fn instruction(
    spec: InsnSpec,
    isa: IsaVariant,
    line: usize,
) -> Result<(Item, ImmExpr, ImmExpr), AsmErrorKind> {
    let byte = isa.table().encode(spec.op).ok_or(AsmErrorKind::NotInIsa {
        mnemonic: spec.op.name(),
        isa: isa.name(),
    })?;
    let args = Args {
        ra: spec.ra,
        rb: spec.rb,
        rd: spec.rd,
        ..Args::default()
    };
    let item = Item::Insn {
        line,
        op: spec.op,
        byte,
        args,
        target: spec.target,
        fixed: 0,
        off_len: 0,
    };
    Ok((item, spec.imm1, spec.imm2))
}

impl Source {
    fn push(&mut self, item: Item, line: usize) {
        self.items.push(item);
        self.item_lines.push(line);
    }

    /// Fills in immediates (`&label` needs the whole jump table) and the fixed instruction sizes.
    fn resolve_immediates(
        &mut self,
        pending: Vec<(usize, ImmExpr, ImmExpr)>,
    ) -> Result<(), AsmError> {
        for (index, imm1, imm2) in pending {
            let line = self.item_lines[index];
            let v1 = self.imm_value(imm1).map_err(|k| k.at(line))?;
            let v2 = self.imm_value(imm2).map_err(|k| k.at(line))?;
            if let Item::Insn {
                op,
                byte,
                args,
                fixed,
                ..
            } = &mut self.items[index]
            {
                args.imm1 = v1;
                args.imm2 = v2;
                // The size without the offset: encode with a zero offset of length 0.
                let mut probe = *args;
                probe.target = 0;
                let mut out = Vec::new();
                encode(*op, *byte, &probe, 0, Some(0), &mut out)
                    .map_err(|e| encode_error(e, 0).at(line))?;
                *fixed = out.len();
            }
        }
        Ok(())
    }

    fn imm_value(&self, imm: ImmExpr) -> Result<u64, AsmErrorKind> {
        match imm {
            ImmExpr::Value(v) => Ok(v),
            ImmExpr::JumpTableAddr(name) => {
                if !self.labels.contains_key(&name) {
                    return Err(AsmErrorKind::UndefinedLabel(name));
                }
                self.jump_table
                    .iter()
                    .position(|(t, _)| matches!(t, Target::Label(l) if *l == name))
                    .map(|i| (i as u64 + 1) * 2)
                    .filter(|&a| a <= 0x7FFF_FFFF)
                    .ok_or(AsmErrorKind::NotInJumpTable(name))
            }
        }
    }

    /// Reports the first use of an undefined label.
    fn check_labels(&self) -> Result<(), AsmError> {
        let uses = self
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Insn {
                    line,
                    target: Some(Target::Label(name)),
                    ..
                } => Some((name, *line)),
                _ => None,
            })
            .chain(self.jump_table.iter().filter_map(|(t, line)| match t {
                Target::Label(name) => Some((name, *line)),
                Target::Abs(_) => None,
            }));
        let mut first: Option<(usize, &String)> = None;
        for (name, line) in uses {
            if !self.labels.contains_key(name) && first.is_none_or(|(l, _)| line < l) {
                first = Some((line, name));
            }
        }
        match first {
            Some((line, name)) => Err(AsmErrorKind::UndefinedLabel(name.clone()).at(line)),
            None => Ok(()),
        }
    }

    fn target_pc(&self, target: &Target, starts: &[u64]) -> i64 {
        match target {
            Target::Abs(pc) => *pc,
            // Labels are checked before layout; an unknown one cannot occur here.
            Target::Label(name) => self
                .labels
                .get(name)
                .map_or(0, |&(index, _)| starts[index] as i64),
        }
    }

    /// Computes item start pcs (plus the end pc), growing offsets until every one fits.
    fn layout(&mut self) -> Result<Vec<u64>, AsmError> {
        let mut starts = vec![0u64; self.items.len() + 1];
        loop {
            let mut pc = 0u64;
            for (i, item) in self.items.iter().enumerate() {
                starts[i] = pc;
                pc += item.size() as u64;
                if pc > MAX_CODE_LEN as u64 {
                    return Err(AsmErrorKind::CodeTooLarge(MAX_CODE_LEN).at(self.item_lines[i]));
                }
            }
            starts[self.items.len()] = pc;
            let mut changed = false;
            for i in 0..self.items.len() {
                let Item::Insn {
                    target: Some(target),
                    ..
                } = &self.items[i]
                else {
                    continue;
                };
                let need = offset_len(self.target_pc(target, &starts), starts[i]);
                if let Item::Insn { off_len, .. } = &mut self.items[i] {
                    if need > *off_len {
                        *off_len = need;
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(starts);
            }
        }
    }

    /// Emits the code, bitmask and jump table.
    fn emit(&self, starts: &[u64]) -> Result<CodeBlob, AsmError> {
        let len = starts.last().copied().unwrap_or(0) as usize;
        let mut code = Vec::with_capacity(len);
        let mut mask = vec![0u8; len.div_ceil(8)];
        for (i, item) in self.items.iter().enumerate() {
            let pc = starts[i];
            match item {
                Item::Insn {
                    line,
                    op,
                    byte,
                    args,
                    target,
                    off_len,
                    ..
                } => {
                    let mut args = *args;
                    if let Some(t) = target {
                        args.target = self.target_pc(t, starts);
                    }
                    let off = has_target(*op).then_some(*off_len);
                    encode(*op, *byte, &args, pc, off, &mut code)
                        .map_err(|e| encode_error(e, pc).at(*line))?;
                }
                Item::Bytes { bytes, .. } => code.extend_from_slice(bytes),
            }
            if matches!(item, Item::Insn { .. } | Item::Bytes { start: true, .. }) {
                mask[(pc / 8) as usize] |= 1 << (pc % 8);
            }
        }
        debug_assert_eq!(code.len(), len);
        let mut jump_table = Vec::with_capacity(self.jump_table.len());
        for (target, line) in &self.jump_table {
            let pc = self.target_pc(target, starts);
            let entry = u32::try_from(pc)
                .map_err(|_| AsmErrorKind::JumpTableEntryOutOfRange(pc).at(*line))?;
            jump_table.push(entry);
        }
        Ok(CodeBlob {
            jump_table,
            code,
            mask,
        })
    }
}

fn encode_error(e: EncodeError, pc: u64) -> AsmErrorKind {
    match e {
        // Registers and immediates are range-checked by the parser.
        EncodeError::Register(r) => AsmErrorKind::RegisterOutOfRange(format!("r{r}")),
        EncodeError::Immediate(v) => AsmErrorKind::ImmediateOutOfRange {
            value: format!("{v:#x}"),
            context: "this format".to_string(),
            expected: "a sign-extended 32-bit value",
        },
        EncodeError::Offset(target) => AsmErrorKind::OffsetOutOfRange { target, pc },
    }
}
