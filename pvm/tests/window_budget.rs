//! The process-wide mapping budget of guest windows, in a test binary of its own (the budget is
//! a process global): windows past it degrade instead of mapping more, parked spare windows count
//! against it, results never change, and everything charged is given back.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::{Access, ExitReason, Instance, IsaVariant, Profile, Program};

const BASE: u32 = 0x20000;

/// Writable, none, writable, ...: 2 · `pages` transitions of rights.
fn alternate(vm: &mut RecompiledInstance, pages: u32) {
    for k in 0..pages {
        vm.memory_mut()
            .set_access(BASE + 2 * k * 4096, 4096, Access::Write)
            .unwrap();
    }
}

#[test]
fn the_process_budget_bounds_windows_and_is_given_back() {
    let text = "load_ind_u8 r3, r1, 0\nstore_ind_u8 r4, r2, 0\njump_ind r0, 0\n";
    let blob = kiln_pvm::asm::assemble(text, IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let compiled = CompiledProgram::compile(program.clone()).unwrap();
    let mut regs = [0u64; 13];
    regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
    regs[1] = u64::from(BASE);
    regs[2] = u64::from(BASE + 2 * 4096);
    let run = |vm: &mut RecompiledInstance| {
        vm.set_regs(regs);
        vm.set_gas(100);
        vm.run()
    };

    // 40 live windows of 1,000 transitions each: more than the 32 K budget, so the last ones
    // degrade, and still run correctly.
    let mut live = Vec::new();
    for _ in 0..40 {
        let mut vm = RecompiledInstance::new(compiled.clone()).unwrap();
        alternate(&mut vm, 500);
        assert_eq!(run(&mut vm), ExitReason::Halt);
        live.push(vm);
    }
    let degraded = live
        .iter()
        .filter(|vm| vm.memory().window_degraded())
        .count();
    assert!(degraded >= 8, "only {degraded} of 40 windows degraded");

    // With the budget spent, layouts run in turn (parking windows would need budget, so they
    // are unmapped instead) and still agree with the interpreter.
    let layouts: [&[(u32, Access)]; 4] = [
        &[(BASE, Access::Read), (BASE + 2 * 4096, Access::Write)],
        &[(BASE, Access::Write), (BASE + 2 * 4096, Access::Read)],
        &[(BASE + 2 * 4096, Access::Write)],
        &[(BASE, Access::Read)],
    ];
    for round in 0..20 {
        let layout = layouts[round % layouts.len()];
        let mut interp = Instance::new(program.clone()).unwrap();
        let mut jit = RecompiledInstance::new(compiled.clone()).unwrap();
        for &(page, access) in layout {
            interp.memory_mut().set_access(page, 4096, access).unwrap();
            jit.memory_mut().set_access(page, 4096, access).unwrap();
        }
        interp.set_regs(regs);
        interp.set_gas(100);
        assert_eq!(interp.run(), run(&mut jit), "round {round}");
        assert_eq!(interp.regs(), jit.regs(), "round {round}");
    }

    // Everything charged comes back: a new window of 1,000 transitions mirrors exactly again.
    drop(live);
    let mut vm = RecompiledInstance::new(compiled).unwrap();
    alternate(&mut vm, 500);
    assert_eq!(run(&mut vm), ExitReason::Halt);
    assert!(!vm.memory().window_degraded());
}
