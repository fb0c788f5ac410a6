//! Interpreter-level tests of the subtle cases of PVM semantics: arithmetic, control flow and
//! memory. Exits, resumption and gas are in `interpreter_resume.rs`.
//!
//! Every test checks the exit reason, the pc, the gas left and the registers (and memory where
//! it matters) exactly. Programs are written in the assembler's text syntax; expected gas is
//! computed by hand: under `Profile::JAM_07` every instruction costs 1 and a basic block is paid
//! for in full when it is entered.

#[macro_use]
mod common;

use std::sync::Arc;

use common::*;
use kiln_pvm::{Access, ExitReason, Profile, Program};

use ExitReason::{Halt, PageFault, Panic};

on_every_backend! {

/// Runs `line` followed by a halting `jump_ind` (one block of 2) with `inputs` in registers and
/// checks that only register `out.0` changed, to `out.1`.
#[track_caller]
fn alu(line: &str, inputs: &[(usize, u64)], out: (usize, u64)) {
    let src = format!("{line}\njump_ind r0, 0\n");
    let (mut vm, pcs) = start(&src, inputs);
    let exit = vm.run();
    let mut want = regs(inputs);
    want[out.0] = out.1;
    let what = format!("`{line}` with {inputs:x?}");
    check(&vm, exit, (Halt, pcs[1], GAS - 2, want), &what);
}

/// `op r3, r1, r2` (three-register form: r3 = op(r1, r2)) for each `(r1, r2, r3)`.
#[track_caller]
fn alu3(op: &str, cases: &[(u64, u64, u64)]) {
    for &(a, b, r) in cases {
        alu(&format!("{op} r3, r1, r2"), &[(1, a), (2, b)], (3, r));
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

#[test]
fn division_by_zero_and_signed_overflow_32() {
    let min32 = 0x8000_0000u64;
    let sext_min32 = 0xFFFF_FFFF_8000_0000u64;
    alu3(
        "div_u_32",
        &[
            (5, 0, MAX),
            (0xFFFF_FFFF, 1, MAX),
            (0x1_0000_0007, 0x1_0000_0002, 3),
            (7, 0x1_0000_0000, MAX),
            (min32, 1, sext_min32),
        ],
    );
    alu3(
        "div_s_32",
        &[
            (5, 0, MAX),
            (min32, 0xFFFF_FFFF, sext_min32),
            (sext_min32, MAX, sext_min32),
            (neg(-7), 2, neg(-3)),
            (7, neg(-2), neg(-3)),
        ],
    );
    alu3(
        "rem_u_32",
        &[
            (0x1_8000_0005, 0, 0xFFFF_FFFF_8000_0005),
            (7, 3, 1),
            (0xFFFF_FFFF, 0x1_0000_0000, MAX),
        ],
    );
    alu3(
        "rem_s_32",
        &[
            (min32, 0xFFFF_FFFF, 0),
            (sext_min32, MAX, 0),
            (neg(-7), 0, neg(-7)),
            (0x1_FFFF_FFF9, 0, neg(-7)),
            (neg(-7), 2, neg(-1)),
            (7, neg(-2), 1),
        ],
    );
}

#[test]
fn division_by_zero_and_signed_overflow_64() {
    let min = i64::MIN as u64;
    alu3(
        "div_u_64",
        &[(5, 0, MAX), (MAX, 1, MAX), (MAX, 2, MAX >> 1), (7, 2, 3)],
    );
    alu3(
        "div_s_64",
        &[
            (5, 0, MAX),
            (min, MAX, min),
            (neg(-7), 2, neg(-3)),
            (7, neg(-2), neg(-3)),
        ],
    );
    alu3(
        "rem_u_64",
        &[(0xDEAD_BEEF_0000_0001, 0, 0xDEAD_BEEF_0000_0001), (7, 3, 1)],
    );
    alu3(
        "rem_s_64",
        &[
            (min, MAX, 0),
            (min, 0, min),
            (neg(-7), 0, neg(-7)),
            (neg(-7), 2, neg(-1)),
            (7, neg(-2), 1),
        ],
    );
}

#[test]
fn thirty_two_bit_results_are_sign_extended() {
    let s = 0xFFFF_FFFF_8000_0000u64;
    alu3(
        "add_32",
        &[
            (0x7FFF_FFFF, 1, s),
            (0xDEAD_0000_7FFF_FFFF, 0xBEEF_0000_0000_0001, s),
            (0xFFFF_FFFF, 1, 0),
        ],
    );
    alu3("sub_32", &[(0, 1, MAX), (0x8000_0000, 0, s)]);
    alu3("mul_32", &[(0x10000, 0x8000, s)]);
    alu3("shlo_r_32", &[(0x8000_0000, 0, s), (0x1_8000_0000, 0, s)]);
    alu3("div_u_32", &[(0xFFFF_FFFF, 1, MAX)]);
    alu3("rot_r_32", &[(1, 1, s)]);
    alu("add_imm_32 r3, r1, 1", &[(1, 0x7FFF_FFFF)], (3, s));
    alu("shlo_r_imm_32 r3, r1, 0", &[(1, 0x8000_0000)], (3, s));
    alu("neg_add_imm_32 r3, r1, 0", &[(1, 1)], (3, MAX));
}

#[test]
fn shift_counts_are_masked() {
    let top = 1u64 << 63;
    let s = 0xFFFF_FFFF_8000_0000u64;
    alu3("shlo_l_64", &[(1, 65, 2), (1, 64, 1), (1, 63, top)]);
    alu3("shlo_r_64", &[(top, 127, 1), (5, 64, 5)]);
    alu3("shar_r_64", &[(top, 127, MAX), (top, 64, top)]);
    alu3("rot_l_64", &[(1, 65, 2)]);
    alu3("rot_r_64", &[(1, 65, top)]);
    alu3("shlo_l_32", &[(1, 33, 2), (1, 63, s), (1, 32, 1)]);
    alu3(
        "shlo_r_32",
        &[(0x8000_0000, 33, 0x4000_0000), (0x8000_0000, 32, s)],
    );
    alu3(
        "shar_r_32",
        &[
            (0x8000_0000, 63, MAX),
            (0x8000_0000, 36, 0xFFFF_FFFF_F800_0000),
        ],
    );
    alu3("rot_l_32", &[(0x8000_0000, 33, 1)]);
    alu3("rot_r_32", &[(1, 33, s)]);
    // Immediate shift counts.
    alu("shlo_l_imm_64 r3, r1, 65", &[(1, 1)], (3, 2));
    alu("shlo_r_imm_64 r3, r1, -1", &[(1, top)], (3, 1));
    alu("shlo_l_imm_32 r3, r1, 33", &[(1, 1)], (3, 2));
    alu("shar_r_imm_32 r3, r1, 63", &[(1, 0x8000_0000)], (3, MAX));
    alu("rot_r_64_imm r3, r1, 65", &[(1, 1)], (3, top));
    // `_alt`: the immediate is shifted by the register.
    alu("shlo_l_imm_alt_64 r3, r1, 1", &[(1, 68)], (3, 16));
    alu("shlo_r_imm_alt_64 r3, r1, -1", &[(1, 65)], (3, MAX >> 1));
    alu("shar_r_imm_alt_64 r3, r1, -16", &[(1, 66)], (3, neg(-4)));
    alu("rot_r_64_imm_alt r3, r1, 1", &[(1, 65)], (3, top));
    alu("shlo_l_imm_alt_32 r3, r1, 1", &[(1, 63)], (3, s));
    let min32 = "0x80000000";
    alu(
        &format!("shlo_r_imm_alt_32 r3, r1, {min32}"),
        &[(1, 33)],
        (3, 0x4000_0000),
    );
    alu(
        &format!("shar_r_imm_alt_32 r3, r1, {min32}"),
        &[(1, 36)],
        (3, 0xFFFF_FFFF_F800_0000),
    );
    alu("rot_r_32_imm_alt r3, r1, 1", &[(1, 33)], (3, s));
}

#[test]
fn cmov_keeps_the_destination_when_the_condition_is_false() {
    let old = 0x77;
    let cases: &[(&str, u64, u64)] = &[
        ("cmov_iz r3, r1, r2", 0, 0x55),
        ("cmov_iz r3, r1, r2", 1, old),
        ("cmov_iz r3, r1, r2", 0x1_0000_0000, old),
        ("cmov_nz r3, r1, r2", 0, old),
        ("cmov_nz r3, r1, r2", 0x1_0000_0000, 0x55),
        ("cmov_iz_imm r3, r2, 9", 0, 9),
        ("cmov_iz_imm r3, r2, 9", 1, old),
        ("cmov_nz_imm r3, r2, -1", 0, old),
        ("cmov_nz_imm r3, r2, -1", 5, MAX),
    ];
    for &(line, cond, result) in cases {
        alu(line, &[(1, 0x55), (2, cond), (3, old)], (3, result));
    }
}

#[test]
fn high_products_min_max_and_signed_compares() {
    let min = i64::MIN as u64;
    alu3(
        "mul_upper_u_u",
        &[(MAX, MAX, MAX - 1), (1 << 32, 1 << 32, 1)],
    );
    alu3(
        "mul_upper_s_s",
        &[(min, min, 1 << 62), (MAX, 1, MAX), (neg(-1), neg(-1), 0)],
    );
    // Signed × unsigned, floored: -1 · (2^64 - 1) / 2^64 → -1.
    alu3("mul_upper_s_u", &[(MAX, MAX, MAX), (2, MAX, 1)]);
    alu3("max", &[(MAX, 1, 1), (min, 0, 0)]);
    alu3("max_u", &[(MAX, 1, MAX)]);
    alu3("min", &[(MAX, 1, MAX), (min, 0, min)]);
    alu3("min_u", &[(MAX, 1, 1)]);
    alu3("set_lt_s", &[(MAX, 0, 1), (0, MAX, 0)]);
    alu3("set_lt_u", &[(MAX, 0, 0), (0, MAX, 1)]);
    alu("set_lt_s_imm r2, r1, 0x80000000", &[(1, 0)], (2, 0));
    alu("set_gt_s_imm r2, r1, -1", &[(1, 0)], (2, 1));
}

#[test]
fn loads_zero_or_sign_extend() {
    let src = "
        load_u8 r1, 0x20000
        load_i8 r2, 0x20000
        load_u16 r3, 0x20000
        load_i16 r4, 0x20000
        load_u32 r5, 0x20000
        load_i32 r6, 0x20000
        load_u64 r7, 0x20000
        load_i8 r8, 0x20008
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[]);
    vm.memory_mut()
        .set_access(0x20000, 4096, Access::Read)
        .unwrap();
    vm.memory_mut()
        .host_write(
            0x20000,
            &[0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x7F],
        )
        .unwrap();
    let exit = vm.run();
    let want = regs(&[
        (1, 0x81),
        (2, 0xFFFF_FFFF_FFFF_FF81),
        (3, 0x8281),
        (4, 0xFFFF_FFFF_FFFF_8281),
        (5, 0x8483_8281),
        (6, 0xFFFF_FFFF_8483_8281),
        (7, 0x8887_8685_8483_8281),
        (8, 0x7F),
    ]);
    check(&vm, exit, (Halt, pcs[8], GAS - 9, want), "loads");
}

#[test]
fn unsigned_compares_use_the_sign_extended_immediate() {
    let src = "
        branch_lt_u_imm r1, -1, taken
        trap
    taken:
        jump_ind r0, 0
    ";
    for r1 in [0, 1, 0xFFFF_FFFF, 1 << 63, MAX - 1] {
        let (mut vm, pcs) = start(src, &[(1, r1)]);
        let exit = vm.run();
        let what = format!("branch_lt_u_imm {r1:#x} < -1");
        check(&vm, exit, (Halt, pcs[2], GAS - 2, regs(&[(1, r1)])), &what);
    }
    let (mut vm, pcs) = start(src, &[(1, MAX)]);
    let exit = vm.run();
    let want = (Panic, pcs[1], GAS - 2, regs(&[(1, MAX)]));
    check(&vm, exit, want, "branch_lt_u_imm u64::MAX < -1");

    // 0x80000000 is the 32-bit pattern of -2^31: compared as 0xFFFFFFFF80000000.
    let src = "
        branch_gt_u_imm r1, 0x80000000, taken
        trap
    taken:
        jump_ind r0, 0
    ";
    let (mut vm, pcs) = start(src, &[(1, 0xFFFF_FFFF)]);
    let exit = vm.run();
    let want = (Panic, pcs[1], GAS - 2, regs(&[(1, 0xFFFF_FFFF)]));
    check(&vm, exit, want, "branch_gt_u_imm 0xffffffff");
    let (mut vm, pcs) = start(src, &[(1, MAX)]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Halt, pcs[2], GAS - 2, regs(&[(1, MAX)])),
        "gt_u max",
    );

    alu("set_lt_u_imm r2, r1, -1", &[(1, 0xFFFF_FFFF)], (2, 1));
    alu("set_lt_u_imm r2, r1, -1", &[(1, MAX)], (2, 0));
    alu(
        "set_lt_u_imm r2, r1, 0x80000000",
        &[(1, 0x8000_0000)],
        (2, 1),
    );
    alu("set_gt_u_imm r2, r1, -2", &[(1, MAX)], (2, 1));
    alu("set_gt_u_imm r2, r1, -2", &[(1, 0xFFFF_FFFF)], (2, 0));
    alu("and_imm r2, r1, -16", &[(1, MAX)], (2, MAX - 15));
}

/// F12's destination is the low nibble of byte 2 (as PolkaVM), clamped to 12.
#[test]
fn three_register_destination_uses_the_low_nibble_of_byte_2() {
    for (byte2, dest) in [
        (0xF3u8, 3usize),
        (0x0D, 12),
        (0x5F, 12),
        (0x80, 0),
        (0x07, 7),
    ] {
        // add_64 (200) with r_A = r1, r_B = r2 (byte 1 = 0x21), then jump_ind r0, 0 (50 00).
        let code = [200, 0x21, byte2, 50, 0x00];
        let blob = [&[0u8, 0, code.len() as u8][..], &code, &[0b0000_1001]].concat();
        let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
        let mut vm = prepare(program).instantiate().unwrap();
        vm.set_gas(GAS);
        vm.set_regs(regs(&[(1, 5), (2, 7)]));
        let exit = vm.run();
        let mut want = regs(&[(1, 5), (2, 7)]);
        want[dest] = 12;
        if dest == 0 {
            // r0 was the halt address: it is overwritten, so the jump no longer halts.
            check(&vm, exit, (Panic, 3, GAS - 2, want), "byte2 0x80");
        } else {
            check(
                &vm,
                exit,
                (Halt, 3, GAS - 2, want),
                &format!("byte2 {byte2:#x}"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Control flow
// ---------------------------------------------------------------------------------------------

#[test]
fn load_imm_jump_to_an_invalid_target_writes_the_register_then_panics() {
    // Target in the middle of a block.
    let src = "
        load_imm_jump r1, 42, mid
        load_imm r2, 1
    mid:
        load_imm r3, 2
        trap
    ";
    let (mut vm, pcs) = start(src, &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, pcs[0], GAS - 1, regs(&[(1, 42)])),
        "mid-block",
    );
    // Target in the middle of the load_imm_jump itself, and past the end of the code.
    for target in ["@1", "@1000"] {
        let (mut vm, _) = start(&format!("load_imm_jump r1, 42, {target}\ntrap"), &[]);
        let exit = vm.run();
        check(&vm, exit, (Panic, 0, GAS - 1, regs(&[(1, 42)])), target);
    }
}

#[test]
fn load_imm_jump_ind_computes_the_target_from_the_old_register() {
    let src = "
    .jump_table good, bad
        load_imm_jump_ind r1, r1, 4, 0
        trap
    good:
        jump_ind r0, 0
    bad:
        trap
    ";
    // Old r1 = 2 → good (entry 0); the new value 4 would name `bad`.
    let (mut vm, pcs) = start(src, &[(1, 2)]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Halt, pcs[2], GAS - 2, regs(&[(1, 4)])),
        "ra == rb",
    );

    // An invalid target: the register is still written, then panic at the jump.
    let (mut vm, _) = start("load_imm_jump_ind r2, r1, 5, 0\ntrap", &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, 0, GAS - 1, regs(&[(2, 5)])),
        "bad target",
    );
}

#[test]
fn branches_to_a_non_block_start_panic_at_the_branch() {
    let src = "
        load_imm r1, 1
        branch_eq_imm r1, 1, mid
        load_imm r2, 2
    mid:
        load_imm r3, 3
        trap
    ";
    let (mut vm, pcs) = start(src, &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, pcs[1], GAS - 2, regs(&[(1, 1)])),
        "mid-block",
    );

    // Not taken: the bad target does not matter; the fall-through block is paid and runs.
    let (mut vm, pcs) = start(&src.replace("r1, 1, mid", "r1, 0, mid"), &[]);
    let exit = vm.run();
    let want = (Panic, pcs[4], GAS - 5, regs(&[(1, 1), (2, 2), (3, 3)]));
    check(&vm, exit, want, "not taken");

    // Into the middle of an instruction: `load_imm r2, 2` occupies pcs 6..9.
    let src = "load_imm r1, 1\nbranch_ne r1, r0, @7\nload_imm r2, 2\nload_imm r3, 3\ntrap";
    let (mut vm, pcs) = start(src, &[]);
    assert_eq!(pcs, [0, 3, 6, 9, 12]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, pcs[1], GAS - 2, regs(&[(1, 1)])),
        "mid-insn",
    );

    // To the end of the code (where only the implicit trap stands).
    let (mut vm, _) = start("load_imm r1, 1\njump @5", &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, 3, GAS - 2, regs(&[(1, 1)])),
        "jump to the end",
    );

    // A jump to itself is fine only when it is a block start (pc 0 is).
    let (mut vm, _) = start("jump @1\ntrap", &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, 0, GAS - 1, regs(&[])),
        "jump into itself",
    );
}

/// The peer's bug class: a loop whose back edge lands in the middle of its own block. The
/// branch panics (no re-entry without paying for the block), with the gas of the blocks entered.
#[test]
fn a_back_edge_into_the_middle_of_a_block_panics_at_the_branch() {
    let src = "
        load_imm r1, 3
        fallthrough
    top:
        add_imm_64 r1, r1, -1
    mid:
        add_imm_64 r2, r2, 1
        branch_ne_imm r1, 0, mid
        trap
    ";
    let (mut vm, pcs) = start(src, &[]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Panic, pcs[4], GAS - 5, regs(&[(1, 2), (2, 1)])),
        "back edge mid-block",
    );
}

#[test]
fn dynamic_jumps() {
    let src = "
    .jump_table target, mid
        jump_ind r1, 0
        trap
    target:
        load_imm r2, 7
    mid:
        load_imm r3, 8
        jump_ind r0, 0
    ";
    // 0, odd, past the table, a table entry that is not a block start: panic at the jump_ind.
    // (Also addresses next to the halt address and at the top of the 32-bit range.)
    for r1 in [0, 1, 3, 6, 4, 0x1_0000_0000, 0xFFFF_FFFF, 0x8000_0000, 0xFFFF_0002, 0xFFFE_FFFF] {
        let (mut vm, _) = start(src, &[(1, r1)]);
        let exit = vm.run();
        let what = format!("jump_ind {r1:#x}");
        check(&vm, exit, (Panic, 0, GAS - 1, regs(&[(1, r1)])), &what);
    }
    // The halt address (taken mod 2^32): halt at the jump_ind itself.
    for r1 in [HALT, 0xFFFF_FFFF_FFFF_0000] {
        let (mut vm, _) = start(src, &[(1, r1)]);
        let exit = vm.run();
        let what = format!("jump_ind {r1:#x}");
        check(&vm, exit, (Halt, 0, GAS - 1, regs(&[(1, r1)])), &what);
    }
    // A valid entry (also mod 2^32): the target block is paid on entry.
    for r1 in [2, 0x7_0000_0002] {
        let (mut vm, pcs) = start(src, &[(1, r1)]);
        let exit = vm.run();
        let want = (Halt, pcs[4], GAS - 4, regs(&[(1, r1), (2, 7), (3, 8)]));
        check(&vm, exit, want, &format!("jump_ind {r1:#x}"));
    }
    // The immediate is added before the reduction mod 2^32.
    let (mut vm, _) = start("jump_ind r1, -2", &[(1, 0xFFFF_0002)]);
    let exit = vm.run();
    check(
        &vm,
        exit,
        (Halt, 0, GAS - 1, regs(&[(1, 0xFFFF_0002)])),
        "r1 - 2",
    );
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

#[test]
fn accesses_wrap_past_4_gib() {
    let src = "
        store_ind_u32 r1, r2, 0
        load_ind_u32 r3, r2, 0
        load_u16 r4, 0
        store_u32 r5, -1
        load_u64 r6, -2
        load_ind_u8 r8, r9, 0
        jump_ind r0, 0
    ";
    let inputs = [
        (1, 0x1122_3344),
        (2, MAX - 1),
        (5, 0xAABB_CCDD),
        (9, 0x5_0000_0001),
    ];
    let (mut vm, pcs) = start(src, &inputs);
    vm.memory_mut().set_access(0, 4096, Access::Write).unwrap();
    vm.memory_mut()
        .set_access(0xFFFF_F000, 4096, Access::Write)
        .unwrap();
    let exit = vm.run();
    let mut want = regs(&inputs);
    want[3] = 0x1122_3344;
    want[4] = 0x1122;
    want[6] = 0x0000_00AA_BBCC_DD44;
    want[8] = 0xBB;
    check(&vm, exit, (Halt, pcs[6], GAS - 7, want), "wrapping");
    assert_eq!(read(&vm, 0xFFFF_FFFE, 2), [0x44, 0xDD]);
    assert_eq!(read(&vm, 0, 4), [0xCC, 0xBB, 0xAA, 0x00]);
}

#[test]
fn wrapping_into_unmapped_page_zero_panics() {
    // The lowest bad address is 0, below 64 KiB: a panic, not a page fault, even when the last
    // page is unmapped too.
    for last_page in [Access::Write, Access::None] {
        for line in ["store_ind_u32 r1, r2, 0", "load_ind_u32 r3, r2, 0"] {
            let inputs = [(1, 0x1122_3344), (2, MAX - 1), (3, 0x99)];
            let (mut vm, pcs) = start(&format!("{line}\njump_ind r0, 0"), &inputs);
            vm.memory_mut()
                .set_access(0xFFFF_F000, 4096, last_page)
                .unwrap();
            let exit = vm.run();
            let what = format!("{line} (last page {last_page:?})");
            check(&vm, exit, (Panic, pcs[0], GAS - 2, regs(&inputs)), &what);
            assert_eq!(read(&vm, 0xFFFF_FFFE, 2), [0, 0], "{what}");
        }
    }
}

#[test]
fn split_accesses_fault_on_the_bad_page_and_change_nothing() {
    let src = "
        load_imm r5, 1
        store_u64 r1, 0x20ffc
        load_imm r6, 2
        jump_ind r0, 0
    ";
    let value = 0x0102_0304_0506_0708u64;
    let (mut vm, pcs) = start(src, &[(1, value)]);
    vm.memory_mut()
        .set_access(0x20000, 4096, Access::Write)
        .unwrap();
    let exit = vm.run();
    let want = (
        PageFault(0x21000),
        pcs[1],
        GAS - 4,
        regs(&[(1, value), (5, 1)]),
    );
    check(&vm, exit, want, "split store");
    assert_eq!(read(&vm, 0x20FF8, 8), [0; 8], "nothing written");
    assert_eq!(vm.memory().page_access(0x21000), Access::None);

    // Map the second page: the store is retried, completes, and the block is not paid again.
    vm.memory_mut()
        .set_access(0x21000, 4096, Access::Write)
        .unwrap();
    let exit = vm.run();
    let want = (Halt, pcs[3], GAS - 4, regs(&[(1, value), (5, 1), (6, 2)]));
    check(&vm, exit, want, "split store resumed");
    assert_eq!(read(&vm, 0x20FFC, 8), value.to_le_bytes());

    // The same split load, into a register that must keep its value.
    let src = "load_u64 r3, 0x20ffc\njump_ind r0, 0";
    let (mut vm, pcs) = start(src, &[(3, 0xAAAA)]);
    vm.memory_mut()
        .set_access(0x20000, 4096, Access::Read)
        .unwrap();
    vm.memory_mut().host_write(0x20FFC, &[1, 2, 3, 4]).unwrap();
    let exit = vm.run();
    let want = (PageFault(0x21000), pcs[0], GAS - 2, regs(&[(3, 0xAAAA)]));
    check(&vm, exit, want, "split load");

    // Only the first page bad: the fault names the first page.
    let src = "store_u64 r1, 0x20ffc\njump_ind r0, 0";
    let (mut vm, pcs) = start(src, &[(1, value)]);
    vm.memory_mut()
        .set_access(0x21000, 4096, Access::Write)
        .unwrap();
    let exit = vm.run();
    let want = (PageFault(0x20000), pcs[0], GAS - 2, regs(&[(1, value)]));
    check(&vm, exit, want, "first page bad");
    assert_eq!(read(&vm, 0x21000, 4), [0; 4]);
}

#[test]
fn writes_to_read_only_pages_panic() {
    for line in [
        "store_imm_u8 0x20000, 1",
        "store_u8 r1, 0x20000",
        "store_u64 r1, 0x1fffc",
    ] {
        let (mut vm, pcs) = start(&format!("{line}\njump_ind r0, 0"), &[(1, MAX)]);
        // The read-only page is the lowest bad one in every case (0x1f000 is writable).
        vm.memory_mut()
            .set_access(0x1F000, 4096, Access::Write)
            .unwrap();
        vm.memory_mut()
            .set_access(0x20000, 4096, Access::Read)
            .unwrap();
        vm.memory_mut().host_write(0x20000, &[9]).unwrap();
        let exit = vm.run();
        check(&vm, exit, (Panic, pcs[0], GAS - 2, regs(&[(1, MAX)])), line);
        assert_eq!(read(&vm, 0x1FFFC, 5), [0, 0, 0, 0, 9], "{line}");
    }
    // Reading it is fine.
    let (mut vm, pcs) = start("load_u8 r1, 0x20000\njump_ind r0, 0", &[]);
    vm.memory_mut()
        .set_access(0x20000, 4096, Access::Read)
        .unwrap();
    vm.memory_mut().host_write(0x20000, &[9]).unwrap();
    let exit = vm.run();
    check(&vm, exit, (Halt, pcs[1], GAS - 2, regs(&[(1, 9)])), "read");
}

#[test]
fn accesses_below_64_kib_panic_instead_of_faulting() {
    let cases: &[(&str, ExitReason)] = &[
        ("load_u8 r1, 0xffff", Panic),
        ("store_u8 r1, 0x1000", Panic),
        ("load_u8 r1, 0", Panic),
        ("load_u16 r1, 0xffff", Panic), // second byte in the mapped 0x10000 page
        ("load_u8 r1, 0x10000", PageFault(0x10000)),
    ];
    for &(line, exit_want) in cases {
        let (mut vm, pcs) = start(&format!("{line}\njump_ind r0, 0"), &[(1, 0x5A)]);
        if line.contains("0xffff") {
            vm.memory_mut()
                .set_access(0x10000, 1, Access::Write)
                .unwrap();
        }
        let exit = vm.run();
        check(
            &vm,
            exit,
            (exit_want, pcs[0], GAS - 2, regs(&[(1, 0x5A)])),
            line,
        );
    }
}

}
