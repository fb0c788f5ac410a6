//! `kiln-link`: turning a statically linked RISC-V RV64E ELF (with the M and C extensions, as
//! Zig emits for `-mcpu=generic_rv64+e+m+c`) into a PVM standard program. Design:
//! `docs/link.md`.
//!
//! - [`elf`]: reading and checking the ELF (machine, ABI flags, sections, symbols, relocations);
//! - [`riscv`]: decoding its instructions, compressed forms expanded;
//! - `translate.rs`: RISC-V instructions to PVM assembler text;
//! - [`link`]: placing the data, building the jump table and assembling the program.

#![warn(missing_docs)]

pub mod elf;
pub mod riscv;
mod translate;

use std::collections::BTreeMap;

use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{IsaVariant, StandardProgram};

use elf::Contents;
use translate::{AddressMap, Located, Value};

/// Why an ELF could not be linked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The ELF itself.
    #[error(transparent)]
    Elf(#[from] elf::ElfError),
    /// An instruction that does not decode.
    #[error("at {address:#x}: {error}")]
    Decode {
        /// Its input address.
        address: u64,
        /// Why.
        error: riscv::DecodeError,
    },
    /// Something the translation does not support.
    #[error("at {address:#x}: unsupported: {what}")]
    Unsupported {
        /// The input address.
        address: u64,
        /// What.
        what: String,
    },
    /// The entry symbol is missing.
    #[error("no symbol `{0}` to start at")]
    NoEntry(String),
    /// The program does not fit the standard layout.
    #[error("the program does not fit the PVM's standard layout: {0}")]
    Layout(String),
}

/// How to link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOptions {
    /// The ISA variant whose opcode numbers the code uses.
    pub isa: IsaVariant,
    /// Stack bytes.
    pub stack_size: u32,
    /// The entry points, by symbol: none means the ELF's entry address, at pc 0. With several,
    /// entry `i` is at pc `5·i` (a jump with a four-byte offset each): GP services put refine
    /// at pc 0 and accumulate at pc 5.
    pub entries: Vec<String>,
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self {
            isa: IsaVariant::Jam07,
            stack_size: 64 << 10,
            entries: Vec::new(),
        }
    }
}

/// `R_RISCV_64` and `R_RISCV_32`: absolute addresses in data.
const R_RISCV_32: u32 = 1;
const R_RISCV_64: u32 = 2;
/// Relaxation markers that accompany other relocations.
const R_RISCV_RELAX: u32 = 51;
use kiln_pvm::standard::{PAGE, ZONE};
const RO_START: u64 = kiln_pvm::standard::RO_START as u64;

/// Where the data sections land.
struct Placement {
    /// `(input address, size, output address)` per data section.
    sections: Vec<(u64, u64, u64)>,
    /// Input code addresses in the jump table, by index.
    jump_table: Vec<u64>,
    /// Input code address range.
    code: (u64, u64),
}

impl AddressMap for Placement {
    fn value_of(&self, address: u64) -> Option<Value> {
        if (self.code.0..self.code.1).contains(&address) {
            return Some(Value::CodeAddress(address));
        }
        // The section containing the address; an address just past a section's end (an end
        // symbol) belongs to it only if no section starts there.
        let inside =
            |&&(start, size, _): &&(u64, u64, u64)| (start..start + size).contains(&address);
        let at_end = |&&(start, size, _): &&(u64, u64, u64)| address == start + size;
        self.sections
            .iter()
            .find(inside)
            .or_else(|| self.sections.iter().find(at_end))
            .map(|&(start, _, out)| Value::Number((out + (address - start)) as i64))
    }
}

impl Placement {
    /// The number a data relocation writes for `target`.
    fn number(&self, target: u64) -> Option<u64> {
        match self.value_of(target)? {
            Value::Number(n) => Some(n as u64),
            Value::CodeAddress(a) => {
                let i = self.jump_table.iter().position(|&t| t == a)?;
                Some((i as u64 + 1) * 2)
            }
        }
    }
}

/// Most bytes of read-only or read-write data a standard program holds (`E_3` lengths).
const MAX_DATA: u64 = (1 << 24) - 1;
/// Largest section alignment accepted.
const MAX_ALIGN: u64 = 1 << 16;

fn align(value: u64, to: u64) -> u64 {
    value.next_multiple_of(to.max(1))
}

/// Where `section` goes after `end` bytes of its region: its offset, checked against the
/// standard program's limits before anything is allocated.
fn place(end: u64, section: &elf::Section, heap: bool) -> Result<u64, LinkError> {
    if section.align > MAX_ALIGN {
        return Err(LinkError::Layout(format!(
            "section `{}` asks for {}-byte alignment",
            section.name, section.align
        )));
    }
    let offset = align(end, section.align);
    let limit = if heap {
        MAX_DATA + u64::from(u16::MAX) * PAGE
    } else {
        MAX_DATA
    };
    match offset.checked_add(section.size) {
        Some(e) if e <= limit => Ok(offset),
        _ => Err(LinkError::Layout(format!(
            "section `{}` ({} bytes) does not fit a standard program's {} bytes of data",
            section.name, section.size, MAX_DATA
        ))),
    }
}

/// Links `bytes` (an RV64E ELF) into a standard program.
pub fn link(bytes: &[u8], options: &LinkOptions) -> Result<StandardProgram, LinkError> {
    let input = elf::read(bytes)?;
    // Decode every code section.
    let mut code: Vec<Located> = Vec::new();
    let mut relocations: BTreeMap<u64, (u32, u64)> = BTreeMap::new();
    let mut code_range = (u64::MAX, 0);
    for section in input
        .sections
        .iter()
        .filter(|s| s.contents == Contents::Code)
    {
        code_range = (
            code_range.0.min(section.address),
            code_range.1.max(section.address + section.size),
        );
        let mut at = 0usize;
        while at < section.data.len() {
            let address = section.address + at as u64;
            let (inst, len) = riscv::decode(&section.data[at..])
                .map_err(|error| LinkError::Decode { address, error })?;
            code.push(Located {
                address,
                len: len as u64,
                inst,
            });
            at += len;
        }
        for r in section
            .relocations
            .iter()
            .filter(|r| r.kind != R_RISCV_RELAX)
        {
            relocations
                .entry(section.address + r.offset)
                .or_insert((r.kind, r.target));
        }
    }
    // Place the data: read-only first, then read-write. Zero-filled sections at the end become
    // heap pages (no bytes in the program); others become zero bytes.
    let mut ro: Vec<u8> = Vec::new();
    let mut rw: Vec<u8> = Vec::new();
    let mut placed: Vec<(&elf::Section, bool, u64)> = Vec::new();
    for section in input
        .sections
        .iter()
        .filter(|s| s.contents == Contents::ReadOnly)
    {
        let offset = place(ro.len() as u64, section, false)?;
        ro.resize(offset as usize, 0);
        ro.extend_from_slice(&section.data);
        placed.push((section, false, offset));
    }
    let writable: Vec<&elf::Section> = input
        .sections
        .iter()
        .filter(|s| matches!(s.contents, Contents::ReadWrite | Contents::Zero))
        .collect();
    let zero_tail = writable
        .iter()
        .rev()
        .take_while(|s| s.contents == Contents::Zero)
        .count();
    let mut end = 0u64;
    for (i, section) in writable.iter().enumerate() {
        let in_tail = i >= writable.len() - zero_tail;
        let offset = place(end, section, in_tail)?;
        end = offset + section.size;
        if !in_tail {
            rw.resize(offset as usize, 0);
            if section.contents == Contents::Zero {
                rw.resize(end as usize, 0);
            } else {
                rw.extend_from_slice(&section.data);
            }
        }
        placed.push((section, true, offset));
    }
    let heap_pages = end
        .saturating_sub(align(rw.len() as u64, PAGE))
        .div_ceil(PAGE);
    let heap_pages = u16::try_from(heap_pages).map_err(|_| {
        LinkError::Layout(format!(
            "{end} bytes of read-write data and zero-filled sections"
        ))
    })?;
    let rw_start = 2 * ZONE + align(ro.len() as u64, ZONE); // GP's standard layout
    let data_code_pointers: Vec<u64> = placed
        .iter()
        .flat_map(|(s, _, _)| s.relocations.iter())
        .filter(|r| matches!(r.kind, R_RISCV_64 | R_RISCV_32))
        .map(|r| r.target)
        .filter(|t| (code_range.0..code_range.1).contains(t))
        .collect();
    let plan = translate::plan(&code, &relocations, &data_code_pointers)?;
    let placement = Placement {
        sections: placed
            .iter()
            .map(|&(s, is_rw, offset)| {
                let base = if is_rw { rw_start } else { RO_START };
                (s.address, s.size, base + offset)
            })
            .collect(),
        jump_table: plan.jump_table.clone(),
        code: code_range,
    };
    // Patch the data's own relocations.
    for &(section, is_rw, offset) in &placed {
        let bytes = if is_rw { &mut rw } else { &mut ro };
        for r in &section.relocations {
            let address = section.address + r.offset;
            let unsupported = |what: String| LinkError::Unsupported { address, what };
            // The type first, so that an unsupported one is named (label differences in
            // position-independent tables, say).
            let width = match r.kind {
                R_RISCV_64 => 8,
                R_RISCV_32 => 4,
                R_RISCV_RELAX => continue,
                other => return Err(unsupported(format!("relocation type {other} in data"))),
            };
            let value = placement
                .number(r.target)
                .ok_or_else(|| unsupported(format!("a data relocation to {:#x}", r.target)))?;
            let at = (offset + r.offset) as usize;
            let field = bytes
                .get_mut(at..at + width)
                .ok_or_else(|| unsupported(format!("a relocation outside `{}`", section.name)))?;
            field.copy_from_slice(&value.to_le_bytes()[..width]);
        }
    }
    // The code: the entry jumps, then every instruction in address order.
    let entries = if options.entries.is_empty() {
        vec![input.entry]
    } else {
        options
            .entries
            .iter()
            .map(|name| {
                input
                    .symbols
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|&(_, a)| a)
                    .ok_or_else(|| LinkError::NoEntry(name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    // One entry: a plain jump. Several: each jump takes exactly five bytes, so entry `i` is at
    // pc `5·i`.
    let wide = if entries.len() > 1 { ".wide\n" } else { "" };
    let mut text = String::new();
    let mut labels = plan.labels.clone();
    let mut block_starts = plan.block_starts.clone();
    for &entry in &entries {
        text += &format!("{wide}jump {}\n", translate::label(entry));
        labels.insert(entry);
        block_starts.insert(entry);
    }
    let mut after_terminator = true;
    for l in &code {
        if block_starts.contains(&l.address) && !after_terminator {
            text.push_str("fallthrough\n");
        }
        if labels.contains(&l.address) {
            text.push_str(&translate::label(l.address));
            text.push_str(":\n");
        }
        let before = text.len();
        translate::emit(&mut text, l, &plan, &placement)?;
        if let Some(last) = text[before..].lines().last() {
            after_terminator = is_terminator(last);
        }
    }
    // A return point (or other label) just past the last instruction: a call to a function
    // that does not return, at the very end.
    if labels.contains(&code_range.1) {
        if !after_terminator {
            text.push_str("fallthrough\n");
        }
        text.push_str(&translate::label(code_range.1));
        text.push_str(":\n");
        after_terminator = false;
    }
    if !after_terminator {
        text.push_str("trap\n");
    }
    if !plan.jump_table.is_empty() {
        let names: Vec<String> = plan
            .jump_table
            .iter()
            .map(|&a| translate::label(a))
            .collect();
        text.push_str(&format!(".jump_table {}\n", names.join(", ")));
    }
    let blob = match assemble(&text, options.isa) {
        Ok(Assembled::Blob(blob)) => blob,
        Ok(Assembled::Standard(_)) => unreachable!("the text has no data directives"),
        Err(e) => {
            return Err(LinkError::Unsupported {
                address: entries[0],
                what: format!("the translation did not assemble: {e}"),
            })
        }
    };
    let program = StandardProgram {
        ro_data: ro,
        rw_data: rw,
        heap_pages,
        stack_size: options.stack_size,
        code: blob.to_bytes(),
    };
    program
        .layout(0)
        .map_err(|e| LinkError::Layout(e.to_string()))?;
    Ok(program)
}

fn is_terminator(line: &str) -> bool {
    let mnemonic = line.split_whitespace().next().unwrap_or("");
    mnemonic.starts_with("branch_")
        || matches!(
            mnemonic,
            "jump" | "jump_ind" | "load_imm_jump" | "load_imm_jump_ind" | "trap" | "fallthrough"
        )
}
