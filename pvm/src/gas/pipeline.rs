//! The GP 0.8 draft gas model: an in-order-decode, out-of-order-execute CPU simulation per basic
//! block. Cost = max(cycles − 3, 1).
//!
//! Machine: 4 decode slots and 5 execution starts per cycle, a 32-entry reorder buffer, execution
//! units ALU×4, LOAD×4, STORE×4, MUL×1, DIV×1. `move_reg` is resolved at decode by register
//! renaming and takes no buffer entry. Each cycle the simulator decodes while it can, then starts
//! ready entries in program order, then advances the clock.

use crate::isa::{Format, IsaVariant, Opcode};
use crate::program::Instruction;

const DECODE_SLOTS: u32 = 4;
const STARTS_PER_CYCLE: u32 = 5;
const ROB_SIZE: usize = 32;
const LOAD_LATENCY: u32 = 25;
const STORE_LATENCY: u32 = 25;
const SLACK: u64 = 3;

const ALU: usize = 0;
const LOAD: usize = 1;
const STORE: usize = 2;
const MUL: usize = 3;
const DIV: usize = 4;
const UNIT_LIMITS: [u8; 5] = [4, 4, 4, 1, 1];

/// Per-instruction timing: latency, decode slots, units, register reads and writes.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    cycles: u32,
    slots: u32,
    units: [u8; 5],
    reads: [Option<u8>; 3],
    write: Option<u8>,
}

/// Register reads and writes of an instruction, as the simulator sees them.
fn registers(insn: &Instruction) -> ([Option<u8>; 3], Option<u8>) {
    use Opcode::*;
    let a = &insn.args;
    let (ra, rb, rd) = (Some(a.ra), Some(a.rb), Some(a.rd));
    match insn.op.format() {
        Format::NoArgs | Format::Imm | Format::ImmImm | Format::Offset => ([None; 3], None),
        Format::RegImm64 => ([None; 3], ra),
        Format::RegImm => match insn.op {
            JumpInd | StoreU8 | StoreU16 | StoreU32 | StoreU64 => ([ra, None, None], None),
            _ => ([None; 3], ra),
        },
        Format::RegImmImm => ([ra, None, None], None),
        Format::RegImmOffset => match insn.op {
            LoadImmJump => ([None; 3], ra),
            _ => ([ra, None, None], None),
        },
        Format::RegReg => ([ra, None, None], rd),
        Format::RegRegImm => match insn.op {
            StoreIndU8 | StoreIndU16 | StoreIndU32 | StoreIndU64 => ([ra, rb, None], None),
            _ => ([rb, None, None], ra),
        },
        Format::RegRegOffset => ([ra, rb, None], None),
        Format::RegRegImmImm => ([rb, None, None], ra),
        Format::RegRegReg => ([ra, rb, None], rd),
    }
}

fn timing(isa: IsaVariant, code: &[u8], insn: &Instruction) -> Timing {
    use Opcode::*;
    let (reads, write) = registers(insn);
    let overlap = write.is_some() && reads.contains(&write);
    let p = |same: u32, different: u32| if overlap { same } else { different };
    let ps = |same: u32, different: u32| {
        if insn.args.ra == insn.args.rd {
            same
        } else {
            different
        }
    };
    let unit = |list: &[usize]| {
        let mut u = [0u8; 5];
        for &i in list {
            u[i] = 1;
        }
        u
    };
    let (cycles, slots, units) = match insn.op {
        MoveReg => (0, 1, [0; 5]),
        And | Xor | Or | Add64 | Sub64 => (1, p(1, 2), unit(&[ALU])),
        Add32 | Sub32 => (2, p(2, 3), unit(&[ALU])),
        AndImm | XorImm | OrImm | AddImm64 | ShloLImm64 | ShloRImm64 | SharRImm64 | RotR64Imm
        | ReverseBytes => (1, p(1, 2), unit(&[ALU])),
        AddImm32 | ShloLImm32 | ShloRImm32 | SharRImm32 | RotR32Imm => (2, p(2, 3), unit(&[ALU])),
        CountSetBits64 | CountSetBits32 | LeadingZeroBits64 | LeadingZeroBits32 | SignExtend8
        | SignExtend16 | ZeroExtend16 => (1, 1, unit(&[ALU])),
        TrailingZeroBits64 | TrailingZeroBits32 => (2, 1, unit(&[ALU])),
        ShloL64 | ShloR64 | SharR64 | RotL64 | RotR64 => (1, ps(2, 3), unit(&[ALU])),
        ShloL32 | ShloR32 | SharR32 | RotL32 | RotR32 => (2, ps(3, 4), unit(&[ALU])),
        ShloLImmAlt64 | ShloRImmAlt64 | SharRImmAlt64 | RotR64ImmAlt => (1, 3, unit(&[ALU])),
        ShloLImmAlt32 | ShloRImmAlt32 | SharRImmAlt32 | RotR32ImmAlt => (2, 4, unit(&[ALU])),
        SetLtU | SetLtS | SetLtUImm | SetLtSImm | SetGtUImm | SetGtSImm => (3, 3, unit(&[ALU])),
        CmovIz | CmovNz => (2, 2, unit(&[ALU])),
        CmovIzImm | CmovNzImm => (2, 3, unit(&[ALU])),
        Max | MaxU | Min | MinU => (3, p(2, 3), unit(&[ALU])),
        LoadU8 | LoadI8 | LoadU16 | LoadI16 | LoadU32 | LoadI32 | LoadU64 | LoadIndU8
        | LoadIndI8 | LoadIndU16 | LoadIndI16 | LoadIndU32 | LoadIndI32 | LoadIndU64 => {
            (LOAD_LATENCY, 1, unit(&[ALU, LOAD]))
        }
        StoreU8 | StoreU16 | StoreU32 | StoreU64 | StoreIndU8 | StoreIndU16 | StoreIndU32
        | StoreIndU64 | StoreImmU8 | StoreImmU16 | StoreImmU32 | StoreImmU64 | StoreImmIndU8
        | StoreImmIndU16 | StoreImmIndU32 | StoreImmIndU64 => {
            (STORE_LATENCY, 1, unit(&[ALU, STORE]))
        }
        BranchEq | BranchNe | BranchLtU | BranchLtS | BranchGeU | BranchGeS | BranchEqImm
        | BranchNeImm | BranchLtUImm | BranchLeUImm | BranchGeUImm | BranchGtUImm
        | BranchLtSImm | BranchLeSImm | BranchGeSImm | BranchGtSImm => {
            (branch_cycles(isa, code, insn), 1, unit(&[ALU]))
        }
        DivU32 | DivS32 | RemU32 | RemS32 | DivU64 | DivS64 | RemU64 | RemS64 => {
            (60, 4, unit(&[ALU, DIV]))
        }
        AndInv | OrInv | NegAddImm64 => (2, 3, unit(&[ALU])),
        Xnor => (2, p(2, 3), unit(&[ALU])),
        NegAddImm32 => (3, 4, unit(&[ALU])),
        LoadImm => (1, 1, [0; 5]),
        LoadImm64 => (1, 2, [0; 5]),
        Mul64 | MulImm64 => (3, p(1, 2), unit(&[ALU, MUL])),
        Mul32 | MulImm32 => (4, p(2, 3), unit(&[ALU, MUL])),
        MulUpperSS | MulUpperUU => (4, 4, unit(&[ALU, MUL])),
        MulUpperSU => (6, 4, unit(&[ALU, MUL])),
        Trap | Fallthrough => (2, 1, [0; 5]),
        Unlikely => (40, 1, [0; 5]),
        Jump | LoadImmJump => (15, 1, [0; 5]),
        JumpInd | LoadImmJumpInd => (22, 1, [0; 5]),
        Ecalli => (100, 4, unit(&[ALU])),
        // Not part of the 0.8 draft (which removed it); priced like a simple ALU operation.
        Sbrk => (1, 1, unit(&[ALU])),
    };
    let (reads, write) = if insn.op == Ecalli {
        ([None; 3], None)
    } else {
        (reads, write)
    };
    Timing {
        cycles,
        slots,
        units,
        reads,
        write,
    }
}

/// A branch costs 1 cycle when either successor starts with `trap` or `unlikely`, else 20.
fn branch_cycles(isa: IsaVariant, code: &[u8], insn: &Instruction) -> u32 {
    let byte_at = |pc: i64| -> u8 {
        usize::try_from(pc)
            .ok()
            .and_then(|pc| code.get(pc).copied())
            .unwrap_or(0)
    };
    let hint = |pc: i64| super::is_hint_opcode(isa, byte_at(pc));
    if hint(i64::from(insn.next_pc)) || hint(insn.args.target) {
        1
    } else {
        20
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Decoded,
    Waiting,
    Executing,
    Finished,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    state: State,
    left: u32,
    units: [u8; 5],
    deps: [u32; 3],
    dep_count: u8,
    insn: u32,
}

/// A per-cycle record of the simulation, for debugging (`--trace` of the gas model).
#[derive(Debug, Default, Clone)]
pub struct PipelineTrace {
    /// For each instruction of the block, the cycle it was decoded and started (`None` for
    /// `move_reg`, which never executes), and when it retired.
    pub rows: Vec<(u64, Option<u64>, Option<u64>)>,
    /// Total cycles simulated.
    pub cycles: u64,
}

/// Simulates one block and returns its cost. `block` runs from the block start to its
/// terminator; when `trace` is given, it receives the per-instruction timeline.
pub fn simulate_block(
    isa: IsaVariant,
    code: &[u8],
    block: &[Instruction],
    mut trace: Option<&mut PipelineTrace>,
) -> u64 {
    let mut entries: Vec<Entry> = Vec::with_capacity(block.len().min(1024));
    let mut head = 0usize; // entries[..head] have retired
    let mut owner: [Option<u32>; 13] = [None; 13];
    let mut units = UNIT_LIMITS;
    let mut next = 0usize; // next instruction of `block` to decode
    let mut cycle: u64 = 0;
    let mut slots = DECODE_SLOTS;
    let mut starts = STARTS_PER_CYCLE;
    if let Some(t) = trace.as_deref_mut() {
        t.rows = vec![(0, None, None); block.len()];
    }

    loop {
        // 1. Decode.
        if next < block.len() && entries.len() - head < ROB_SIZE {
            let insn = &block[next];
            let t = timing(isa, code, insn);
            if t.slots <= slots {
                slots -= t.slots;
                if let Some(tr) = trace.as_deref_mut() {
                    tr.rows[next].0 = cycle;
                }
                if insn.op == Opcode::MoveReg {
                    owner[usize::from(insn.args.rd)] = owner[usize::from(insn.args.ra)];
                } else {
                    let mut deps = [0u32; 3];
                    let mut dep_count = 0u8;
                    for r in t.reads.iter().flatten() {
                        if let Some(o) = owner[usize::from(*r)] {
                            if !deps[..usize::from(dep_count)].contains(&o) {
                                deps[usize::from(dep_count)] = o;
                                dep_count += 1;
                            }
                        }
                    }
                    let id = entries.len() as u32;
                    if let Some(w) = t.write {
                        owner[usize::from(w)] = Some(id);
                    }
                    entries.push(Entry {
                        state: State::Decoded,
                        left: t.cycles,
                        units: t.units,
                        deps,
                        dep_count,
                        insn: next as u32,
                    });
                }
                next = if insn.op.is_terminator() {
                    block.len()
                } else {
                    next + 1
                };
                continue;
            }
        }
        // 2. Start the oldest ready entry.
        if starts > 0 {
            let ready = (head..entries.len()).find(|&i| {
                let e = &entries[i];
                e.state == State::Waiting
                    && (0..5).all(|u| e.units[u] <= units[u])
                    && e.deps[..usize::from(e.dep_count)].iter().all(|&d| {
                        let d = d as usize;
                        d < head || entries[d].left == 0
                    })
            });
            if let Some(i) = ready {
                let e = &mut entries[i];
                e.state = State::Executing;
                for u in 0..5 {
                    units[u] -= e.units[u];
                }
                starts -= 1;
                if let Some(tr) = trace.as_deref_mut() {
                    tr.rows[e.insn as usize].1 = Some(cycle);
                }
                continue;
            }
        }
        // 3. Stop when everything is decoded and retired.
        if next >= block.len() && head == entries.len() {
            break;
        }
        // 4. Advance the clock.
        cycle += 1;
        slots = DECODE_SLOTS;
        starts = STARTS_PER_CYCLE;
        for e in &mut entries[head..] {
            if e.state == State::Executing && e.left == 1 {
                for u in 0..5 {
                    units[u] += e.units[u];
                }
            }
        }
        for e in &mut entries[head..] {
            if e.state == State::Decoded {
                e.state = State::Waiting;
            }
        }
        while head < entries.len() && entries[head].state == State::Finished {
            if let Some(tr) = trace.as_deref_mut() {
                tr.rows[entries[head].insn as usize].2 = Some(cycle);
            }
            head += 1;
        }
        for e in &mut entries[head..] {
            if e.state == State::Executing {
                if e.left == 0 {
                    e.state = State::Finished;
                } else {
                    e.left -= 1;
                }
            }
        }
    }
    if let Some(t) = trace {
        t.cycles = cycle;
    }
    cycle.saturating_sub(SLACK).max(1)
}
