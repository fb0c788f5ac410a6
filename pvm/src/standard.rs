//! The GP standard program `E_3(|o|) E_3(|w|) E_2(z) E_3(s) o w E_4(|c|) c` (GP §A.7), the optional
//! length-prefixed metadata of service code, the standard memory layout and initial registers.

use crate::codec::{write_fixed, write_natural, CodecError, Reader};
use crate::interpreter::HALT_ADDRESS;
use crate::memory::{Access, MemoryError};
use crate::profile::Profile;
use crate::program::{LoadError, Program};
use crate::vm::{Code, Vm};

/// Zone size `Z_Z` (64 KiB).
pub const ZONE: u64 = 1 << 16;
/// Page size `Z_P`.
pub const PAGE: u64 = 1 << 12;
/// Maximum argument size `Z_I` (16 MiB).
pub const MAX_ARGS: u64 = 1 << 24;
/// Where read-only data starts.
pub const RO_START: u32 = ZONE as u32;
/// Stack top (`2³² − 2Z_Z − Z_I`).
pub const STACK_TOP: u32 = ((1u64 << 32) - 2 * ZONE - MAX_ARGS) as u32;
/// Where arguments start (`2³² − Z_Z − Z_I`).
pub const ARGS_START: u32 = ((1u64 << 32) - ZONE - MAX_ARGS) as u32;

fn page_round(x: u64) -> u64 {
    x.div_ceil(PAGE) * PAGE
}

fn zone_round(x: u64) -> u64 {
    x.div_ceil(ZONE) * ZONE
}

/// Why a standard program or its initialisation is invalid.
#[derive(Debug, thiserror::Error)]
pub enum StandardError {
    /// The header or a section is cut short.
    #[error("standard program truncated at offset {offset} reading {field}")]
    Truncated {
        /// Offset of the field.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// Bytes follow the code blob.
    #[error("{count} unexpected byte(s) after the code at offset {offset}")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// The sections do not fit the 32-bit address space (`5Z_Z + Z(|o|) + Z(|w|+zZ_P) + Z(s) + Z_I ≤ 2³²`).
    #[error("memory layout does not fit in 4 GiB: needs {needed} bytes")]
    LayoutTooLarge {
        /// Bytes the layout would need.
        needed: u64,
    },
    /// The argument is larger than `Z_I`.
    #[error("argument of {len} bytes exceeds the {max}-byte limit")]
    ArgumentsTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: u64,
    },
    /// The code blob is invalid.
    #[error(transparent)]
    Code(#[from] LoadError),
    /// Guest memory could not be set up.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

/// A parsed standard program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StandardProgram {
    /// Read-only data `o`.
    pub ro_data: Vec<u8>,
    /// Read-write data `w`.
    pub rw_data: Vec<u8>,
    /// Extra zeroed heap pages `z` after the read-write data.
    pub heap_pages: u16,
    /// Stack size `s` in bytes.
    pub stack_size: u32,
    /// The code blob (GP deblob format).
    pub code: Vec<u8>,
}

/// Addresses of the standard memory layout for a program and an argument length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Start of read-only data.
    pub ro_start: u32,
    /// Bytes of read-only pages.
    pub ro_size: u32,
    /// Start of read-write data.
    pub rw_start: u32,
    /// Bytes of read-write pages (data + heap pages).
    pub rw_size: u32,
    /// Lowest stack address.
    pub stack_start: u32,
    /// Argument start.
    pub args_start: u32,
    /// Bytes of argument pages.
    pub args_size: u32,
    /// First address past the read-write region (where the heap grows).
    pub heap_end: u32,
}

fn truncated(offset: usize, field: &'static str) -> impl Fn(CodecError) -> StandardError {
    move |_| StandardError::Truncated { offset, field }
}

impl StandardProgram {
    /// Parses `E_3(|o|) E_3(|w|) E_2(z) E_3(s) o w E_4(|c|) c`.
    pub fn parse(bytes: &[u8]) -> Result<Self, StandardError> {
        let mut r = Reader::new(bytes);
        let field = |r: &mut Reader, len, name| {
            let at = r.offset();
            r.fixed(len).map_err(truncated(at, name))
        };
        let ro_len = field(&mut r, 3, "read-only length")? as usize;
        let rw_len = field(&mut r, 3, "read-write length")? as usize;
        let heap_pages = field(&mut r, 2, "heap pages")? as u16;
        let stack_size = field(&mut r, 3, "stack size")? as u32;
        let at = r.offset();
        let ro_data = r
            .take(ro_len)
            .map_err(truncated(at, "read-only data"))?
            .to_vec();
        let at = r.offset();
        let rw_data = r
            .take(rw_len)
            .map_err(truncated(at, "read-write data"))?
            .to_vec();
        let code_len = field(&mut r, 4, "code length")? as usize;
        let at = r.offset();
        let code = r.take(code_len).map_err(truncated(at, "code"))?.to_vec();
        if r.remaining() != 0 {
            return Err(StandardError::TrailingBytes {
                offset: r.offset(),
                count: r.remaining(),
            });
        }
        let program = Self {
            ro_data,
            rw_data,
            heap_pages,
            stack_size,
            code,
        };
        program.layout(0)?;
        Ok(program)
    }

    /// Parses service code: `E(↕metadata) ++ standard program`. Returns the metadata too.
    pub fn parse_service_code(bytes: &[u8]) -> Result<(Vec<u8>, Self), StandardError> {
        let mut r = Reader::new(bytes);
        let len = r.natural().map_err(truncated(0, "metadata length"))?;
        let at = r.offset();
        let len = usize::try_from(len).map_err(|_| StandardError::Truncated {
            offset: at,
            field: "metadata",
        })?;
        let metadata = r.take(len).map_err(truncated(at, "metadata"))?.to_vec();
        let program = Self::parse(&bytes[r.offset()..]).map_err(|e| match e {
            StandardError::Truncated { offset, field } => StandardError::Truncated {
                offset: offset + r.offset(),
                field,
            },
            StandardError::TrailingBytes { offset, count } => StandardError::TrailingBytes {
                offset: offset + r.offset(),
                count,
            },
            other => other,
        })?;
        Ok((metadata, program))
    }

    /// Encodes the program.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_fixed(&mut out, self.ro_data.len() as u64, 3);
        write_fixed(&mut out, self.rw_data.len() as u64, 3);
        write_fixed(&mut out, u64::from(self.heap_pages), 2);
        write_fixed(&mut out, u64::from(self.stack_size), 3);
        out.extend_from_slice(&self.ro_data);
        out.extend_from_slice(&self.rw_data);
        write_fixed(&mut out, self.code.len() as u64, 4);
        out.extend_from_slice(&self.code);
        out
    }

    /// Encodes service code with `metadata` prefixed.
    pub fn to_service_code(&self, metadata: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_natural(&mut out, metadata.len() as u64);
        out.extend_from_slice(metadata);
        out.extend_from_slice(&self.to_bytes());
        out
    }

    /// The standard layout, checking GP's validity inequality and the argument size.
    pub fn layout(&self, args_len: usize) -> Result<Layout, StandardError> {
        if args_len as u64 > MAX_ARGS {
            return Err(StandardError::ArgumentsTooLarge {
                len: args_len,
                max: MAX_ARGS,
            });
        }
        let o = self.ro_data.len() as u64;
        let rw_total = self.rw_data.len() as u64 + u64::from(self.heap_pages) * PAGE;
        let s = u64::from(self.stack_size);
        let needed = 5 * ZONE + zone_round(o) + zone_round(rw_total) + zone_round(s) + MAX_ARGS;
        if needed > 1 << 32 {
            return Err(StandardError::LayoutTooLarge { needed });
        }
        let rw_start = 2 * ZONE + zone_round(o);
        let rw_size = page_round(self.rw_data.len() as u64) + u64::from(self.heap_pages) * PAGE;
        Ok(Layout {
            ro_start: RO_START,
            ro_size: page_round(o) as u32,
            rw_start: rw_start as u32,
            rw_size: rw_size as u32,
            stack_start: (u64::from(STACK_TOP) - page_round(s)) as u32,
            args_start: ARGS_START,
            args_size: page_round(args_len as u64) as u32,
            heap_end: (rw_start + rw_size) as u32,
        })
    }

    /// Decodes the code for `profile`.
    pub fn decode(&self, profile: Profile) -> Result<Program, LoadError> {
        Program::from_blob_bytes(&self.code, profile)
    }

    /// Builds a ready-to-run instance: memory laid out and filled, registers initialised
    /// (`ω₀` = halt address, `ω₁` = stack top, `ω₇` = argument pointer, `ω₈` = argument length),
    /// entry at `pc` with `gas`.
    pub fn instantiate(
        &self,
        code: &Code,
        args: &[u8],
        pc: u32,
        gas: i64,
    ) -> Result<Vm, StandardError> {
        let layout = self.layout(args.len())?;
        let mut vm = code.instantiate()?;
        let mem = vm.memory_mut();
        mem.set_page_range(layout.ro_start >> 12, layout.ro_size >> 12, Access::Read)?;
        mem.host_write(layout.ro_start, &self.ro_data)?;
        mem.set_page_range(layout.rw_start >> 12, layout.rw_size >> 12, Access::Write)?;
        mem.host_write(layout.rw_start, &self.rw_data)?;
        let stack_pages = (STACK_TOP - layout.stack_start) >> 12;
        mem.set_page_range(layout.stack_start >> 12, stack_pages, Access::Write)?;
        mem.set_page_range(
            layout.args_start >> 12,
            layout.args_size >> 12,
            Access::Read,
        )?;
        mem.host_write(layout.args_start, args)?;
        let mut regs = [0u64; 13];
        regs[0] = u64::from(HALT_ADDRESS);
        regs[1] = u64::from(STACK_TOP);
        regs[7] = u64::from(ARGS_START);
        regs[8] = args.len() as u64;
        vm.set_regs(regs);
        // The program break starts at the end of the read-write region (data and heap pages).
        vm.set_heap_start(layout.rw_start + layout.rw_size);
        vm.set_gas(gas);
        vm.set_pc(pc);
        Ok(vm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_gray_paper() {
        let p = StandardProgram {
            ro_data: vec![1; 5000],
            rw_data: vec![2; 10],
            heap_pages: 2,
            stack_size: 4096 * 3,
            code: vec![0, 0, 1, 0, 1],
        };
        let l = p.layout(100).unwrap();
        assert_eq!(l.ro_start, 0x10000);
        assert_eq!(l.ro_size, 8192);
        assert_eq!(l.rw_start, 0x30000);
        assert_eq!(l.rw_size, 3 * 4096);
        assert_eq!(STACK_TOP, 0xFEFE_0000);
        assert_eq!(ARGS_START, 0xFEFF_0000);
        assert_eq!(l.stack_start, 0xFEFE_0000 - 3 * 4096);
        assert_eq!(l.args_size, 4096);
        let bytes = p.to_bytes();
        assert_eq!(StandardProgram::parse(&bytes).unwrap(), p);
        let (meta, q) = StandardProgram::parse_service_code(&p.to_service_code(b"meta")).unwrap();
        assert_eq!((meta.as_slice(), q), (&b"meta"[..], p));
    }

    #[test]
    fn oversized_layouts_and_truncation_are_rejected() {
        let p = StandardProgram {
            stack_size: 0xFF_FFFF,
            heap_pages: 0xFFFF,
            rw_data: vec![0; 100],
            ..Default::default()
        };
        let mut bytes = p.to_bytes();
        // 0xFFFF heap pages (256 MiB) + 16 MiB stack still fit; force the sum over 4 GiB.
        assert!(p.layout(0).is_ok());
        let big = StandardProgram {
            ro_data: vec![0; 0xFF_FFFF],
            ..p.clone()
        };
        assert!(big.layout(0).is_ok());
        assert!(matches!(
            p.layout(MAX_ARGS as usize + 1),
            Err(StandardError::ArgumentsTooLarge { .. })
        ));
        bytes.truncate(20);
        assert!(matches!(
            StandardProgram::parse(&bytes),
            Err(StandardError::Truncated { .. })
        ));
        assert!(StandardProgram::parse(&[]).is_err());
    }
}
