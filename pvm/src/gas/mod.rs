//! Gas: per-block costs under each [`GasModel`], computed once when a program is decoded.

mod pipeline;

pub use pipeline::{simulate_block, PipelineTrace, Simulator};

use crate::isa::{IsaVariant, Opcode};
use crate::profile::GasModel;
use crate::program::{Inst, Instruction};

/// What the gas models need to know about one instruction of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasInsn {
    /// The instruction.
    pub op: Opcode,
    /// `r_A`.
    pub ra: u8,
    /// `r_B`.
    pub rb: u8,
    /// `r_D`.
    pub rd: u8,
    /// Branch target pc (meaningful for branches and jumps).
    pub target: i64,
    /// pc of the fall-through successor.
    pub next_pc: u32,
}

impl From<&Instruction> for GasInsn {
    fn from(i: &Instruction) -> Self {
        GasInsn {
            op: i.op,
            ra: i.args.ra,
            rb: i.args.rb,
            rd: i.args.rd,
            target: i.args.target,
            next_pc: i.next_pc,
        }
    }
}

/// Prices basic blocks under one gas model, reusing its buffers from block to block.
#[derive(Debug)]
pub struct BlockPricer {
    model: GasModel,
    isa: IsaVariant,
    simulator: Simulator,
    scratch: Vec<GasInsn>,
}

impl BlockPricer {
    /// A pricer for `model` over code of the ISA variant `isa`.
    pub fn new(model: GasModel, isa: IsaVariant) -> Self {
        Self {
            model,
            isa,
            simulator: Simulator::default(),
            scratch: Vec::new(),
        }
    }

    /// The cost of one basic block, given its instructions from its start through its
    /// terminator. `code` is the raw instruction bytes (the pipeline model looks at branch
    /// successors' opcodes).
    pub fn block_cost(&mut self, code: &[u8], block: &[GasInsn]) -> u64 {
        match self.model {
            GasModel::PerInstruction => block.len() as u64,
            GasModel::Pipeline => self.simulator.block_cost(self.isa, code, block, None),
        }
    }

    /// The cost of the block `insts[start..=end]` of a program being decoded, whose branch and
    /// jump instructions still hold their raw target pc in `y` (`u32::MAX` when out of range).
    pub(crate) fn block_cost_of_insts(
        &mut self,
        code: &[u8],
        insts: &[Inst],
        start: usize,
        end: usize,
    ) -> u64 {
        if self.model == GasModel::PerInstruction {
            return (end + 1 - start) as u64;
        }
        self.scratch.clear();
        for i in start..=end {
            let inst = &insts[i];
            self.scratch.push(GasInsn {
                op: inst.op,
                ra: inst.ra,
                rb: inst.rb,
                rd: inst.rd,
                target: i64::from(inst.y),
                next_pc: insts.get(i + 1).map_or(inst.pc + 1, |n| n.pc),
            });
        }
        self.simulator
            .block_cost(self.isa, code, &self.scratch, None)
    }
}

/// The gas charged when execution is entered at a pc that is not an instruction at all: nothing
/// under an ISA variant with GP 0.8's strict code rule (the entry is rejected before charging),
/// else the model's price of a block made of one implicit `trap` (GP 0.7 executes it).
pub fn invalid_entry_cost(model: GasModel, isa: IsaVariant) -> u64 {
    if isa.requires_strict_code() {
        return 0;
    }
    let trap = GasInsn {
        op: Opcode::Trap,
        ra: 0,
        rb: 0,
        rd: 0,
        target: 0,
        next_pc: 1,
    };
    BlockPricer::new(model, isa).block_cost(&[], &[trap])
}

/// Whether `op` is one of the opcodes that make a branch "predictable" in the pipeline model.
pub(crate) fn is_hint_opcode(isa: IsaVariant, byte: u8) -> bool {
    matches!(
        isa.table().decode(byte),
        Some(Opcode::Trap) | Some(Opcode::Unlikely)
    ) || byte == 0
}
