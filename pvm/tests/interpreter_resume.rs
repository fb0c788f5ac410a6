//! Interpreter-level tests of exits, resumption and block-granular gas: out of gas, host calls,
//! page faults, entry pcs, the implicit trap, `sbrk`, standard programs and the JAM 0.8 numbering.
//!
//! The semantics of individual instructions are in `interpreter.rs`. As there, every test checks
//! the exit reason, the pc, the gas left and the registers exactly; expected gas is computed by
//! hand (under `Profile::JAM_07` every instruction costs 1 and a basic block is paid for in full
//! when it is entered).

#[macro_use]
mod common;

use std::sync::Arc;

use common::*;
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{Access, ExitReason, IsaVariant, Profile, StandardProgram, Vm};

use ExitReason::{Halt, HostCall, OutOfGas, PageFault, Panic};

on_every_backend! {

// ---------------------------------------------------------------------------------------------
// Gas and resumption
// ---------------------------------------------------------------------------------------------

const TWO_BLOCKS: &str = "
    load_imm r1, 1
    jump next
next:
    load_imm r2, 2
    load_imm r3, 3
    jump_ind r0, 0
";

#[test]
fn out_of_gas_stops_at_the_block_start_and_resumes() {
    let (mut vm, pcs) = start(TWO_BLOCKS, &[]);
    vm.set_gas(4);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (OutOfGas, pcs[2], 2, regs(&[(1, 1)])),
        "second block",
    );
    // Running again without more gas changes nothing.
    let exit = vm.run();
    check(&vm, exit, (OutOfGas, pcs[2], 2, regs(&[(1, 1)])), "again");
    vm.set_gas(100);
    let exit = vm.run();
    let want = (Halt, pcs[4], 97, regs(&[(1, 1), (2, 2), (3, 3)]));
    check(&vm, exit, want, "resumed");

    // Not enough for the first block.
    let (mut vm, _) = start(TWO_BLOCKS, &[]);
    vm.set_gas(1);
    let exit = vm.run();
    check(&vm, exit, (OutOfGas, 0, 1, regs(&[])), "first block");
    vm.set_gas(5);
    let exit = vm.run();
    let want = (Halt, pcs[4], 0, regs(&[(1, 1), (2, 2), (3, 3)]));
    check(&vm, exit, want, "exactly enough");
}

#[test]
fn host_calls_resume_after_the_ecalli_without_recharging() {
    let src = "
        load_imm r1, 1
        ecalli 7
        add_imm_64 r2, r7, 1
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (HostCall(7), pcs[1], GAS - 4, regs(&[(1, 1)])),
        "ecalli",
    );
    vm.set_reg(7, 41);
    vm.set_gas(vm.gas() - 10); // the host function's own charge
    let exit = vm.run();
    let want = (Halt, pcs[3], GAS - 14, regs(&[(1, 1), (2, 42), (7, 41)]));
    check(&vm, exit, want, "resumed");

    // Two host calls in one block, then a new block that is charged normally.
    let src = "
        ecalli 1
        ecalli 2
        jump next
    next:
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (HostCall(1), pcs[0], GAS - 3, regs(&[])),
        "first",
    );
    let exit = vm.run();
    check(
        &vm,
        exit,
        (HostCall(2), pcs[1], GAS - 3, regs(&[])),
        "second",
    );
    let exit = vm.run();
    check(&vm, exit, (Halt, pcs[3], GAS - 4, regs(&[])), "halt");
}

/// Like the gas-model vector `multistep_paging_in_the_middle_of_block`, under JAM_07.
/// A host may resume after a host call with any gas, even near `i64::MIN`: the next block
/// cannot be paid, and the gas is left exactly as the host set it (on the recompiler the
/// block's `sub` wraps, and giving the cost back must wrap too, never overflow).
#[test]
fn a_host_call_resumed_with_extreme_gas_runs_out_cleanly() {
    let src = "
        ecalli 1
        jump next
    next:
        add_imm_64 r1, r1, 1
        add_imm_64 r1, r1, 1
        add_imm_64 r1, r1, 1
        add_imm_64 r1, r1, 1
        jump_ind r0, 0
    ";
    for gas in [i64::MIN, i64::MIN + 3, -1, 0] {
        let (mut vm, pcs) = start(src, &[]);
        assert_eq!(vm.run(), HostCall(1));
        vm.set_gas(gas);
        let exit = vm.run();
        check(&vm, exit, (OutOfGas, pcs[2], gas, regs(&[])), &format!("gas {gas}"));
    }
}

#[test]
fn page_faults_resume_at_the_faulting_instruction_without_recharging() {
    let src = "
        load_imm r7, 0x30000
        load_ind_u8 r8, r7, 0
        load_ind_u8 r9, r7, 0xfff
        load_ind_u8 r10, r7, 0x1fff
        add_64 r11, r8, r9
        add_64 r11, r11, r10
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[]);
    let base = [(7, 0x30000)];
    for attempt in ["first", "unmapped retry"] {
        let exit = vm.run();
        let want = (PageFault(0x30000), pcs[1], GAS - 7, regs(&base));
        check(&vm, exit, want, attempt);
    }
    vm.memory_mut()
        .set_access(0x30000, 4096, Access::Write)
        .unwrap();
    vm.memory_mut().host_write(0x30000, &[1]).unwrap();
    vm.memory_mut().host_write(0x30FFF, &[2]).unwrap();
    let exit = vm.run();
    let mid = [(7, 0x30000), (8, 1), (9, 2)];
    check(
        &vm,
        exit,
        (PageFault(0x31000), pcs[3], GAS - 7, regs(&mid)),
        "2nd",
    );
    vm.memory_mut()
        .set_access(0x31000, 4096, Access::Write)
        .unwrap();
    vm.memory_mut().host_write(0x31FFF, &[3]).unwrap();
    let exit = vm.run();
    let end = [(7, 0x30000), (8, 1), (9, 2), (10, 3), (11, 6)];
    check(&vm, exit, (Halt, pcs[6], GAS - 7, regs(&end)), "halt");
}

#[test]
fn final_exits_stay_final() {
    let (mut vm, pcs) = start("load_imm r1, 1\njump_ind r0, 0", &[]);
    for _ in 0..2 {
        let exit = vm.run();
        check(&vm, exit, (Halt, pcs[1], GAS - 2, regs(&[(1, 1)])), "halt");
    }
    let (mut vm, _) = start("load_imm r1, 1\ntrap", &[]);
    for _ in 0..2 {
        let exit = vm.run();
        check(&vm, exit, (Panic, 3, GAS - 2, regs(&[(1, 1)])), "panic");
    }
}

#[test]
fn fallthrough_at_the_end_panics_in_the_implicit_trap() {
    let (mut vm, _) = start("fallthrough", &[]);
    let exit = vm.run();
    check(&vm, exit, (Panic, 1, GAS - 2, regs(&[])), "fallthrough");
    // Any code running off the end: the implicit trap is part of the last block.
    let (mut vm, _) = start("load_imm r1, 5", &[]);
    let exit = vm.run();
    check(&vm, exit, (Panic, 3, GAS - 2, regs(&[(1, 5)])), "load_imm");
}

#[test]
fn entering_mid_block_charges_the_whole_block() {
    let src = "
        load_imm r1, 1
        load_imm r2, 2
        load_imm r3, 3
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[]);
    assert_eq!(pcs, [0, 3, 6, 9]);
    vm.set_pc(6);
    let exit = vm.run();
    check(&vm, exit, (Halt, 9, GAS - 4, regs(&[(3, 3)])), "entry at 6");

    // Too little gas for the containing block: out of gas at the entry pc, nothing charged.
    let (mut vm, _) = start(src, &[]);
    vm.set_gas(3);
    vm.set_pc(9);
    let exit = vm.run();
    check(&vm, exit, (OutOfGas, 9, 3, regs(&[])), "entry at 9, gas 3");
}

#[test]
fn entering_at_a_non_instruction_panics() {
    let src = "load_imm r1, 1\njump_ind r0, 0";
    // GP 0.7: the byte executes as trap, costing 1.
    let (mut vm, _) = start(src, &[]);
    vm.set_pc(1);
    let exit = vm.run();
    check(&vm, exit, (Panic, 1, GAS - 1, regs(&[])), "JAM_07");
    let (mut vm, _) = start(src, &[]);
    vm.set_gas(0);
    vm.set_pc(1);
    let exit = vm.run();
    check(&vm, exit, (OutOfGas, 1, 0, regs(&[])), "JAM_07, no gas");
    // Past the end of the code.
    let (mut vm, _) = start(src, &[]);
    vm.set_pc(1000);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, 1000, GAS - 1, regs(&[])),
        "JAM_07, pc 1000",
    );

    // GP 0.7 numbering with pipeline gas: the implicit trap is a block of its own, priced by
    // the model (a lone trap costs 2).
    let (mut vm, _) = start_with(src, Profile::GAS_DRAFT, &[]);
    vm.set_pc(1);
    let exit = vm.run();
    check(&vm, exit, (Panic, 1, GAS - 2, regs(&[])), "GAS_DRAFT");

    // The GP 0.8 draft rejects an invalid entry before charging anything, even with no (or
    // negative) gas, and even at the end of the code where an implicit trap stands.
    for (gas, pc) in [(GAS, 1), (0, 1), (-1, 7), (GAS, 5), (GAS, 1000)] {
        let (mut vm, _) = start_with(src, Profile::JAM_08, &[]);
        vm.set_gas(gas);
        vm.set_pc(pc);
        let exit = vm.run();
        check(&vm, exit, (Panic, pc, gas, regs(&[])), "JAM_08");
    }
}

// ---------------------------------------------------------------------------------------------
// sbrk, standard programs, ISA variants
// ---------------------------------------------------------------------------------------------

fn standard(src: &str, isa: IsaVariant) -> StandardProgram {
    match assemble(src, isa).unwrap_or_else(|e| panic!("{e}\n{src}")) {
        Assembled::Standard(p) => p,
        Assembled::Blob(_) => panic!("expected a standard program"),
    }
}

fn instantiate(p: &StandardProgram, args: &[u8]) -> (Vm, Vec<u32>) {
    // Through the encoded bytes, as an embedder would receive them.
    let p = StandardProgram::parse(&p.to_bytes()).unwrap();
    let program = Arc::new(p.decode(Profile::JAM_07).unwrap());
    let pcs = pcs(&program);
    (p.instantiate(&prepare(program), args, 0, GAS).unwrap(), pcs)
}

#[test]
fn sbrk_moves_the_program_break_from_the_end_of_the_read_write_region() {
    let src = "
    .rw_data
        .bytes 01
    .code
        load_imm r1, 100
        sbrk r2, r1
        store_ind_u64 r1, r2, 92
        load_ind_u64 r3, r2, 92
        sbrk r4, r1
        jump_ind r0, 0
    ";
    let p = standard(src, IsaVariant::Jam07);
    let (mut vm, pcs) = instantiate(&p, &[]);
    assert_eq!(vm.memory().page_access(0x20000), Access::Write);
    let exit = vm.run();
    // The break starts at the end of the one-page read-write region; each `sbrk` returns the
    // old break and moves it up by 100.
    let want = [
        (1, 100),
        (2, 0x21000),
        (3, 100),
        (4, 0x21064),
        (7, 0xFEFF_0000),
    ];
    check(&vm, exit, (Halt, pcs[5], GAS - 6, regs(&want)), "sbrk");
    for addr in [0x21000, 0x21063, 0x210C7] {
        assert_eq!(vm.memory().page_access(addr), Access::Write, "{addr:#x}");
    }
    assert_eq!(vm.memory().page_access(0x22000), Access::None);
    assert_eq!(read(&vm, 0x21000 + 92, 8), 100u64.to_le_bytes());
}

/// `sbrk` of a size that cannot fit must fail (return 0, map nothing), not overflow.
#[test]
fn sbrk_of_a_huge_size_fails_cleanly() {
    let src = "
    .rw_data
        .bytes 01
    .code
        sbrk r2, r1
        jump_ind r0, 0
    ";
    let p = standard(src, IsaVariant::Jam07);
    for size in [MAX, MAX - 0x1000, 1 << 32] {
        let (mut vm, pcs) = instantiate(&p, &[]);
        vm.set_reg(1, size);
        let before: Vec<_> = vm.memory().accessible_pages().collect();
        let exit = vm.run();
        let want = regs(&[(1, size), (7, 0xFEFF_0000)]);
        check(
            &vm,
            exit,
            (Halt, pcs[1], GAS - 2, want),
            &format!("sbrk {size:#x}"),
        );
        let after: Vec<_> = vm.memory().accessible_pages().collect();
        assert_eq!(before, after, "sbrk {size:#x} mapped pages");
    }
}

const STANDARD: &str = "
.ro_data
    .bytes 11 22 33 44 55 66 77 88
.rw_data
    .bytes aa bb cc dd
.stack_size 4096
.code
    load_u64 r2, 0x10000
    load_ind_u32 r3, r7, 0
    load_u32 r4, 0x30000
    store_ind_u64 r2, r1, -8
    load_ind_u64 r5, r1, -8
    store_u64 r2, 0x30000
    store_u32 r3, 0x30008
    load_imm r7, 0x30000
    load_imm r8, 12
    jump_ind r0, 0
";

#[test]
fn standard_program_layout_registers_and_result() {
    let p = standard(STANDARD, IsaVariant::Jam07);
    let args = [1u8, 2, 3, 4, 5];
    let (mut vm, pcs) = instantiate(&p, &args);
    let initial = [(1, 0xFEFE_0000), (7, 0xFEFF_0000), (8, 5)];
    assert_eq!(vm.regs(), regs(&initial));
    assert_eq!((vm.pc(), vm.gas()), (0, GAS));
    let exit = vm.run();
    let ro = 0x8877_6655_4433_2211u64;
    let want = [
        (1, 0xFEFE_0000),
        (2, ro),
        (3, 0x0403_0201),
        (4, 0xDDCC_BBAA),
        (5, ro),
        (7, 0x30000),
        (8, 12),
    ];
    check(&vm, exit, (Halt, pcs[9], GAS - 10, regs(&want)), "standard");
    // The result of a halting program: memory[r7 .. r7 + r8].
    let mut result = vec![0u8; vm.reg(8) as usize];
    vm.memory().read(vm.reg(7) as u32, &mut result).unwrap();
    assert_eq!(
        result,
        [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 2, 3, 4]
    );
    assert_eq!(read(&vm, 0xFEFD_FFF8, 8), ro.to_le_bytes(), "stack");
    assert_eq!(vm.memory().page_access(0xFEFE_0000), Access::None);
    assert_eq!(vm.memory().page_access(0xFEFD_F000), Access::Write);
    assert_eq!(vm.memory().page_access(0xFEFD_E000), Access::None);
}

#[test]
fn standard_program_read_only_regions_reject_writes() {
    let base = ".ro_data\n.bytes 11 22\n.code\n";
    let initial = [(1, 0xFEFE_0000), (7, 0xFEFF_0000), (8, 5)];
    // (code, exit, registers changed): RO data and arguments are readable but not writable.
    type Case<'a> = (&'a str, ExitReason, &'a [(usize, u64)]);
    let cases: &[Case] = &[
        ("store_u8 r2, 0x10000", Panic, &[]),
        ("store_ind_u8 r8, r7, 0", Panic, &[]),
        ("store_imm_ind_u16 r7, 4094, 1", Panic, &[]),
        ("load_u16 r2, 0x10000", Halt, &[(2, 0x2211)]),
        ("load_ind_u8 r2, r7, 4", Halt, &[(2, 5)]),
        ("load_ind_u8 r2, r7, 4095", Halt, &[(2, 0)]),
        ("load_ind_u8 r2, r7, 4096", PageFault(0xFEFF_1000), &[]),
        ("load_u8 r2, 0xfeff0000", Halt, &[(2, 1)]),
    ];
    for &(line, exit_want, changed) in cases {
        let p = standard(&format!("{base}{line}\njump_ind r0, 0"), IsaVariant::Jam07);
        let (mut vm, pcs) = instantiate(&p, &[1, 2, 3, 4, 5]);
        let exit = vm.run();
        let pc = if exit_want == Halt { pcs[1] } else { pcs[0] };
        let want = regs(&[&initial[..], changed].concat());
        check(&vm, exit, (exit_want, pc, GAS - 2, want), line);
        assert_eq!(read(&vm, 0x10000, 2), [0x11, 0x22], "{line}");
        assert_eq!(read(&vm, 0xFEFF_0000, 6), [1, 2, 3, 4, 5, 0], "{line}");
    }
}

#[test]
fn jam08_numbering_gives_the_same_results() {
    let src = "
        load_imm r1, 0x1234
        count_set_bits_64 r2, r1
        leading_zero_bits_32 r3, r1
        reverse_bytes r4, r1
        sign_extend_8 r5, r1
        add_64 r6, r2, r3
        store_u64 r4, 0x20000
        load_u32 r8, 0x20004
        jump_ind r0, 0
    ";
    let bytes07 = assemble(src, IsaVariant::Jam07).unwrap().to_bytes();
    let bytes08 = assemble(src, IsaVariant::Jam08).unwrap().to_bytes();
    assert_ne!(bytes07, bytes08, "the renumbered opcodes differ");
    let want = regs(&[
        (1, 0x1234),
        (2, 5),
        (3, 19),
        (4, 0x3412_0000_0000_0000),
        (5, 0x34),
        (6, 24),
        (8, 0x3412_0000),
    ]);
    let per_instruction_08 = Profile::from_name("jam-0.8+per-instruction").unwrap();
    for profile in [Profile::JAM_07, Profile::JAM_08, per_instruction_08] {
        let (mut vm, pcs) = start_with(src, profile, &[]);
        let program = vm.program().clone();
        let costs: Vec<(u32, u64)> = program.block_costs().collect();
        let cost = if profile.gas == Profile::JAM_07.gas {
            9
        } else {
            // One block (plus the never-entered implicit trap after the last jump_ind).
            assert_eq!(costs[0].0, 0);
            costs[0].1
        };
        vm.memory_mut()
            .set_access(0x20000, 4096, Access::Write)
            .unwrap();
        let exit = vm.run();
        let what = profile.name();
        check(&vm, exit, (Halt, pcs[8], GAS - cost as i64, want), &what);
        assert_eq!(
            read(&vm, 0x20000, 8),
            [0, 0, 0, 0, 0, 0, 0x12, 0x34],
            "{what}"
        );
    }
}

}
