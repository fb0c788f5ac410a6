//! Reading the input ELF: a statically linked 64-bit little-endian RISC-V executable for the
//! RVE soft-float ABI, linked with `--emit-relocs` so that every address in code and data can
//! be found and moved. Everything else is rejected with an error naming what is wrong.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{
    LittleEndian, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
    SectionFlags, SectionKind,
};

/// Why an ELF cannot be linked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not a parsable 64-bit little-endian ELF.
    #[error("not a 64-bit little-endian ELF file: {0}")]
    Malformed(String),
    /// Another machine.
    #[error("the ELF is for machine {0}, not RISC-V")]
    NotRiscV(u16),
    /// Not the RV64E soft-float ABI.
    #[error("the ELF's flags {flags:#x} are not the RVE soft-float ABI ({what})")]
    WrongAbi {
        /// `e_flags`.
        flags: u32,
        /// What differs.
        what: &'static str,
    },
    /// Dynamically linked, relocatable or otherwise not a static executable.
    #[error("the ELF is not a statically linked executable: {0}")]
    NotStatic(&'static str),
    /// A section Kiln cannot place (thread-local storage, say).
    #[error("section `{name}` cannot be linked: {why}")]
    Section {
        /// The section's name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// Code was linked without relocations: addresses in it could not be moved.
    #[error("section `{0}` has no relocations: link with `--emit-relocs` (and `--no-relax`)")]
    NoRelocations(String),
}

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Instructions.
    Code,
    /// Read-only data.
    ReadOnly,
    /// Initialised read-write data.
    ReadWrite,
    /// Zero-initialised read-write data (`.bss`): no bytes in the file.
    Zero,
}

/// One relocation: at `offset` in its section, of ELF type `kind`, to `target` (symbol value
/// plus addend, an address in the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// Offset in the section.
    pub offset: u64,
    /// `R_RISCV_*` type.
    pub kind: u32,
    /// The address it refers to.
    pub target: u64,
}

/// A section that occupies memory at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// What it holds.
    pub contents: Contents,
    /// Its address in the input.
    pub address: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its alignment.
    pub align: u64,
    /// Its bytes (empty for [`Contents::Zero`]).
    pub data: Vec<u8>,
    /// Its relocations, by offset.
    pub relocations: Vec<Relocation>,
}

/// A checked input ELF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The sections that occupy memory, in address order.
    pub sections: Vec<Section>,
    /// The entry address.
    pub entry: u64,
    /// Defined function and object symbols: `(name, address)`.
    pub symbols: Vec<(String, u64)>,
}

/// Reads and checks `bytes`.
pub fn read(bytes: &[u8]) -> Result<Input, ElfError> {
    let file =
        ElfFile64::<LittleEndian>::parse(bytes).map_err(|e| ElfError::Malformed(e.to_string()))?;
    let endian = LittleEndian;
    let header = file.elf_header();
    let machine = header.e_machine(endian);
    if machine != elf::EM_RISCV {
        return Err(ElfError::NotRiscV(machine.0));
    }
    let flags = header.e_flags(endian).0;
    if flags & elf::EF_RISCV_RVE.0 == 0 {
        return Err(ElfError::WrongAbi {
            flags,
            what: "RVE is not set",
        });
    }
    if flags & elf::EF_RISCV_FLOAT_ABI != elf::EF_RISCV_FLOAT_ABI_SOFT.0 {
        return Err(ElfError::WrongAbi {
            flags,
            what: "hardware floating point",
        });
    }
    if header.e_type(endian) != elf::ET_EXEC {
        return Err(ElfError::NotStatic(
            "its type is not EXEC (relocatable objects and shared objects are not linked)",
        ));
    }
    let segments = header
        .program_headers(endian, bytes)
        .map_err(|e| ElfError::Malformed(e.to_string()))?;
    for segment in segments {
        match segment.p_type(endian) {
            elf::PT_INTERP => return Err(ElfError::NotStatic("it asks for an interpreter")),
            elf::PT_DYNAMIC => return Err(ElfError::NotStatic("it has a dynamic segment")),
            elf::PT_TLS => {
                return Err(ElfError::NotStatic("it uses thread-local storage"));
            }
            _ => {}
        }
    }
    let mut sections = Vec::new();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags, .. } = section.flags() else {
            continue;
        };
        if sh_flags.0 & elf::SHF_ALLOC.0 == 0 || section.size() == 0 {
            continue;
        }
        let name = section.name().unwrap_or("?").to_string();
        // Every address computed from a section stays far from overflowing.
        if section
            .address()
            .checked_add(section.size())
            .is_none_or(|end| end > 1 << 48)
        {
            return Err(ElfError::Section {
                name,
                why: "its address range is not a plausible static executable's",
            });
        }
        // Unwind tables are not needed at run time (a PVM program cannot unwind).
        if name.starts_with(".eh_frame") {
            continue;
        }
        let contents = match section.kind() {
            SectionKind::Text => Contents::Code,
            SectionKind::ReadOnlyData | SectionKind::ReadOnlyString => Contents::ReadOnly,
            SectionKind::Data => Contents::ReadWrite,
            SectionKind::UninitializedData => Contents::Zero,
            // Unwind tables and notes are not needed at run time.
            SectionKind::Note => continue,
            SectionKind::Tls | SectionKind::UninitializedTls => {
                return Err(ElfError::Section {
                    name,
                    why: "thread-local storage",
                })
            }
            _ => {
                return Err(ElfError::Section {
                    name,
                    why: "an allocated section of a kind Kiln does not place",
                })
            }
        };
        let data = if contents == Contents::Zero {
            Vec::new()
        } else {
            section
                .data()
                .map_err(|e| ElfError::Malformed(e.to_string()))?
                .to_vec()
        };
        let mut relocations = Vec::new();
        for (offset, relocation) in section.relocations() {
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                continue;
            };
            let base = match relocation.target() {
                RelocationTarget::Symbol(index) => file
                    .symbol_by_index(index)
                    .map(|s| s.address())
                    .map_err(|e| ElfError::Malformed(e.to_string()))?,
                RelocationTarget::Section(index) => file
                    .section_by_index(index)
                    .map(|s| s.address())
                    .map_err(|e| ElfError::Malformed(e.to_string()))?,
                _ => 0,
            };
            // In an executable, `r_offset` is the address of the field.
            let offset = offset.wrapping_sub(section.address());
            if offset >= section.size() {
                return Err(ElfError::Malformed(format!(
                    "a relocation of `{name}` lies outside it"
                )));
            }
            relocations.push(Relocation {
                offset,
                kind: r_type.0,
                target: base.wrapping_add(relocation.addend() as u64),
            });
        }
        relocations.sort_by_key(|r| r.offset);
        if contents == Contents::Zero && !relocations.is_empty() {
            return Err(ElfError::Section {
                name,
                why: "relocations in a zero-filled section",
            });
        }
        if contents == Contents::Code && relocations.is_empty() && section.size() > 0 {
            return Err(ElfError::NoRelocations(name));
        }
        sections.push(Section {
            name,
            contents,
            address: section.address(),
            size: section.size(),
            align: section.align().max(1),
            data,
            relocations,
        });
    }
    sections.sort_by_key(|s| s.address);
    let symbols = file
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .filter(|(name, _)| !name.is_empty())
        .collect();
    Ok(Input {
        sections,
        entry: header.e_entry(endian),
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB: &[u8] = include_bytes!("../tests/fixtures/fib_rv64emc.elf");

    #[test]
    fn a_zig_guest_reads_with_its_code_relocations_and_symbols() {
        let input = read(FIB).expect("reads");
        let text: Vec<&Section> = input
            .sections
            .iter()
            .filter(|s| s.contents == Contents::Code)
            .collect();
        assert_eq!(text.len(), 1);
        let text = text[0];
        assert_eq!(text.name, ".text");
        assert_eq!(text.data.len() as u64, text.size);
        // Three calls (R_RISCV_CALL_PLT = 19) and the branches Zig leaves for the linker.
        let calls = text.relocations.iter().filter(|r| r.kind == 19).count();
        assert_eq!(calls, 3);
        for r in &text.relocations {
            assert!(r.offset < text.size);
        }
        let entry = input.symbols.iter().find(|(n, _)| n == "entry").unwrap().1;
        assert_eq!(input.entry, entry);
        // The whole code decodes.
        let mut at = 0;
        while at < text.data.len() {
            let (_, len) = crate::riscv::decode(&text.data[at..]).expect("decodes");
            at += len;
        }
    }

    #[test]
    fn other_inputs_are_rejected_with_the_reason() {
        assert!(matches!(read(b"not an elf"), Err(ElfError::Malformed(_))));
        assert!(matches!(read(&[]), Err(ElfError::Malformed(_))));
        // Flip fields of the fixture's header: e_machine (offset 18), e_flags (48), e_type (16).
        let patched = |offset: usize, value: &[u8]| {
            let mut b = FIB.to_vec();
            b[offset..offset + value.len()].copy_from_slice(value);
            read(&b)
        };
        assert_eq!(
            patched(18, &62u16.to_le_bytes()),
            Err(ElfError::NotRiscV(62))
        );
        assert!(matches!(
            patched(48, &0u32.to_le_bytes()),
            Err(ElfError::WrongAbi {
                what: "RVE is not set",
                ..
            })
        ));
        assert!(matches!(
            patched(48, &0xCu32.to_le_bytes()),
            Err(ElfError::WrongAbi {
                what: "hardware floating point",
                ..
            })
        ));
        assert!(matches!(
            patched(16, &1u16.to_le_bytes()),
            Err(ElfError::NotStatic(_))
        ));
        // A code section placed where its end overflows: an error naming the section.
        let mut hostile = FIB.to_vec();
        let shoff = u64::from_le_bytes(hostile[0x28..0x30].try_into().unwrap()) as usize;
        let shentsize = u16::from_le_bytes([hostile[0x3A], hostile[0x3B]]) as usize;
        let shnum = u16::from_le_bytes([hostile[0x3C], hostile[0x3D]]) as usize;
        for i in 0..shnum {
            let header = shoff + i * shentsize;
            let flags = u64::from_le_bytes(hostile[header + 8..header + 16].try_into().unwrap());
            if flags & 4 != 0 {
                // SHF_EXECINSTR: move `.text` to the top of the 64-bit space.
                hostile[header + 16..header + 24]
                    .copy_from_slice(&0xFFFF_FFFF_FFFF_F000u64.to_le_bytes());
            }
        }
        assert!(
            matches!(read(&hostile), Err(ElfError::Section { ref name, .. }) if name == ".text"),
            "{:?}",
            read(&hostile)
        );
        // Every truncation is an error, never a panic.
        for len in 0..FIB.len() {
            let _ = read(&FIB[..len]);
        }
        // So is every single-byte corruption.
        for i in 0..FIB.len() {
            let mut b = FIB.to_vec();
            b[i] ^= 0xFF;
            let _ = read(&b);
        }
    }
}
