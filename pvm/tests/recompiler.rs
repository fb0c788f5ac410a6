//! The recompiler against the interpreter on random programs: exit, pc, registers, gas and
//! memory must agree at every exit, across host-call resumes, out-of-gas resumes (with more gas
//! given), page-fault resumes (after mapping the page), loops, dynamic jumps, `sbrk`, accesses
//! that straddle pages or wrap around the address space, and writes to read-only pages.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::testing::{random_program, random_regs, ProgramOptions, Rng};
use kiln_pvm::{Access, ExitReason, Instance, IsaVariant, Memory, Profile, Program};

const RW_BASE: u32 = 0x20000;

/// Random page rights around the read-write page `r1` points at: the page after it read-only
/// or writable or absent, the page before it read-only or absent, sometimes the top page and
/// page 0 (for wrapping accesses).
fn random_pages(rng: &mut Rng) -> Vec<(u32, Access)> {
    let mut pages = vec![(RW_BASE, Access::Write)];
    let rights = [Access::None, Access::Read, Access::Write];
    pages.push((RW_BASE + 4096, rights[rng.below(3) as usize]));
    pages.push((RW_BASE - 4096, rights[rng.below(2) as usize]));
    if rng.below(4) == 0 {
        pages.push((0xFFFF_F000, rights[rng.below(3) as usize]));
    }
    pages
}

fn apply(memory: &mut Memory, pages: &[(u32, Access)]) {
    for &(page, access) in pages {
        memory.set_access(page, 4096, access).unwrap();
    }
}

fn assert_same_memory(a: &Memory, b: &Memory, context: &dyn Fn() -> String) {
    let pages_a: Vec<_> = a.accessible_pages().collect();
    let pages_b: Vec<_> = b.accessible_pages().collect();
    assert_eq!(pages_a, pages_b, "accessible pages: {}", context());
    let (mut x, mut y) = (vec![0u8; 4096], vec![0u8; 4096]);
    for (page, _) in pages_a {
        a.host_read(page, &mut x);
        b.host_read(page, &mut y);
        assert!(x == y, "memory of page {page:#x} differs: {}", context());
    }
}

fn differential(profile: Profile, seed: u64, default_cases: u64) {
    // Longer runs: KILN_JIT_CASES=100000 KILN_JIT_SEED=5 cargo test -p kiln-pvm --release --test recompiler
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("KILN_JIT_CASES").unwrap_or(default_cases);
    let mut rng = Rng::new(env("KILN_JIT_SEED").map_or(seed, |s| s ^ seed));
    let options = ProgramOptions {
        memory: true,
        unlikely: profile.isa != IsaVariant::Jam07,
        host_calls: true,
        sbrk: profile.isa == IsaVariant::Jam07,
        rw_base: u64::from(RW_BASE),
    };
    let (mut host_calls, mut out_of_gas, mut halts, mut faults) = (0, 0, 0, 0);
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
        let pages = random_pages(&mut rng);
        let mut interp = Instance::new(program).unwrap();
        let mut jit = RecompiledInstance::new(compiled).unwrap();
        apply(interp.memory_mut(), &pages);
        apply(jit.memory_mut(), &pages);
        let heap = RW_BASE + 3 * 4096;
        interp.set_heap_start(heap);
        jit.set_heap_start(heap);
        interp.set_regs(regs);
        jit.set_regs(regs);
        // Small gas budgets make out-of-gas exits (and their resumes) common.
        let gas = rng.below(300) as i64;
        interp.set_gas(gas);
        jit.set_gas(gas);
        let context = |step: usize| {
            format!("case {case} step {step}\n{text}\nregs {regs:x?} gas {gas} pages {pages:x?}")
        };
        for step in 0..200 {
            let (a, b) = (interp.run(), jit.run());
            assert_eq!(a, b, "exit: {}", context(step));
            assert_eq!(interp.pc(), jit.pc(), "pc: {}", context(step));
            assert_eq!(interp.regs(), jit.regs(), "regs: {}", context(step));
            assert_eq!(interp.gas(), jit.gas(), "gas: {}", context(step));
            assert_same_memory(interp.memory(), jit.memory(), &|| context(step));
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
                ExitReason::PageFault(page) => {
                    faults += 1;
                    interp
                        .memory_mut()
                        .set_access(page, 4096, Access::Write)
                        .unwrap();
                    jit.memory_mut()
                        .set_access(page, 4096, Access::Write)
                        .unwrap();
                }
                ExitReason::Halt => {
                    halts += 1;
                    break;
                }
                ExitReason::Panic => break,
            }
        }
    }
    assert!(
        host_calls > cases as usize
            && out_of_gas > cases as usize / 10
            && halts > cases as usize / 4
            && faults > cases as usize / 20,
        "host calls {host_calls}, out of gas {out_of_gas}, halts {halts}, faults {faults}"
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

/// Runs `text` on both backends with `regs` and `pages`, checks that they agree, and returns
/// the recompiler's exit and registers.
fn both_with(text: &str, regs: [u64; 13], pages: &[(u32, Access)]) -> (ExitReason, [u64; 13]) {
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let mut interp = Instance::new(program.clone()).unwrap();
    let mut jit = RecompiledInstance::new(CompiledProgram::compile(program).unwrap()).unwrap();
    apply(interp.memory_mut(), pages);
    apply(jit.memory_mut(), pages);
    interp.set_regs(regs);
    jit.set_regs(regs);
    interp.set_gas(1000);
    jit.set_gas(1000);
    let (a, b) = (interp.run(), jit.run());
    assert_eq!(a, b);
    assert_eq!(interp.pc(), jit.pc());
    assert_eq!(interp.regs(), jit.regs());
    assert_eq!(interp.gas(), jit.gas());
    assert_same_memory(interp.memory(), jit.memory(), &|| text.to_string());
    (b, jit.regs())
}

fn both(text: &str, regs: [u64; 13]) -> (ExitReason, [u64; 13]) {
    both_with(text, regs, &[])
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

/// Guest memory faults on the recompiler: the exit, the page-aligned lowest address, the
/// registers before the access and no partial store.
#[test]
fn faults_report_the_spec_state() {
    let rw = [(RW_BASE, Access::Write), (RW_BASE + 4096, Access::Read)];
    let mut regs = [0u64; 13];
    regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
    regs[1] = u64::from(RW_BASE);
    regs[2] = 0x1122_3344_5566_7788;
    // A store straddling into the read-only page panics and writes nothing.
    let (exit, out) = both_with("store_ind_u64 r2, r1, 4092\njump_ind r0, 0\n", regs, &rw);
    assert_eq!(exit, ExitReason::Panic);
    assert_eq!(out, regs);
    // A load straddling into an unmapped page faults at that page with r3 untouched.
    let (exit, out) = both_with("load_ind_u64 r3, r1, 8190\njump_ind r0, 0\n", regs, &rw);
    assert_eq!(exit, ExitReason::PageFault(RW_BASE + 8192));
    assert_eq!(out[3], 0);
    // Below 64 KiB: panic.
    let (exit, _) = both_with("load_u8 r3, 4096\njump_ind r0, 0\n", regs, &rw);
    assert_eq!(exit, ExitReason::Panic);
    // An address that wraps past 2^32 into an accessible page completes.
    let wrap = [(0xFFFF_F000, Access::Write), (0, Access::Write)];
    regs[1] = 0xFFFF_FFFE;
    let (exit, out) = both_with(
        "store_ind_u32 r2, r1, 0\nload_ind_u32 r4, r1, 0\njump_ind r0, 0\n",
        regs,
        &wrap,
    );
    assert_eq!(exit, ExitReason::Halt);
    assert_eq!(out[4], 0x5566_7788);
    // A huge register plus an offset wraps modulo 2^32 (no access outside the window).
    regs[1] = u64::MAX;
    let (exit, _) = both_with(
        "load_ind_u8 r4, r1, 0x7fffffff\njump_ind r0, 0\n",
        regs,
        &rw,
    );
    assert_eq!(exit, ExitReason::PageFault(0x7FFF_F000));
}

/// Faults on several threads at once each come back to their own instance.
#[test]
fn faults_are_handled_on_many_threads() {
    let text = "load_imm r3, 0\nfallthrough\nl:\nstore_ind_u64 r3, r1, 0\nload_ind_u64 r4, r1, 0\n\
                add_imm_64 r3, r3, 1\nadd_imm_64 r1, r1, 4096\njump l\n";
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let compiled = CompiledProgram::compile(program).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let compiled = compiled.clone();
            std::thread::spawn(move || {
                let mut jit = RecompiledInstance::new(compiled).unwrap();
                let base = RW_BASE + t * 0x100_0000;
                jit.set_reg(1, u64::from(base));
                jit.set_gas(1 << 40);
                for page in 0..200u32 {
                    let exit = jit.run();
                    assert_eq!(exit, ExitReason::PageFault(base + page * 4096));
                    assert_eq!(jit.reg(3), u64::from(page));
                    jit.memory_mut()
                        .set_access(base + page * 4096, 4096, Access::Write)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Address spaces are pooled: a new instance never sees the rights, bytes or registers of an
/// earlier one, whichever pooled space it gets.
#[test]
fn a_reused_address_space_keeps_nothing_of_its_previous_user() {
    let text = "load_ind_u64 r3, r1, 0\njump_ind r0, 0\n";
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let compiled = CompiledProgram::compile(program).unwrap();
    for round in 0..50u64 {
        let mut jit = RecompiledInstance::new(compiled.clone()).unwrap();
        assert_eq!(jit.memory().accessible_pages().count(), 0, "round {round}");
        let mut old = [0u8; 8];
        jit.memory().host_read(RW_BASE, &mut old);
        assert_eq!(old, [0; 8], "round {round}: bytes of an earlier user");
        jit.set_regs(random_regs(&mut Rng::new(round), u64::from(RW_BASE)));
        jit.set_gas(100);
        // Unmapped: whatever an earlier user mapped, this one faults.
        assert_eq!(jit.run(), ExitReason::PageFault(RW_BASE), "round {round}");
        jit.memory_mut()
            .set_access(RW_BASE, 4096, Access::Write)
            .unwrap();
        assert_eq!(jit.run(), ExitReason::Halt);
        assert_eq!(jit.reg(3), 0, "round {round}");
        // Leave bytes and rights behind for the next user.
        jit.memory_mut()
            .write(RW_BASE, &round.wrapping_add(1).to_le_bytes())
            .unwrap();
        jit.memory_mut()
            .host_write(0x7000_0000, &[0xAA; 100])
            .unwrap();
    }
}
