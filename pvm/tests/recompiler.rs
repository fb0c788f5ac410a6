//! The recompiler against the interpreter on random programs built from the instructions the
//! recompiler supports so far: exit, pc, registers and gas must agree at every exit, across
//! host-call resumes, out-of-gas resumes (with more gas given), loops and dynamic jumps.
#![cfg(target_arch = "x86_64")]

use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::{ExitReason, Instance, IsaVariant, Profile, Program};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Destinations avoid r0 (halt address) and r12 (loop counter).
    fn dest(&mut self) -> u64 {
        1 + self.below(11)
    }
    fn reg(&mut self) -> u64 {
        self.below(13)
    }
    fn imm(&mut self) -> i64 {
        match self.below(3) {
            0 => self.below(70) as i64 - 35,
            1 => self.next() as i32 as i64,
            _ => [0, 1, -1, i32::MIN as i64, i32::MAX as i64, 31, 32, 63][self.below(8) as usize],
        }
    }
}

const REG3: &[&str] = &[
    "add_64",
    "sub_64",
    "and",
    "xor",
    "or",
    "mul_64",
    "add_32",
    "sub_32",
    "mul_32",
    "and_inv",
    "or_inv",
    "xnor",
    "set_lt_u",
    "set_lt_s",
    "cmov_iz",
    "cmov_nz",
    "max",
    "max_u",
    "min",
    "min_u",
    "div_u_64",
    "rem_u_64",
    "div_s_64",
    "rem_s_64",
    "div_u_32",
    "rem_u_32",
    "div_s_32",
    "rem_s_32",
    "shlo_l_64",
    "shlo_r_64",
    "shar_r_64",
    "rot_l_64",
    "rot_r_64",
    "shlo_l_32",
    "shlo_r_32",
    "shar_r_32",
    "rot_l_32",
    "rot_r_32",
    "mul_upper_u_u",
    "mul_upper_s_s",
    "mul_upper_s_u",
];
const REG2_IMM: &[&str] = &[
    "add_imm_64",
    "and_imm",
    "xor_imm",
    "or_imm",
    "mul_imm_64",
    "add_imm_32",
    "mul_imm_32",
    "neg_add_imm_64",
    "neg_add_imm_32",
    "set_lt_u_imm",
    "set_lt_s_imm",
    "set_gt_u_imm",
    "set_gt_s_imm",
    "shlo_l_imm_64",
    "shlo_r_imm_64",
    "shar_r_imm_64",
    "rot_r_64_imm",
    "shlo_l_imm_32",
    "shlo_r_imm_32",
    "shar_r_imm_32",
    "rot_r_32_imm",
    "cmov_iz_imm",
    "cmov_nz_imm",
    "shlo_l_imm_alt_64",
    "shlo_r_imm_alt_64",
    "shar_r_imm_alt_64",
    "rot_r_64_imm_alt",
    "shlo_l_imm_alt_32",
    "shlo_r_imm_alt_32",
    "shar_r_imm_alt_32",
    "rot_r_32_imm_alt",
];
const REG2: &[&str] = &[
    "move_reg",
    "sign_extend_8",
    "sign_extend_16",
    "zero_extend_16",
    "reverse_bytes",
];
const BRANCH_IMM: &[&str] = &[
    "branch_eq_imm",
    "branch_ne_imm",
    "branch_lt_u_imm",
    "branch_le_u_imm",
    "branch_ge_u_imm",
    "branch_gt_u_imm",
    "branch_lt_s_imm",
    "branch_le_s_imm",
    "branch_ge_s_imm",
    "branch_gt_s_imm",
];
const BRANCH_REG: &[&str] = &[
    "branch_eq",
    "branch_ne",
    "branch_lt_u",
    "branch_lt_s",
    "branch_ge_u",
    "branch_ge_s",
];

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.below(list.len() as u64) as usize]
}

fn program(rng: &mut Rng) -> String {
    let mut text = String::new();
    let blocks = 1 + rng.below(6);
    for b in 0..blocks {
        let looped = rng.below(3) == 0;
        if looped {
            text.push_str(&format!(
                "load_imm r12, {}\nfallthrough\nl{b}:\n",
                1 + rng.below(4)
            ));
        }
        for _ in 0..1 + rng.below(10) {
            let line = match rng.below(20) {
                0..=7 => format!(
                    "{} r{}, r{}, r{}",
                    pick(rng, REG3),
                    rng.dest(),
                    rng.reg(),
                    rng.reg()
                ),
                8..=14 => format!(
                    "{} r{}, r{}, {}",
                    pick(rng, REG2_IMM),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
                15 | 16 => format!("{} r{}, r{}", pick(rng, REG2), rng.dest(), rng.reg()),
                17 => format!("load_imm r{}, {}", rng.dest(), rng.imm()),
                18 => format!("load_imm_64 r{}, {}", rng.dest(), rng.next()),
                _ => format!("ecalli {}", rng.below(50)),
            };
            text.push_str(&line);
            text.push('\n');
        }
        if looped {
            text.push_str(&format!(
                "add_imm_64 r12, r12, -1\nbranch_ne_imm r12, 0, l{b}\n"
            ));
        }
        let next = format!("b{}", b + 1);
        let end = match rng.below(8) {
            0 => format!(
                "{} r{}, {}, {next}",
                pick(rng, BRANCH_IMM),
                rng.reg(),
                rng.imm()
            ),
            1 => format!(
                "{} r{}, r{}, {next}",
                pick(rng, BRANCH_REG),
                rng.reg(),
                rng.reg()
            ),
            2 => format!("jump {next}"),
            3 => format!("load_imm_jump r{}, {}, {next}", rng.dest(), rng.imm()),
            4 => format!("load_imm r11, &{next}\njump_ind r11, 0"),
            5 => format!(
                "load_imm r10, &{next}\nload_imm_jump_ind r11, r10, {}, 0",
                rng.imm()
            ),
            6 => format!("jump_ind r{}, {}", rng.reg(), rng.imm()),
            _ => "fallthrough".to_string(),
        };
        text.push_str(&end);
        text.push_str(&format!("\nb{}:\n", b + 1));
    }
    text.push_str("jump_ind r0, 0\n");
    let labels: Vec<String> = (1..=blocks).map(|b| format!("b{b}")).collect();
    text.push_str(&format!(".jump_table {}\n", labels.join(", ")));
    text
}

fn differential(profile: Profile, seed: u64, default_cases: u64) {
    // Longer runs: KILN_JIT_CASES=100000 KILN_JIT_SEED=5 cargo test -p kiln-pvm --release --test recompiler
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("KILN_JIT_CASES").unwrap_or(default_cases);
    let mut rng = Rng(env("KILN_JIT_SEED").map_or(seed, |s| s ^ seed) | 1);
    let (mut host_calls, mut out_of_gas, mut halts) = (0, 0, 0);
    for case in 0..cases {
        let text = program(&mut rng);
        let isa = profile.isa;
        let blob = kiln_pvm::asm::assemble(&text, isa)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_bytes();
        let program = Arc::new(Program::from_blob_bytes(&blob, profile).unwrap());
        let compiled =
            CompiledProgram::compile(program.clone()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut regs = [0u64; 13];
        const EDGES: [u64; 8] = [
            0,
            1,
            u64::MAX,
            1 << 63,
            0x8000_0000,
            0xFFFF_FFFF,
            0xFFFF_FFFF_8000_0000,
            63,
        ];
        for r in regs.iter_mut() {
            *r = if rng.below(3) == 0 {
                EDGES[rng.below(EDGES.len() as u64) as usize]
            } else {
                rng.next() >> (rng.below(4) * 16)
            };
        }
        regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
        let mut interp = Instance::new(program).unwrap();
        let mut jit = RecompiledInstance::new(compiled);
        interp.set_regs(regs);
        jit.set_regs(regs);
        // Small gas budgets make out-of-gas exits (and their resumes) common.
        let gas = rng.below(300) as i64;
        interp.set_gas(gas);
        jit.set_gas(gas);
        let context =
            |step: usize| format!("case {case} step {step}\n{text}\nregs {regs:x?} gas {gas}");
        for step in 0..200 {
            let (a, b) = (interp.run(), jit.run());
            assert_eq!(a, b, "exit: {}", context(step));
            assert_eq!(interp.pc(), jit.pc(), "pc: {}", context(step));
            assert_eq!(interp.regs(), jit.regs(), "regs: {}", context(step));
            assert_eq!(interp.gas(), jit.gas(), "gas: {}", context(step));
            match a {
                ExitReason::HostCall(id) => {
                    host_calls += 1;
                    interp.set_reg(7, u64::from(id) * 3);
                    jit.set_reg(7, u64::from(id) * 3);
                }
                ExitReason::OutOfGas => {
                    out_of_gas += 1;
                    interp.set_gas(interp.gas() + 100);
                    jit.set_gas(jit.gas() + 100);
                }
                ExitReason::Halt => {
                    halts += 1;
                    break;
                }
                _ => break,
            }
        }
    }
    assert!(
        host_calls > cases as usize
            && out_of_gas > cases as usize / 4
            && halts > cases as usize / 4,
        "host calls {host_calls}, out of gas {out_of_gas}, halts {halts}"
    );
}

#[test]
fn recompiler_matches_the_interpreter_with_per_instruction_gas() {
    differential(Profile::JAM_07, 0x5151_5151_5151_5151, 3000);
}

#[test]
fn recompiler_matches_the_interpreter_with_pipeline_gas() {
    differential(Profile::JAM_08, 0x2468_ace0_1357_9bdf, 3000);
}

#[test]
fn unsupported_instructions_are_reported_not_guessed() {
    let blob = kiln_pvm::asm::assemble("load_u8 r1, 0x20000\ntrap\n", IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let err = CompiledProgram::compile(program).unwrap_err();
    assert!(err.to_string().contains("load_u8"), "{err}");
}

/// Runs `text` on both backends with `regs` and returns the recompiler's registers after
/// checking that both agree.
fn both(text: &str, regs: [u64; 13]) -> (ExitReason, [u64; 13]) {
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let mut interp = Instance::new(program.clone()).unwrap();
    let mut jit = RecompiledInstance::new(CompiledProgram::compile(program).unwrap());
    interp.set_regs(regs);
    jit.set_regs(regs);
    interp.set_gas(1000);
    jit.set_gas(1000);
    let (a, b) = (interp.run(), jit.run());
    assert_eq!(a, b);
    assert_eq!(interp.regs(), jit.regs());
    assert_eq!(interp.gas(), jit.gas());
    (b, jit.regs())
}

/// The peer's bug classes (jar-javm §8) on the recompiler: MIN / −1 and division by zero never
/// raise SIGFPE and give the spec's answers; an `ecalli` with a huge immediate is just a host
/// call with that id.
#[test]
fn division_edge_cases_do_not_trap_the_host() {
    let mut regs = [0u64; 13];
    regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
    regs[1] = 1 << 63;
    regs[2] = u64::MAX;
    let text =
        "div_s_64 r3, r1, r2\nrem_s_64 r4, r1, r2\ndiv_u_64 r5, r1, r6\nrem_u_64 r6, r1, r6\n\
                div_s_32 r7, r8, r2\nrem_s_32 r9, r8, r2\njump_ind r0, 0\n";
    regs[8] = 0x8000_0000;
    let (exit, out) = both(text, regs);
    assert_eq!(exit, ExitReason::Halt);
    assert_eq!(out[3], 1 << 63);
    assert_eq!(out[4], 0);
    assert_eq!(out[5], u64::MAX);
    assert_eq!(out[6], 1 << 63);
    assert_eq!(out[7], 0xFFFF_FFFF_8000_0000);
    assert_eq!(out[9], 0);
}

#[test]
fn ecalli_with_a_huge_immediate_is_a_host_call() {
    let (exit, _) = both("ecalli 4294967295\ntrap\n", [0; 13]);
    assert_eq!(exit, ExitReason::HostCall(u32::MAX));
}
