//! The exact fast path of the pipeline model for blocks whose schedule never hits a limit.
//!
//! When no execution unit, start slot (5 per cycle) or reorder-buffer entry (32) is ever the
//! reason an instruction waits, the oldest-first cycle simulation starts every entry at its
//! earliest possible cycle: one cycle after its decode, and no earlier than its producers'
//! results. That schedule is computed in one pass; afterwards it is checked against every limit,
//! and only if one would have bound does the caller fall back to the full simulation. (Induction
//! over cycles: if the as-soon-as-possible schedule respects every limit at every cycle, the
//! simulation's choices at each cycle are exactly its starts.)

use super::{
    timing, GasInsn, IsaVariant, Opcode, DECODE_SLOTS, ROB_SIZE, SLACK, STARTS_PER_CYCLE,
    UNIT_LIMITS,
};

const NONE: u8 = u8::MAX;

/// The block's cost if its as-soon-as-possible schedule respects every limit, else `None`.
pub(super) fn asap_cost(isa: IsaVariant, code: &[u8], block: &[GasInsn]) -> Option<u64> {
    // Per entry (at most ROB_SIZE, so the buffer never fills): start, done, units.
    let mut start = [0u64; ROB_SIZE];
    let mut done = [0u64; ROB_SIZE];
    let mut units = [0u64; ROB_SIZE];
    let mut owner = [NONE; 13];
    let mut entries = 0usize;
    let mut cycle = 0u64; // decode cycle
    let mut slots = DECODE_SLOTS;
    let mut retire = 0u64;
    let mut unit_users = [0u8; 5];
    for insn in block {
        let t = timing(isa, code, insn);
        if t.slots > slots {
            cycle += 1;
            slots = DECODE_SLOTS;
        }
        slots -= t.slots;
        if insn.op == Opcode::MoveReg {
            owner[usize::from(insn.rd)] = owner[usize::from(insn.ra)];
            continue;
        }
        let terminates = insn.op.is_terminator();
        if entries == ROB_SIZE {
            return None;
        }
        let mut ready = cycle + 1;
        for r in t.reads.iter().flatten() {
            let o = owner[usize::from(*r)];
            if o != NONE {
                ready = ready.max(done[usize::from(o)]);
            }
        }
        start[entries] = ready;
        done[entries] = ready + u64::from(t.cycles);
        units[entries] = t.units;
        retire = retire.max(done[entries] + 2);
        for (u, users) in unit_users.iter_mut().enumerate() {
            *users += (t.units >> (8 * u)) as u8;
        }
        if let Some(w) = t.write {
            owner[usize::from(w)] = entries as u8;
        }
        entries += 1;
        // Decoding stops at a terminator, as in the full simulation.
        if terminates {
            break;
        }
    }
    if entries == 0 {
        // Nothing executes: the run ends at cycle 0.
        return Some(1);
    }
    let start = &start[..entries];
    let done = &done[..entries];
    // At most five starts in any cycle.
    if entries > STARTS_PER_CYCLE as usize {
        for (i, &s) in start.iter().enumerate() {
            if start[..i].iter().filter(|&&t| t == s).count() >= STARTS_PER_CYCLE as usize {
                return None;
            }
        }
    }
    // No unit kind over its limit at any cycle: only kinds with more users than units can be.
    for (u, &limit) in UNIT_LIMITS.iter().enumerate() {
        if unit_users[u] <= limit {
            continue;
        }
        let need = |j: usize| (units[j] >> (8 * u)) as u8;
        for i in 0..entries {
            if need(i) == 0 {
                continue;
            }
            // Units of this kind in use at the cycle entry i starts (intervals are [start, done)).
            let busy: u32 = (0..entries)
                .filter(|&j| start[j] <= start[i] && start[i] < done[j])
                .map(|j| u32::from(need(j)))
                .sum();
            if busy > u32::from(limit) {
                return None;
            }
        }
    }
    // Decoding finishes before the last retirement, so the run ends when the last entry retires.
    Some(retire.saturating_sub(SLACK).max(1))
}
