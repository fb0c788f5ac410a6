//! Per-block gas profiles: which basic blocks of the service's code ran, how often, and the gas
//! they were charged (block cost × entries, as the block-granular gas models charge).

use std::sync::{Arc, Mutex};

use kiln_pvm::program::Program;
use kiln_pvm::Kernel;

/// Gas charged to one basic block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockGas {
    /// pc of its first instruction.
    pub pc: u32,
    /// Times it was entered.
    pub entries: u64,
    /// Gas charged for it in all.
    pub gas: u64,
}

/// Counts block entries through the kernel's tracer.
pub(super) struct BlockProfiler {
    program: Arc<Program>,
    entries: Arc<Mutex<Vec<u64>>>,
}

impl BlockProfiler {
    /// Starts counting the root program's block entries in `kernel`.
    pub(super) fn attach(kernel: &mut Kernel, program: &Arc<Program>) -> Self {
        let mut is_start = vec![false; program.insts().len()];
        for &index in program.block_start_indices() {
            is_start[index as usize] = true;
        }
        let entries = Arc::new(Mutex::new(vec![0u64; is_start.len()]));
        let counts = entries.clone();
        kernel.set_tracer(Box::new(move |index, _gas| {
            if is_start.get(index as usize).copied().unwrap_or(false) {
                if let Ok(mut counts) = counts.lock() {
                    counts[index as usize] += 1;
                }
            }
        }));
        Self {
            program: program.clone(),
            entries,
        }
    }

    /// The blocks that ran, by pc.
    pub(super) fn finish(self) -> Vec<BlockGas> {
        let entries = self.entries.lock().map(|e| e.clone()).unwrap_or_default();
        let insts = self.program.insts();
        entries
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(index, &n)| BlockGas {
                pc: insts[index].pc,
                entries: n,
                gas: n.saturating_mul(self.program.block_cost_at(index as u32)),
            })
            .collect()
    }
}
