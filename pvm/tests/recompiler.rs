//! The recompiler against the interpreter on random programs built from the instructions the
//! recompiler supports so far: exit, pc, registers and gas must agree at every exit, across
//! host-call resumes, out-of-gas resumes (with more gas given), loops and dynamic jumps.
#![cfg(target_arch = "x86_64")]

use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::testing::{random_program, random_regs, ProgramOptions, Rng};
use kiln_pvm::{ExitReason, Instance, IsaVariant, Profile, Program};

fn differential(profile: Profile, seed: u64, default_cases: u64) {
    // Longer runs: KILN_JIT_CASES=100000 KILN_JIT_SEED=5 cargo test -p kiln-pvm --release --test recompiler
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("KILN_JIT_CASES").unwrap_or(default_cases);
    let mut rng = Rng::new(env("KILN_JIT_SEED").map_or(seed, |s| s ^ seed));
    // Memory access is not compiled yet; everything else is.
    let options = ProgramOptions {
        memory: false,
        unlikely: profile.isa != IsaVariant::Jam07,
        host_calls: true,
        rw_base: 0x20000,
    };
    let (mut host_calls, mut out_of_gas, mut halts) = (0, 0, 0);
    for case in 0..cases {
        let text = random_program(&mut rng, &options);
        let isa = profile.isa;
        let blob = kiln_pvm::asm::assemble(&text, isa)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_bytes();
        let program = Arc::new(Program::from_blob_bytes(&blob, profile).unwrap());
        let compiled =
            CompiledProgram::compile(program.clone()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let regs = random_regs(&mut rng, options.rw_base);
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
            && out_of_gas > cases as usize / 10
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
