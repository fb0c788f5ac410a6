//! A decoded program: every instruction pre-decoded once, basic blocks, the resolved jump table
//! and per-block gas costs. Immutable and shareable (`Arc<Program>`) across runs and backends.

use crate::blob::{BlobError, CodeBlob};
use crate::gas;
use crate::isa::{decode_args, decode_compact, skip_len, Args, CompactArgs, Format, Opcode};
use crate::profile::Profile;

/// Marker for "no valid target" in resolved branch targets and jump-table entries.
pub const INVALID_TARGET: u32 = u32::MAX;

/// What stands at an instruction's pc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A valid instruction of the ISA variant.
    Real,
    /// A byte marked as an instruction start whose opcode the variant does not define: a trap.
    InvalidOpcode(u8),
    /// Execution falls through to a byte that is not an instruction start (or past the end of the
    /// code): GP reads it as opcode 0, a trap.
    NotAnInstruction,
}

/// One fully decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    /// Its offset in the code.
    pub pc: u32,
    /// The instruction (`Trap` for invalid opcodes and implicit traps).
    pub op: Opcode,
    /// Decoded operands.
    pub args: Args,
    /// pc of the next instruction (`pc + 1 + skip`).
    pub next_pc: u32,
    /// What the bytes at `pc` are.
    pub origin: Origin,
}

/// The interpreter's compact form of one instruction (16 bytes).
///
/// `x` holds the first immediate (its low 32 bits; immediates other than `load_imm_64`'s are
/// sign-extended from at most 4 bytes), `y` the second immediate, the resolved target
/// instruction index of a branch or jump, or the high half of `load_imm_64`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Inst {
    /// Instruction.
    pub op: Opcode,
    /// `r_A`.
    pub ra: u8,
    /// `r_B`.
    pub rb: u8,
    /// `r_D`.
    pub rd: u8,
    /// The instruction's pc.
    pub pc: u32,
    /// First immediate.
    pub x: u32,
    /// Second immediate or target index.
    pub y: u32,
}

/// Why a program could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The code blob is malformed. (The cause is part of the message, not a separate source,
    /// so error chains do not print it twice.)
    #[error("malformed code blob: {0}")]
    Blob(BlobError),
    /// The ISA variant requires every instruction to be valid and the code to end exactly at an
    /// instruction boundary (GP 0.8 draft).
    #[error("code at pc {pc} is invalid for {variant}: {reason}")]
    StrictCode {
        /// The offending pc.
        pc: u32,
        /// The ISA variant.
        variant: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl From<BlobError> for LoadError {
    fn from(e: BlobError) -> Self {
        LoadError::Blob(e)
    }
}

/// A program decoded for one profile.
#[derive(Debug)]
pub struct Program {
    profile: Profile,
    blob: CodeBlob,
    insts: Vec<Inst>,
    origins: Vec<Origin>,
    block_cost: Vec<u64>,
    block_starts: Vec<u32>,
    jump_targets: Vec<u32>,
    /// For every `PC_GROUP` bytes of code, the index of the first instruction at or after the
    /// group's first pc: a pc is found with one table load and a short forward scan.
    first_index_of_group: Vec<u32>,
    /// Bit `r` set when some instruction names register `r` as an operand.
    named_registers: u16,
}

/// Bytes of code per entry of [`Program::first_index_of_group`].
const PC_GROUP: usize = 32;

/// Where a run may begin: the instruction index and the gas of the block that contains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPoint {
    /// Index into the instruction array.
    pub index: u32,
    /// Cost of the containing basic block (charged at entry).
    pub block_cost: u64,
}

impl Program {
    /// Parses and decodes a code blob.
    pub fn from_blob_bytes(bytes: &[u8], profile: Profile) -> Result<Self, LoadError> {
        Self::decode(CodeBlob::parse(bytes)?, profile)
    }

    /// Decodes a parsed blob for `profile`.
    pub fn decode(blob: CodeBlob, profile: Profile) -> Result<Self, LoadError> {
        blob.validate()?;
        let code = &blob.code;
        let table = profile.isa.table();
        let mut b = Builder::new(code, profile);
        // Walk every instruction start in order; after each, record an implicit trap where
        // execution would fall through onto a byte that is not an instruction start.
        let mut next_start = next_set_bit(&blob.mask, code.len(), 0);
        while let Some(pc) = next_start {
            let skip = skip_len(&blob.mask, code.len(), pc);
            let next_pc = pc + 1 + skip;
            let byte = code[pc];
            match table.decode(byte) {
                Some(op) => b.push(
                    compact(op, decode_compact(op, code, pc, skip), pc),
                    Origin::Real,
                ),
                None => b.push(trap_at(pc), Origin::InvalidOpcode(byte)),
            }
            // A skip below 24 stops at the next start (or the end); 24 may have been clamped.
            next_start = if next_pc >= code.len() {
                None
            } else if skip < 24 {
                Some(next_pc)
            } else {
                next_set_bit(&blob.mask, code.len(), next_pc)
            };
            if next_start != Some(next_pc) {
                b.push(trap_at(next_pc), Origin::NotAnInstruction);
            }
        }
        let Builder {
            mut insts,
            origins,
            first_index_of_group,
            targeted,
            block_starts,
            block_cost,
            named_registers,
            ..
        } = b.finish();

        if profile.isa.requires_strict_code() {
            check_strict(&insts, &origins, code.len(), profile)?;
        }

        // GP's ϖ: valid instructions at pc 0 or right after a valid terminator. (A valid
        // instruction right after another one is its fall-through successor: otherwise an
        // implicit trap would stand between them.)
        let is_jump_target = |insts: &[Inst], i: usize| -> bool {
            origins[i] == Origin::Real
                && (insts[i].pc == 0
                    || i > 0 && origins[i - 1] == Origin::Real && insts[i - 1].op.is_terminator())
        };
        let resolve = |insts: &[Inst], target: u32| -> u32 {
            find_index(insts, &first_index_of_group, target)
                .filter(|&i| is_jump_target(insts, i as usize))
                .unwrap_or(INVALID_TARGET)
        };
        let jump_targets: Vec<u32> = blob
            .jump_table
            .iter()
            .map(|&t| resolve(&insts, t))
            .collect();
        for &i in &targeted {
            let target = resolve(&insts, insts[i as usize].y);
            insts[i as usize].y = target;
        }
        Ok(Program {
            profile,
            blob,
            insts,
            origins,
            block_cost,
            block_starts,
            jump_targets,
            first_index_of_group,
            named_registers,
        })
    }

    /// Gas charged for entering at a pc that is not a valid entry (see
    /// [`gas::invalid_entry_cost`]).
    pub fn invalid_entry_cost(&self) -> u64 {
        gas::invalid_entry_cost(self.profile.gas, self.profile.isa)
    }

    /// The profile the program was decoded for.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The parsed blob.
    pub fn blob(&self) -> &CodeBlob {
        &self.blob
    }

    /// The instruction bytes.
    pub fn code(&self) -> &[u8] {
        &self.blob.code
    }

    /// The compact instruction array (implicit traps included), in pc order.
    pub fn insts(&self) -> &[Inst] {
        &self.insts
    }

    /// Gas of the block starting at instruction `index` (0 if no block starts there).
    #[inline(always)]
    pub fn block_cost_at(&self, index: u32) -> u64 {
        self.block_cost[index as usize]
    }

    /// The raw per-instruction block-cost array (0 where no block starts).
    pub fn block_costs_raw(&self) -> &[u64] {
        &self.block_cost
    }

    /// The jump table resolved to instruction indices (`INVALID_TARGET` where invalid).
    pub fn jump_targets(&self) -> &[u32] {
        &self.jump_targets
    }

    /// `(pc, cost)` of every basic block.
    pub fn block_costs(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.block_starts
            .iter()
            .map(|&i| (self.insts[i as usize].pc, self.block_cost[i as usize]))
    }

    /// The index of the instruction at `pc`, if an instruction (or implicit trap) stands there.
    pub fn index_of_pc(&self, pc: u32) -> Option<u32> {
        find_index(&self.insts, &self.first_index_of_group, pc)
    }

    /// Where a run entered at `pc` starts, and the cost of the block containing it; `None` when
    /// `pc` is not an instruction (executing it is a trap). Under an ISA variant with GP 0.8's
    /// strict code rule only real instructions are valid entries (not implicit traps).
    pub fn entry_point(&self, pc: u32) -> Option<EntryPoint> {
        let index = self.index_of_pc(pc)?;
        if self.profile.isa.requires_strict_code() && self.origins[index as usize] != Origin::Real {
            return None;
        }
        let block = match self.block_starts.binary_search(&index) {
            Ok(b) => b,
            Err(b) => b - 1,
        };
        Some(EntryPoint {
            index,
            block_cost: self.block_cost[self.block_starts[block] as usize],
        })
    }

    /// The fully decoded instruction at `index`.
    pub fn instruction(&self, index: u32) -> Instruction {
        let inst = &self.insts[index as usize];
        let origin = self.origins[index as usize];
        let pc = inst.pc as usize;
        let code = &self.blob.code;
        if origin != Origin::Real {
            return Instruction {
                pc: inst.pc,
                op: Opcode::Trap,
                args: Args::default(),
                next_pc: if origin == Origin::NotAnInstruction {
                    inst.pc + 1
                } else {
                    (pc + 1 + skip_len(&self.blob.mask, code.len(), pc)) as u32
                },
                origin,
            };
        }
        let skip = skip_len(&self.blob.mask, code.len(), pc);
        Instruction {
            pc: inst.pc,
            op: inst.op,
            args: decode_args(inst.op, code, pc, skip),
            next_pc: (pc + 1 + skip) as u32,
            origin,
        }
    }

    /// Every decoded instruction in pc order.
    pub fn instructions(&self) -> impl Iterator<Item = Instruction> + '_ {
        (0..self.insts.len() as u32).map(|i| self.instruction(i))
    }

    /// Whether some instruction names register `r` as an operand. (Unused operand fields
    /// decode as register 0, so register 0 may be reported named when it is not: callers use
    /// this only to skip work for registers no instruction can touch.)
    pub fn names_register(&self, r: usize) -> bool {
        r < 13 && self.named_registers & (1 << r) != 0
    }

    /// Instruction indices of every block start, in order.
    pub fn block_start_indices(&self) -> &[u32] {
        &self.block_starts
    }
}

/// Whether `op` carries a pc-relative target (resolved into `Inst::y`).
fn has_target(op: Opcode) -> bool {
    matches!(
        op.format(),
        Format::Offset | Format::RegImmOffset | Format::RegRegOffset
    )
}

/// The arrays of a program being decoded, filled one instruction at a time in pc order.
struct Builder<'a> {
    code: &'a [u8],
    pricer: gas::BlockPricer,
    insts: Vec<Inst>,
    origins: Vec<Origin>,
    first_index_of_group: Vec<u32>,
    /// Instructions carrying a target, resolved once every instruction is known.
    targeted: Vec<u32>,
    block_starts: Vec<u32>,
    block_cost: Vec<u64>,
    block_start: usize,
    /// The last complete block, priced when the instruction after it arrives.
    unpriced: Option<(usize, usize)>,
    named_registers: u16,
}

impl<'a> Builder<'a> {
    fn new(code: &'a [u8], profile: Profile) -> Self {
        let capacity = code.len() / 3 + 2;
        Self {
            code,
            pricer: gas::BlockPricer::new(profile.gas, profile.isa),
            insts: Vec::with_capacity(capacity),
            origins: Vec::with_capacity(capacity),
            first_index_of_group: Vec::with_capacity(code.len() / PC_GROUP + 1),
            targeted: Vec::new(),
            block_starts: Vec::new(),
            block_cost: Vec::with_capacity(capacity),
            block_start: 0,
            unpriced: None,
            named_registers: 0,
        }
    }

    /// Appends the next instruction. Gas blocks start at the first instruction and after every
    /// terminator (invalid opcodes and implicit traps included); each ends at its terminator. A
    /// block is priced once the instruction after it is known (the pipeline model looks at the
    /// terminator's successor); targets are still raw pcs then, as the pricer expects.
    #[inline(always)]
    fn push(&mut self, inst: Inst, origin: Origin) {
        while self.first_index_of_group.len() * PC_GROUP <= inst.pc as usize {
            self.first_index_of_group.push(self.insts.len() as u32);
        }
        let i = self.insts.len();
        // Operands are at most 12; trap's unused fields are 0.
        self.named_registers |= 1 << (inst.ra & 15) | 1 << (inst.rb & 15) | 1 << (inst.rd & 15);
        if has_target(inst.op) {
            self.targeted.push(i as u32);
        }
        self.insts.push(inst);
        self.origins.push(origin);
        self.block_cost.push(0);
        if let Some(block) = self.unpriced.take() {
            self.price(block);
        }
        if inst.op.is_terminator() {
            self.block_starts.push(self.block_start as u32);
            self.unpriced = Some((self.block_start, i));
            self.block_start = i + 1;
        }
    }

    fn price(&mut self, (start, end): (usize, usize)) {
        self.block_cost[start] =
            self.pricer
                .block_cost_of_insts(self.code, &self.insts, start, end);
    }

    /// Prices the last block and completes the group table.
    fn finish(mut self) -> Self {
        if let Some(block) = self.unpriced.take() {
            self.price(block);
        }
        debug_assert_eq!(self.block_start, self.insts.len());
        let groups = self.code.len() / PC_GROUP + 1;
        let count = self.insts.len() as u32;
        self.first_index_of_group.resize(groups, count);
        self
    }
}

/// The compact form of a decoded instruction; targets stay raw pcs (`u32::MAX` if out of range).
#[inline(always)]
fn compact(op: Opcode, a: CompactArgs, pc: usize) -> Inst {
    Inst {
        op,
        ra: a.ra,
        rb: a.rb,
        rd: a.rd,
        pc: pc as u32,
        x: a.x,
        y: a.y,
    }
}

fn trap_at(pc: usize) -> Inst {
    Inst {
        op: Opcode::Trap,
        ra: 0,
        rb: 0,
        rd: 0,
        pc: pc as u32,
        x: 0,
        y: 0,
    }
}

/// The index of the instruction at `pc`, found through the group table
/// ([`Program::first_index_of_group`]).
#[inline]
fn find_index(insts: &[Inst], groups: &[u32], pc: u32) -> Option<u32> {
    let mut i = *groups.get(pc as usize / PC_GROUP)? as usize;
    while let Some(inst) = insts.get(i) {
        if inst.pc >= pc {
            return (inst.pc == pc).then_some(i as u32);
        }
        i += 1;
    }
    None
}

/// The next set bit of `mask` at or after `from`, below `len`.
fn next_set_bit(mask: &[u8], len: usize, from: usize) -> Option<usize> {
    let mut n = from;
    while n < len {
        let byte = mask[n / 8] >> (n % 8);
        if byte != 0 {
            let at = n + byte.trailing_zeros() as usize;
            return (at < len).then_some(at);
        }
        n = (n / 8 + 1) * 8;
    }
    None
}

fn check_strict(
    insts: &[Inst],
    origins: &[Origin],
    code_len: usize,
    profile: Profile,
) -> Result<(), LoadError> {
    let fail = |pc: u32, reason| LoadError::StrictCode {
        pc,
        variant: profile.isa.name(),
        reason,
    };
    if code_len > 0 && insts.first().map(|i| i.pc) != Some(0) {
        return Err(fail(0, "the code does not start with an instruction"));
    }
    for (insn, origin) in insts.iter().zip(origins) {
        match *origin {
            Origin::Real => {}
            Origin::InvalidOpcode(_) => return Err(fail(insn.pc, "invalid opcode")),
            Origin::NotAnInstruction if insn.pc as usize == code_len => {}
            Origin::NotAnInstruction => {
                return Err(fail(
                    insn.pc,
                    "more than 24 bytes without an instruction start",
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    fn first_block_cost(source: &str) -> u64 {
        let blob = assemble(source, Profile::JAM_08.isa).expect("assembles");
        let program = Program::from_blob_bytes(&blob.to_bytes(), Profile::JAM_08).expect("decodes");
        let (_, cost) = program.block_costs().next().expect("a block");
        cost
    }

    #[test]
    fn a_block_is_priced_with_its_terminators_real_successor() {
        // The pipeline model charges a branch 1 cycle instead of 20 when either successor
        // begins with `unlikely` or `trap`: the fall-through successor is the next
        // instruction, whatever the branch's own length.
        let source = |successor: &str| {
            format!("l: add_64 r1, r2, r3\n branch_eq_imm r1, 1234567, l\n {successor}\n trap\n")
        };
        let hinted = first_block_cost(&source("unlikely"));
        let plain = first_block_cost(&source("add_64 r4, r4, r4"));
        assert!(hinted < plain, "hinted {hinted}, plain {plain}");
    }
}
