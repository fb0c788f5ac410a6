//! One case run on the interpreter and the recompiler, compared exactly: exit, pc, registers,
//! gas and memory at every exit, resuming after host calls, out-of-gas and page faults. Shared
//! by the differential proptest and the `differential` fuzz target.

use std::sync::Arc;

use super::{random_program, random_regs, ProgramOptions, Rng};
use crate::blob::CodeBlob;
use crate::interpreter::{ExitReason, Instance};
use crate::isa::IsaVariant;
use crate::memory::{Access, Memory};
use crate::profile::Profile;
use crate::program::Program;
use crate::recompiler::{CompiledProgram, CpuFeatures, RecompiledInstance};

/// The read-write page `r1` points at in generated programs.
pub const RW_BASE: u32 = 0x20000;
/// Pages whose rights a case chooses: below, at and above [`RW_BASE`], and the top page (for
/// accesses that wrap around the address space).
pub const CANDIDATE_PAGES: [u32; 4] = [RW_BASE - 4096, RW_BASE, RW_BASE + 4096, 0xFFFF_F000];

/// One differential case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Code blob bytes (possibly malformed).
    pub blob: Vec<u8>,
    /// Profile to decode and run with.
    pub profile: Profile,
    /// Entry pc.
    pub pc: u32,
    /// Initial registers.
    pub regs: [u64; 13],
    /// Rights of some pages before the run.
    pub pages: Vec<(u32, Access)>,
    /// Initial gas.
    pub gas: i64,
    /// The x86 extensions the recompiler may use: this CPU's, or none (so that both code paths
    /// of instructions with an extension-based form are compared with the interpreter).
    pub features: CpuFeatures,
}

/// This CPU's extensions, or none when `baseline`.
fn features(baseline: bool) -> CpuFeatures {
    if baseline {
        CpuFeatures::BASELINE
    } else {
        CpuFeatures::host()
    }
}

const PROFILES: [Profile; 3] = [Profile::JAM_07, Profile::GAS_DRAFT, Profile::JAM_08];
const RIGHTS: [Access; 4] = [Access::None, Access::Read, Access::Write, Access::Write];

fn options(profile: Profile) -> ProgramOptions {
    ProgramOptions {
        memory: true,
        unlikely: profile.isa != IsaVariant::Jam07,
        host_calls: true,
        sbrk: profile.isa == IsaVariant::Jam07,
        rw_base: u64::from(RW_BASE),
    }
}

impl Case {
    /// A generated program for `profile` from `seed` (see [`random_program`]) with `mutations`
    /// applied to its blob bytes as `(position, xor)` (which may make it invalid), random
    /// registers from the same seed, `page_rights` (2 bits per [`CANDIDATE_PAGES`] entry) and
    /// `gas`. The seed's top bit compiles for the baseline x86-64 instead of this CPU.
    pub fn generated(
        profile: Profile,
        seed: u64,
        mutations: &[(usize, u8)],
        page_rights: u8,
        gas: i64,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let text = random_program(&mut rng, &options(profile));
        let mut blob = crate::asm::assemble(&text, profile.isa)
            .map(|a| a.to_bytes())
            .unwrap_or_default();
        for &(at, xor) in mutations {
            if !blob.is_empty() {
                let at = at % blob.len();
                blob[at] ^= xor;
            }
        }
        let regs = random_regs(&mut rng, u64::from(RW_BASE));
        Self {
            blob,
            profile,
            pc: 0,
            regs,
            pages: pages_from_bits(page_rights),
            gas,
            features: features(seed >> 63 != 0),
        }
    }

    /// A case read from fuzzer bytes: byte 0 the profile, 1–2 the gas, 3 the page rights,
    /// 4–11 a seed, 12 a mode bit (bit 0) and a baseline-x86 bit (bit 1). Mode 0 generates a program from the seed and applies the rest
    /// as `(position, xor)` pairs; mode 1 takes the rest as a raw blob's jump table, code and
    /// opcode mask (split by the next bytes), with registers from the seed and an entry pc.
    pub fn from_fuzz_bytes(data: &[u8]) -> Option<Self> {
        if data.len() < 13 {
            return None;
        }
        let profile = PROFILES[usize::from(data[0]) % PROFILES.len()];
        let gas = i64::from(u16::from_le_bytes([data[1], data[2]]));
        let seed = u64::from_le_bytes(data[4..12].try_into().ok()?);
        let rest = &data[13..];
        if data[12] & 1 == 0 {
            let mutations: Vec<(usize, u8)> = rest
                .chunks_exact(2)
                .map(|p| (usize::from(p[0]), p[1]))
                .collect();
            let mut case = Self::generated(profile, seed, &mutations, data[3], gas);
            case.features = features(data[12] & 2 != 0);
            return Some(case);
        }
        let (&entries, rest) = rest.split_first()?;
        let entries = usize::from(entries % 16);
        let table_bytes = (entries * 2).min(rest.len());
        let (table, rest) = rest.split_at(table_bytes);
        let jump_table = table
            .chunks_exact(2)
            .map(|p| u32::from(u16::from_le_bytes([p[0], p[1]])))
            .collect();
        let code_len = rest.len() * 8 / 9;
        let (code, mask) = rest.split_at(code_len);
        let mut mask = mask.to_vec();
        mask.resize(code_len.div_ceil(8), 0);
        let blob = CodeBlob {
            jump_table,
            code: code.to_vec(),
            mask,
        }
        .to_bytes();
        let mut rng = Rng::new(seed);
        let regs = random_regs(&mut rng, u64::from(RW_BASE));
        let pc = if seed & 3 == 0 {
            (seed >> 8) as u32 % (code_len as u32 + 2)
        } else {
            0
        };
        Some(Self {
            blob,
            profile,
            pc,
            regs,
            pages: pages_from_bits(data[3]),
            gas,
            features: features(data[12] & 2 != 0),
        })
    }
}

fn pages_from_bits(bits: u8) -> Vec<(u32, Access)> {
    CANDIDATE_PAGES
        .iter()
        .enumerate()
        .map(|(i, &page)| (page, RIGHTS[usize::from(bits >> (2 * i)) & 3]))
        .collect()
}

/// How a case ran: its exits in order (empty when the loader rejected the program).
pub type Exits = Vec<ExitReason>;

/// Runs `case` on both backends for at most `max_exits` exits and returns the exits, or the
/// first difference. Host calls resume with `r7 = 3 · id`, out of gas with 100 more gas, page
/// faults after the page is made writable.
pub fn run_on_both(case: &Case, max_exits: usize) -> Result<Exits, String> {
    let Ok(program) = Program::from_blob_bytes(&case.blob, case.profile) else {
        // One loader for both backends: a rejected program is rejected for both.
        return Ok(Vec::new());
    };
    let program = Arc::new(program);
    let compiled = CompiledProgram::compile_for(program.clone(), case.features)
        .map_err(|e| format!("the recompiler rejected a loadable program: {e}"))?;
    let mut interp = Instance::new(program).map_err(|e| e.to_string())?;
    let mut jit = RecompiledInstance::new(compiled).map_err(|e| e.to_string())?;
    for &(page, access) in &case.pages {
        for memory in [interp.memory_mut(), jit.memory_mut()] {
            memory
                .set_access(page, 4096, access)
                .map_err(|e| e.to_string())?;
        }
    }
    let heap = RW_BASE + 3 * 4096;
    interp.set_heap_start(heap);
    jit.set_heap_start(heap);
    interp.set_regs(case.regs);
    jit.set_regs(case.regs);
    interp.set_gas(case.gas);
    jit.set_gas(case.gas);
    interp.set_pc(case.pc);
    jit.set_pc(case.pc);
    let mut exits = Vec::new();
    for step in 0..max_exits {
        let (a, b) = (interp.run(), jit.run());
        let differs = |what: &str, x: &dyn std::fmt::Debug, y: &dyn std::fmt::Debug| {
            format!("exit {step}: {what} differs: interpreter {x:x?}, recompiler {y:x?}")
        };
        if a != b {
            return Err(differs("exit", &a, &b));
        }
        if interp.pc() != jit.pc() {
            return Err(differs("pc", &interp.pc(), &jit.pc()));
        }
        if interp.regs() != jit.regs() {
            return Err(differs("registers", &interp.regs(), &jit.regs()));
        }
        if interp.gas() != jit.gas() {
            return Err(differs("gas", &interp.gas(), &jit.gas()));
        }
        compare_memory(interp.memory(), jit.memory()).map_err(|e| format!("exit {step}: {e}"))?;
        exits.push(a);
        match a {
            ExitReason::HostCall(id) => {
                interp.set_reg(7, u64::from(id) * 3);
                jit.set_reg(7, u64::from(id) * 3);
            }
            ExitReason::OutOfGas => {
                interp.set_gas(interp.gas() + 100);
                jit.set_gas(jit.gas() + 100);
            }
            ExitReason::PageFault(page) => {
                for memory in [interp.memory_mut(), jit.memory_mut()] {
                    memory
                        .set_access(page, 4096, Access::Write)
                        .map_err(|e| e.to_string())?;
                }
            }
            ExitReason::Halt | ExitReason::Panic => break,
        }
    }
    Ok(exits)
}

/// The same accessible pages with the same rights and bytes. Bytes are compared where either
/// side may hold data, so huge mappings (`sbrk`) cost little.
fn compare_memory(a: &Memory, b: &Memory) -> Result<(), String> {
    let (runs_a, runs_b) = (a.access_runs(), b.access_runs());
    if runs_a != runs_b {
        return Err(format!(
            "accessible pages differ: interpreter {runs_a:x?}, recompiler {runs_b:x?}"
        ));
    }
    let mut pages: Vec<u32> = a
        .pages_holding_data()
        .into_iter()
        .chain(b.pages_holding_data())
        .flat_map(|(first, last)| first..=last)
        .filter(|&page| a.page_access(page << 12) != Access::None)
        .collect();
    pages.sort_unstable();
    pages.dedup();
    let (mut x, mut y) = (vec![0u8; 4096], vec![0u8; 4096]);
    for page in pages {
        let addr = page << 12;
        a.host_read(addr, &mut x);
        b.host_read(addr, &mut y);
        if x == y {
            continue;
        }
        if let Some(i) = x.iter().zip(&y).position(|(p, q)| p != q) {
            return Err(format!(
                "memory at {:#x} differs: interpreter {:#04x}, recompiler {:#04x}",
                addr + i as u32,
                x[i],
                y[i]
            ));
        }
    }
    Ok(())
}
