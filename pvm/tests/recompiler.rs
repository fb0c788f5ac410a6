//! The recompiler against the interpreter: a differential proptest on random programs (exit, pc,
//! registers, gas and memory at every exit, across host-call, out-of-gas and page-fault resumes,
//! loops, dynamic jumps, `sbrk`, accesses that straddle pages or wrap around the address space,
//! writes to read-only pages, and invalid programs), then the peer's bug classes and the fault
//! handler's properties one by one. Longer runs: `KILN_JIT_CASES=1000000 cargo test -p kiln-pvm
//! --release --test recompiler`.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::testing::differential::{run_on_both, Case, RW_BASE};
use kiln_pvm::testing::{random_regs, Rng};
use kiln_pvm::{Access, ExitReason, Instance, IsaVariant, Memory, Profile, Program};
use proptest::prelude::*;

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

fn cases(default: u32) -> u32 {
    std::env::var("KILN_JIT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PROFILES: [Profile; 3] = [Profile::JAM_07, Profile::GAS_DRAFT, Profile::JAM_08];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(10_000), ..ProptestConfig::default() })]

    /// Generated programs (a quarter of them with bytes changed, which can make them invalid),
    /// random registers, page rights and gas: both backends agree at every exit.
    #[test]
    fn backends_agree_on_generated_programs(
        profile in 0..3usize,
        seed in any::<u64>(),
        mutations in prop_oneof![
            3 => Just(Vec::new()),
            1 => proptest::collection::vec((any::<usize>(), 1..=255u8), 1..4),
        ],
        pages in any::<u8>(),
        gas in 0i64..400,
    ) {
        let case = Case::generated(PROFILES[profile], seed, &mutations, pages, gas);
        let result = run_on_both(&case, 200);
        prop_assert!(result.is_ok(), "{}\n{case:x?}", result.unwrap_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(10_000) / 4, ..ProptestConfig::default() })]

    /// Raw byte strings as code, mask and jump table (mostly invalid instruction streams), with
    /// random entry pcs: both backends agree.
    #[test]
    fn backends_agree_on_raw_blobs(mut data in proptest::collection::vec(any::<u8>(), 14..300)) {
        data[12] = 1 | data[12] & 2;
        let case = Case::from_fuzz_bytes(&data).expect("long enough");
        let result = run_on_both(&case, 50);
        prop_assert!(result.is_ok(), "{}\n{case:x?}", result.unwrap_err());
    }
}

/// The generator behind the proptest reaches every kind of exit: host calls, out of gas, page
/// faults, halts and panics (so the property cannot pass by testing nothing).
#[test]
fn generated_cases_reach_every_exit() {
    let mut seen = [0usize; 5];
    for seed in 0..600u64 {
        let profile = PROFILES[seed as usize % 3];
        let case = Case::generated(profile, seed, &[], (seed >> 2) as u8, (seed % 300) as i64);
        for exit in run_on_both(&case, 200).unwrap() {
            seen[match exit {
                ExitReason::HostCall(_) => 0,
                ExitReason::OutOfGas => 1,
                ExitReason::PageFault(_) => 2,
                ExitReason::Halt => 3,
                ExitReason::Panic => 4,
            }] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n > 20), "exits seen: {seen:?}");
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

/// The forms the recompiler encodes by hand (`lea` sums and offsets, `add` / `cmp` with an
/// immediate, addresses in `ecx`) for every combination of guest registers, including the
/// ones whose host registers need a displacement or a SIB byte (`rbp`, `r12`, `r13`), and
/// immediates of every encoded width: both backends agree on each single instruction.
#[test]
fn hand_encoded_forms_agree_for_every_register_combination() {
    // Distinct values in every register; each one's low 32 bits address the page at RW_BASE.
    let regs: [u64; 13] =
        std::array::from_fn(|i| ((i as u64 + 1) << 36) | (u64::from(RW_BASE) + 16 * i as u64));
    let pages = [(RW_BASE, Access::Write)];
    let imms = [0i64, 1, -1, 127, -128, 128, 0x1234_5678, -0x1234_5678];
    let mut sources = Vec::new();
    for a in 0..13 {
        for b in 0..13 {
            for d in 0..13 {
                sources.push(format!("add_64 r{d}, r{a}, r{b}"));
                sources.push(format!("add_32 r{d}, r{a}, r{b}"));
            }
            for imm in imms {
                sources.push(format!("add_imm_64 r{a}, r{b}, {imm}"));
                sources.push(format!("add_imm_32 r{a}, r{b}, {imm}"));
            }
            for imm in [0i64, 8, -8, 200] {
                sources.push(format!("load_ind_u32 r{a}, r{b}, {imm}"));
            }
        }
        for imm in [0i64, 16, -1, 0x1234_5678] {
            for branch in [
                "branch_eq_imm",
                "branch_ne_imm",
                "branch_lt_s_imm",
                "branch_ge_u_imm",
            ] {
                sources.push(format!("{branch} r{a}, {imm}, out\ntrap\nout:"));
            }
            sources.push(format!("jump_ind r{a}, {imm}"));
        }
    }
    for source in &sources {
        both_with(&format!("{source}\ntrap\n"), regs, &pages);
        // Values equal to the immediates and signs that flip the comparisons.
        let mut edge = regs;
        edge[..4].copy_from_slice(&[0, 16, u64::MAX, 0x1234_5678]);
        edge[4] = 1 << 63;
        both_with(&format!("{source}\ntrap\n"), edge, &pages);
    }
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

/// Services with different layouts run in turn on pooled address spaces, which switch to a
/// window that already has the layout (or park the current one, or change its protections when
/// all spare windows hold other layouts). Every run matches the interpreter: a switched-to
/// window grants exactly the current layout's rights, no more.
#[test]
fn layouts_run_in_turn_get_exactly_their_own_rights() {
    let text =
        "load_ind_u8 r3, r1, 0\nstore_ind_u8 r2, r4, 0\nload_ind_u8 r5, r6, 0\njump_ind r0, 0\n";
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let compiled = CompiledProgram::compile(program.clone()).unwrap();
    let (p1, p2, p3) = (RW_BASE, RW_BASE + 4096, RW_BASE + 8 * 4096);
    use Access::{None as No, Read as Ro, Write as Rw};
    // Five layouts: more than one pooled space keeps windows for.
    let layouts: [&[(u32, Access)]; 5] = [
        &[(p1, Ro), (p2, Rw), (p3, Ro)],
        &[(p1, No), (p2, Ro), (p3, Ro)],
        &[(p1, Rw), (p2, Rw)],
        &[(p2, Rw), (p3, Rw)],
        &[(p1, Ro), (p3, Rw)],
    ];
    let mut rng = Rng::new(7);
    for round in 0..60 {
        let layout = layouts[(rng.next_u64() % 5) as usize];
        let mut regs = [0u64; 13];
        regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
        (regs[1], regs[2], regs[4], regs[6]) = (p1.into(), p2.into(), 9, p3.into());
        let mut interp = Instance::new(program.clone()).unwrap();
        let mut jit = RecompiledInstance::new(compiled.clone()).unwrap();
        for memory in [interp.memory_mut(), jit.memory_mut()] {
            for &(page, access) in layout {
                memory.set_access(page, 4096, access).unwrap();
            }
        }
        interp.set_regs(regs);
        jit.set_regs(regs);
        interp.set_gas(100);
        jit.set_gas(100);
        let (want, got) = (interp.run(), jit.run());
        assert_eq!(want, got, "round {round}, layout {layout:?}");
        assert_eq!(interp.regs(), jit.regs(), "round {round}");
        assert_eq!(interp.pc(), jit.pc(), "round {round}");
        assert_same_memory(interp.memory(), jit.memory(), &|| format!("round {round}"));
    }
}

/// Memories swapped between instances of different programs (with `memory_mut`) keep working:
/// each instance runs its own program's code and tables on whatever window it now holds.
#[test]
fn swapped_memories_run_each_instances_own_program() {
    let compile = |text: &str| {
        let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
            .unwrap()
            .to_bytes();
        let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
        CompiledProgram::compile(program).unwrap()
    };
    // A dynamic jump through the jump table, so stale tables would show.
    let first = compile(
        "load_imm r2, &a\njump_ind r2, 0\na:\nload_imm r7, 1\nstore_ind_u8 r7, r1, 0\njump_ind r0, 0\n.jump_table a\n",
    );
    let second = compile(
        "load_imm r7, 2\nload_imm r2, &b\njump_ind r2, 0\nb:\nstore_ind_u8 r7, r1, 1\njump_ind r0, 0\n.jump_table b\n",
    );
    let mut x = RecompiledInstance::new(first).unwrap();
    let mut y = RecompiledInstance::new(second).unwrap();
    for vm in [&mut x, &mut y] {
        vm.memory_mut()
            .set_access(RW_BASE, 4096, Access::Write)
            .unwrap();
        vm.set_regs(random_regs(&mut Rng::new(1), u64::from(RW_BASE)));
    }
    for round in 0..3 {
        for (vm, want) in [(&mut x, 1), (&mut y, 2)] {
            vm.set_gas(100);
            vm.set_pc(0);
            assert_eq!(vm.run(), ExitReason::Halt, "round {round}");
            assert_eq!(vm.reg(7), want, "round {round}");
        }
        std::mem::swap(x.memory_mut(), y.memory_mut());
    }
    let mut bytes = [0u8; 2];
    x.memory().host_read(RW_BASE, &mut bytes);
    assert_eq!(bytes, [1, 2]);
}

/// Registers the program never names are not loaded or stored by generated code; the values
/// the host gives them stay, exactly as on the interpreter.
#[test]
fn registers_a_program_never_names_keep_the_hosts_values() {
    let mut regs = [0u64; 13];
    regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
    regs[5] = 55;
    regs[11] = 0x1111;
    let (exit, out) = both(
        "load_imm r3, 3\necalli 1\nadd_imm_64 r3, r3, 1\njump_ind r0, 0\n",
        regs,
    );
    assert_eq!(exit, ExitReason::HostCall(1));
    assert_eq!((out[3], out[5], out[11]), (3, 55, 0x1111));
    let blob = kiln_pvm::asm::assemble(
        "load_imm r3, 3\necalli 1\nadd_imm_64 r3, r3, 1\njump_ind r0, 0\n",
        IsaVariant::Jam07,
    )
    .unwrap()
    .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let mut jit = RecompiledInstance::new(CompiledProgram::compile(program).unwrap()).unwrap();
    jit.set_regs(regs);
    jit.set_gas(100);
    assert_eq!(jit.run(), ExitReason::HostCall(1));
    jit.set_reg(5, 77);
    jit.set_reg(11, 0x2222);
    assert_eq!(jit.run(), ExitReason::Halt);
    assert_eq!((jit.reg(3), jit.reg(5), jit.reg(11)), (4, 77, 0x2222));
}

/// Rights that alternate page by page past the mapping budget degrade the window: every access
/// then faults into the checked slow path, with the same results as the interpreter.
#[test]
fn a_degraded_window_gives_the_same_results() {
    let text = "load_imm r3, 0\nfallthrough\nl:\nstore_ind_u64 r3, r1, 8\nload_ind_u64 r4, r1, 8\n\
                add_64 r5, r5, r4\nadd_imm_64 r1, r1, 8192\nadd_imm_64 r3, r3, 1\n\
                branch_ne_imm r3, 40, l\nload_ind_u8 r6, r1, 4096\njump_ind r0, 0\n";
    // 1,200 rights transitions: writable, none, writable, none, ...
    let pages: Vec<(u32, Access)> = (0..600u32)
        .map(|k| (RW_BASE + 2 * k * 4096, Access::Write))
        .collect();
    let mut regs = [0u64; 13];
    regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
    regs[1] = u64::from(RW_BASE);
    let (exit, out) = both_with(text, regs, &pages);
    assert_eq!(exit, ExitReason::PageFault(RW_BASE + 80 * 4096 + 4096));
    assert_eq!(out[5], (0..40).sum::<u64>());

    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let mut jit = RecompiledInstance::new(CompiledProgram::compile(program).unwrap()).unwrap();
    apply(jit.memory_mut(), &pages);
    jit.set_regs(regs);
    jit.set_gas(10_000);
    jit.run();
    assert!(jit.memory().window_degraded());
}
