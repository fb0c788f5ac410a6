//! The literal cycle-by-cycle form of the pipeline model (one action per step, as the model is
//! described), kept as the reference the event-driven simulator is tested against.

use super::{
    timing, GasInsn, IsaVariant, Opcode, DECODE_SLOTS, ROB_SIZE, SLACK, STARTS_PER_CYCLE,
    UNIT_LIMITS,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Decoded,
    Waiting,
    Executing,
    Finished,
}

#[derive(Clone, Copy)]
struct Entry {
    state: State,
    left: u32,
    units: [u8; 5],
    deps: Vec3,
}

type Vec3 = ([u32; 3], usize);

/// The cost of `block` under the pipeline model, simulated one step at a time.
pub(super) fn reference_cost(isa: IsaVariant, code: &[u8], block: &[GasInsn]) -> u64 {
    let mut entries: Vec<Entry> = Vec::new();
    let mut head = 0usize;
    let mut owner: [Option<u32>; 13] = [None; 13];
    let mut units = UNIT_LIMITS;
    let mut next = 0usize;
    let mut cycle = 0u64;
    let (mut slots, mut starts) = (DECODE_SLOTS, STARTS_PER_CYCLE);
    loop {
        // 1. Decode one instruction.
        if next < block.len() && entries.len() - head < ROB_SIZE {
            let insn = &block[next];
            let t = timing(isa, code, insn);
            if t.slots <= slots {
                slots -= t.slots;
                if insn.op == Opcode::MoveReg {
                    owner[usize::from(insn.rd)] = owner[usize::from(insn.ra)];
                } else {
                    let mut deps = ([0u32; 3], 0usize);
                    for r in t.reads.iter().flatten() {
                        if let Some(o) = owner[usize::from(*r)] {
                            if !deps.0[..deps.1].contains(&o) {
                                deps.0[deps.1] = o;
                                deps.1 += 1;
                            }
                        }
                    }
                    if let Some(w) = t.write {
                        owner[usize::from(w)] = Some(entries.len() as u32);
                    }
                    let mut u = [0u8; 5];
                    for (i, count) in u.iter_mut().enumerate() {
                        *count = (t.units >> (8 * i)) as u8;
                    }
                    entries.push(Entry {
                        state: State::Decoded,
                        left: t.cycles,
                        units: u,
                        deps,
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
                    && e.deps.0[..e.deps.1]
                        .iter()
                        .all(|&d| (d as usize) < head || entries[d as usize].left == 0)
            });
            if let Some(i) = ready {
                entries[i].state = State::Executing;
                for (free, need) in units.iter_mut().zip(entries[i].units) {
                    *free -= need;
                }
                starts -= 1;
                continue;
            }
        }
        // 3. Stop.
        if next >= block.len() && head == entries.len() {
            break;
        }
        // 4. Advance one cycle.
        cycle += 1;
        slots = DECODE_SLOTS;
        starts = STARTS_PER_CYCLE;
        for e in &entries[head..] {
            if e.state == State::Executing && e.left == 1 {
                for (free, need) in units.iter_mut().zip(e.units) {
                    *free += need;
                }
            }
        }
        for e in &mut entries[head..] {
            if e.state == State::Decoded {
                e.state = State::Waiting;
            }
        }
        while head < entries.len() && entries[head].state == State::Finished {
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
    cycle.saturating_sub(SLACK).max(1)
}
