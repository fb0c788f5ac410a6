//! `kiln-pvm`: the Polkadot Virtual Machine core of Kiln.
//!
//! - [`blob`] and [`standard`]: the GP program formats, validated once at load;
//! - [`isa`]: the instruction table, ISA variants and operand decoding;
//! - [`program`]: a program decoded once into an immutable, shareable form with basic blocks,
//!   the resolved jump table and per-block gas;
//! - [`gas`]: the per-instruction and pipeline gas models;
//! - [`semantics`]: one definition of every instruction's computation;
//! - [`memory`] and [`interpreter`]: paged guest memory and the reference interpreter;
//! - [`recompiler`] (x86-64 Linux): native code with the interpreter's exact semantics;
//! - [`vm`]: the [`Backend`] choice and one [`Vm`] API over both backends;
//! - [`kernel`]: many VMs per invocation, calling each other, with capabilities
//!   (`docs/kernel.md`);
//! - [`asm`]: a text assembler and disassembler;
//! - [`testing`]: random program generation for differential tests and fuzzing.

#![warn(missing_docs)]
// Without the recompiler, the guest-window machinery it uses has no caller.
#![cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    allow(dead_code)
)]

pub mod asm;
pub mod blob;
pub mod codec;
pub mod gas;
pub mod host_calls;
pub mod interpreter;
pub mod isa;
pub mod kernel;
pub mod memory;
pub mod profile;
pub mod program;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod recompiler;
pub mod semantics;
pub mod standard;
pub mod testing;
pub mod vm;

pub use blob::{BlobError, CodeBlob};
pub use interpreter::{ExitReason, Instance, HALT_ADDRESS};
pub use isa::{IsaVariant, Opcode};
pub use kernel::{Kernel, KernelConfig, KernelExit};
pub use memory::{Access, Memory, MemoryFault};
pub use profile::{GasModel, HostCallNumbering, Profile};
pub use program::{LoadError, Program};
pub use standard::StandardProgram;
pub use vm::{Backend, Code, PrepareError, Vm};
