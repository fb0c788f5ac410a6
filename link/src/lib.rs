//! `kiln-link`: turning a statically linked RISC-V RV64E ELF (with the M and C extensions, as
//! Zig emits for `-mcpu=generic_rv64+e+m+c`) into a PVM program. Design: `docs/link.md`.
//!
//! - [`elf`]: reading and checking the ELF (machine, ABI flags, sections, symbols, relocations);
//! - [`riscv`]: decoding its instructions, compressed forms expanded.
//!
//! Translation to PVM instructions and the standard-program layout follow in later work (issue 5).

#![warn(missing_docs)]

pub mod elf;
pub mod riscv;
