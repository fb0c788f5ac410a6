//! Workloads shared by Kiln's benchmarks, as GP code blobs (GP 0.7 numbering), with the
//! instruction counts needed to report guest instructions per second.

#![warn(missing_docs)]

pub mod suite;

/// A benchmark program.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name.
    pub name: &'static str,
    /// GP code blob (no jump table).
    pub blob: Vec<u8>,
    /// Read-write pages the program needs at 0x20000.
    pub rw_pages: u32,
    /// Guest instructions executed per run.
    pub instructions: u64,
    /// Expected `r7` at halt.
    pub expected_a0: u64,
}

/// Minimal little-endian immediate bytes that sign-extend back to `value`.
fn imm(value: i64) -> Vec<u8> {
    let bytes = value.to_le_bytes();
    for len in 0..=4usize {
        let shift = 64 - 8 * len as u32;
        let back = if len == 0 {
            0
        } else {
            (value << shift) >> shift
        };
        if back == value {
            return bytes[..len].to_vec();
        }
    }
    panic!("immediate {value} does not fit in 4 bytes");
}

/// Builds a blob from `(instruction bytes)` items; every item starts an instruction.
fn blob(instructions: &[Vec<u8>]) -> Vec<u8> {
    let code: Vec<u8> = instructions.concat();
    let mut mask = vec![0u8; code.len().div_ceil(8)];
    let mut pc = 0;
    for insn in instructions {
        mask[pc / 8] |= 1 << (pc % 8);
        pc += insn.len();
    }
    let mut out = vec![0u8, 0u8];
    assert!(code.len() < 128, "benchmark code must be tiny");
    out.push(code.len() as u8);
    out.extend_from_slice(&code);
    out.extend_from_slice(&mask);
    out
}

/// The blob of `head`, then `body` repeated while r9 (counted down by the body) is non-zero
/// (`branch_ne_imm r9, 0, loop`), then a halt (`jump_ind r0, 0`). `head` ends with a block end so
/// the loop starts a basic block.
fn counted_loop(head: &[Vec<u8>], body: &[Vec<u8>]) -> Vec<u8> {
    let body_len: usize = body.iter().map(Vec::len).sum();
    let mut insns: Vec<Vec<u8>> = head.to_vec();
    insns.extend(body.iter().cloned());
    insns.push(cat(&[&[82, 0x09], &imm(-(body_len as i64))]));
    insns.push(vec![50, 0x00]);
    blob(&insns)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Fibonacci: a 5-instruction loop run `iterations` times
/// (`add_64; move_reg; move_reg; add_imm_64; branch_ne_imm`).
pub fn fib(iterations: u32) -> Workload {
    let head = [
        vec![51, 0x07],                                   // load_imm r7, 0
        vec![51, 0x08, 0x01],                             // load_imm r8, 1
        cat(&[&[51, 0x09], &imm(i64::from(iterations))]), // load_imm r9, N
        vec![1],                                          // fallthrough
    ];
    let body = [
        vec![200, 0x87, 0x0A], // add_64 r10 = r7 + r8
        vec![100, 0x87],       // move_reg r7 = r8
        vec![100, 0xA8],       // move_reg r8 = r10
        vec![149, 0x99, 0xFF], // add_imm_64 r9 = r9 + -1
    ];
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..iterations {
        let t = a.wrapping_add(b);
        a = b;
        b = t;
    }
    Workload {
        name: "fib",
        blob: counted_loop(&head, &body),
        rw_pages: 0,
        instructions: 4 + 5 * u64::from(iterations) + 1,
        expected_a0: a,
    }
}

/// A memory loop: store, load back and accumulate over a 4 KiB ring, 8 instructions per iteration.
pub fn memory(iterations: u32) -> Workload {
    let head = [
        cat(&[&[51, 0x09], &imm(i64::from(iterations))]), // load_imm r9, N
        cat(&[&[51, 0x0C], &imm(0x20000)]),               // load_imm r12, 0x20000
        vec![51, 0x0B],                                   // load_imm r11, 0
        vec![51, 0x07],                                   // load_imm r7, 0
        vec![1],                                          // fallthrough
    ];
    let body = [
        vec![200, 0xCB, 0x0A],       // add_64 r10 = r11 + r12
        vec![123, 0xA9],             // store_ind_u64 [r10 + 0] = r9
        vec![130, 0xA8],             // load_ind_u64 r8 = [r10 + 0]
        vec![200, 0x87, 0x07],       // add_64 r7 = r7 + r8
        vec![149, 0xBB, 0x08],       // add_imm_64 r11 = r11 + 8
        vec![132, 0xBB, 0xF8, 0x0F], // and_imm r11 = r11 & 0xFF8
        vec![149, 0x99, 0xFF],       // add_imm_64 r9 = r9 + -1
    ];
    let expected: u64 = (1..=u64::from(iterations)).sum();
    Workload {
        name: "memory",
        blob: counted_loop(&head, &body),
        rw_pages: 1,
        instructions: 5 + 8 * u64::from(iterations) + 1,
        expected_a0: expected,
    }
}

/// Host calls: a loop of `ecalli 0; add_imm_64; branch_ne_imm` run `iterations` times, each
/// `ecalli` a real exit to the host and back (the host answers nothing; r7 is left as is).
pub fn hostcall(iterations: u32) -> Workload {
    let head = [
        cat(&[&[51, 0x09], &imm(i64::from(iterations))]), // load_imm r9, N
        vec![51, 0x07],                                   // load_imm r7, 0
        vec![1],                                          // fallthrough
    ];
    let body = [
        vec![10],              // ecalli 0
        vec![149, 0x99, 0xFF], // add_imm_64 r9 = r9 + -1
    ];
    Workload {
        name: "hostcall",
        blob: counted_loop(&head, &body),
        rw_pages: 0,
        instructions: u64::from(iterations),
        expected_a0: 0,
    }
}

/// The workload called `name` (`memory`, `hostcall`, anything else `fib`), for the examples'
/// command lines.
pub fn workload_named(name: &str, iterations: u32) -> Workload {
    match name {
        "memory" => memory(iterations),
        "hostcall" => hostcall(iterations),
        _ => fib(iterations),
    }
}

/// Prepares a workload's program for `backend` (the GP 0.7 profile, one gas per instruction).
pub fn kiln_code(workload: &Workload, backend: kiln_pvm::Backend) -> kiln_pvm::Code {
    let program = kiln_pvm::Program::from_blob_bytes(&workload.blob, kiln_pvm::Profile::JAM_07)
        .expect("Kiln decodes the workload");
    kiln_pvm::Code::prepare(std::sync::Arc::new(program), backend).expect("Kiln compiles it")
}

/// Runs a workload on Kiln (a fresh instance of `code`) and returns `(r7, gas used)`.
pub fn run_kiln(workload: &Workload, code: &kiln_pvm::Code) -> (u64, i64) {
    use kiln_pvm::{Access, ExitReason};
    let mut vm = code.instantiate().expect("guest memory");
    if workload.rw_pages > 0 {
        vm.memory_mut()
            .set_access(0x20000, u64::from(workload.rw_pages) * 4096, Access::Write)
            .expect("map");
    }
    vm.set_reg(0, u64::from(kiln_pvm::HALT_ADDRESS));
    let gas = i64::MAX / 2;
    vm.set_gas(gas);
    vm.set_pc(0);
    let exit = loop {
        match vm.run() {
            ExitReason::HostCall(_) => continue,
            other => break other,
        }
    };
    assert_eq!(exit, ExitReason::Halt, "{} did not halt", workload.name);
    (vm.reg(7), gas - vm.gas())
}

/// The opcode mix of a synthetic program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Every opcode equally likely: many loads, stores, divisions and host calls (the most
    /// expensive blocks for the pipeline gas model).
    Uniform,
    /// Roughly like compiled code: ~70 % ALU and moves, ~25 % loads and stores, ~5 % multiply,
    /// divide and others.
    CompiledLike,
}

/// A deterministic pseudo-random GP code blob of about `size` bytes for `isa` with the uniform
/// opcode mix (see [`synthetic_blob_with`]).
pub fn synthetic_blob(size: usize, isa: kiln_pvm::IsaVariant, seed: u64) -> Vec<u8> {
    synthetic_blob_with(size, isa, seed, Mix::Uniform)
}

/// A deterministic pseudo-random GP code blob of about `size` bytes for `isa`: valid opcodes drawn
/// from `mix` with plausible operand lengths and a branch every 12–19 instructions (targets are
/// arbitrary, so the program is for decoding, not for running).
pub fn synthetic_blob_with(size: usize, isa: kiln_pvm::IsaVariant, seed: u64, mix: Mix) -> Vec<u8> {
    use kiln_pvm::isa::Format;
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ops: Vec<(kiln_pvm::Opcode, u8)> = kiln_pvm::Opcode::ALL
        .iter()
        .filter_map(|&op| isa.table().encode(op).map(|b| (op, b)))
        .filter(|(op, _)| !matches!(op, kiln_pvm::Opcode::Trap))
        .collect();
    let class = |op: kiln_pvm::Opcode| -> usize {
        use kiln_pvm::Opcode::*;
        if kiln_pvm::semantics::load_kind(op).is_some()
            || kiln_pvm::semantics::store_width(op).is_some()
        {
            1
        } else if matches!(
            op,
            Mul32
                | Mul64
                | MulImm32
                | MulImm64
                | MulUpperSS
                | MulUpperUU
                | MulUpperSU
                | DivU32
                | DivS32
                | RemU32
                | RemS32
                | DivU64
                | DivS64
                | RemU64
                | RemS64
                | Ecalli
                | Sbrk
                | Unlikely
        ) || op.is_terminator()
        {
            2
        } else {
            0
        }
    };
    let pools: Vec<Vec<(kiln_pvm::Opcode, u8)>> = (0..3)
        .map(|c| {
            ops.iter()
                .copied()
                .filter(|&(op, _)| class(op) == c)
                .collect()
        })
        .collect();
    let mut code = Vec::with_capacity(size + 16);
    let mut starts = Vec::new();
    let mut since_terminator = 0;
    while code.len() < size {
        let r = next();
        let (op, byte) = if since_terminator >= 12 + (r % 8) as usize {
            since_terminator = 0;
            let op = kiln_pvm::Opcode::BranchNe;
            (op, isa.table().encode(op).unwrap())
        } else {
            since_terminator += 1;
            match mix {
                Mix::Uniform => ops[(r >> 8) as usize % ops.len()],
                Mix::CompiledLike => {
                    let pool = match (r >> 40) % 100 {
                        0..=69 => &pools[0],
                        70..=94 => &pools[1],
                        _ => &pools[2],
                    };
                    pool[(r >> 8) as usize % pool.len()]
                }
            }
        };
        let operand_len = match op.format() {
            Format::NoArgs => 0,
            Format::Imm | Format::Offset => (r >> 20) as usize % 5,
            Format::RegImm64 => 9,
            Format::RegReg => 1,
            Format::RegRegReg => 2,
            _ => 1 + (r >> 20) as usize % 5,
        };
        starts.push(code.len());
        code.push(byte);
        for _ in 0..operand_len {
            code.push((next() & 0xFF) as u8);
        }
    }
    // End with a terminator, as JAM 0.8 code must.
    starts.push(code.len());
    code.push(
        isa.table()
            .encode(kiln_pvm::Opcode::Trap)
            .expect("every ISA has trap"),
    );
    let mut mask = vec![0u8; code.len().div_ceil(8)];
    for s in starts {
        mask[s / 8] |= 1 << (s % 8);
    }
    kiln_pvm::CodeBlob {
        jump_table: Vec::new(),
        code,
        mask,
    }
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_compute_the_expected_result_with_one_gas_per_instruction() {
        for w in [fib(1000), memory(1000)] {
            for backend in [
                kiln_pvm::Backend::Interpreter,
                kiln_pvm::Backend::Recompiler,
            ] {
                let (a0, gas) = run_kiln(&w, &kiln_code(&w, backend));
                assert_eq!(a0, w.expected_a0, "{} on {backend:?}", w.name);
                assert_eq!(gas as u64, w.instructions, "{} on {backend:?}", w.name);
            }
        }
    }
}
