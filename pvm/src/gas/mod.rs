//! Gas: per-block costs under each [`GasModel`], computed once when a program is decoded.

mod pipeline;

pub use pipeline::{simulate_block, PipelineTrace};

use crate::isa::{IsaVariant, Opcode};
use crate::profile::GasModel;
use crate::program::Instruction;

/// The cost of one basic block, given its instructions from its start through its terminator.
/// `code` is the raw instruction bytes (the pipeline model looks at branch successors' opcodes).
pub fn block_cost(model: GasModel, isa: IsaVariant, code: &[u8], block: &[Instruction]) -> u64 {
    match model {
        GasModel::PerInstruction => block.len() as u64,
        GasModel::Pipeline => simulate_block(isa, code, block, None),
    }
}

/// The gas charged when execution is entered at a pc that is not an instruction at all.
/// GP 0.7 executes it as `trap` (cost 1); the GP 0.8 draft rejects the entry before charging.
pub fn invalid_entry_cost(model: GasModel) -> u64 {
    match model {
        GasModel::PerInstruction => 1,
        GasModel::Pipeline => 0,
    }
}

/// Whether `op` is one of the opcodes that make a branch "predictable" in the pipeline model.
pub(crate) fn is_hint_opcode(isa: IsaVariant, byte: u8) -> bool {
    matches!(
        isa.table().decode(byte),
        Some(Opcode::Trap) | Some(Opcode::Unlikely)
    ) || byte == 0
}
