//! The kernel ABI (`docs/kernel.md`), pinned: every operation's success and error paths, CALL
//! statuses, gas conservation and limits. Every scenario runs on both backends and must give
//! the same transcript (exits, registers, gas) on each.
//!
//! Guest programs start at pc 0 in the root (`φ0` = halt address) and in children (`φ0` = 0):
//! each begins with `branch_eq_imm r0, 0, child`.

use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::host_calls::codes::{FULL, HUH, LOW, OOB, WHAT};
use kiln_pvm::kernel::abi::status;
use kiln_pvm::kernel::{Kernel, KernelConfig, KernelExit};
use kiln_pvm::{Backend, Profile, StandardProgram};

const GAS: i64 = 10_000_000;

fn program(src: &str) -> StandardProgram {
    let src = if src.contains(".stack_size") {
        src.to_string()
    } else {
        format!(".stack_size 4096\n{src}")
    };
    match assemble(&src, Profile::JAM_07.isa).unwrap_or_else(|e| panic!("{e}\n{src}")) {
        Assembled::Standard(p) => p,
        Assembled::Blob(_) => unreachable!("a stack size makes a standard program"),
    }
}

/// What the embedder sees at one exit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stop {
    exit: KernelExit,
    regs: [u64; 13],
    gas: i64,
    total_gas: i64,
    vms: usize,
    depth: usize,
    pc: u32,
}

fn stop(kernel: &Kernel, exit: KernelExit) -> Stop {
    Stop {
        exit,
        regs: kernel.regs(),
        gas: kernel.gas(),
        total_gas: kernel.total_gas(),
        vms: kernel.vm_count(),
        depth: kernel.call_depth(),
        pc: kernel.pc(),
    }
}

/// Runs until a final exit (or an out-of-gas, page fault or unexpected host call, which end
/// the transcript). Host call 0 (`gas`) is a probe: recorded, and answered with `φ7` = the
/// active VM's gas, free of charge.
fn transcript_on(src: &str, backend: Backend, gas: i64, config: KernelConfig) -> Vec<Stop> {
    let program = program(src);
    let mut kernel = Kernel::with_config(&program, &[], gas, Profile::JAM_07, backend, config)
        .expect("the kernel starts");
    assert_eq!(kernel.backend(), backend);
    let mut out = Vec::new();
    for _ in 0..1000 {
        let exit = kernel.run();
        if let Err(e) = kernel.check_invariants() {
            panic!("after {exit:?} on {backend:?}: {e}");
        }
        out.push(stop(&kernel, exit.clone()));
        match exit {
            KernelExit::HostCall(0) => {
                let gas = kernel.gas();
                kernel.set_reg(7, gas as u64);
            }
            _ => return out,
        }
    }
    panic!("more than 1000 exits");
}

/// The transcript on every backend, which must agree.
fn transcript_with(src: &str, gas: i64, config: KernelConfig) -> Vec<Stop> {
    let mut first: Option<Vec<Stop>> = None;
    for &backend in Backend::available() {
        let t = transcript_on(src, backend, gas, config);
        match &first {
            None => first = Some(t),
            Some(f) => assert_eq!(&t, f, "{backend:?} differs from the interpreter"),
        }
    }
    first.expect("at least one backend")
}

fn transcript(src: &str) -> Vec<Stop> {
    transcript_with(src, GAS, KernelConfig::default())
}

/// The probes of a transcript that ended in a halt.
fn probes(src: &str) -> Vec<Stop> {
    let mut t = transcript(src);
    let last = t.pop().expect("an exit");
    assert!(
        matches!(last.exit, KernelExit::Halt(_)),
        "expected a halt, got {last:?}"
    );
    t
}

/// `φ7` at every probe of a transcript that ended in a halt (the probe records registers
/// before answering).
fn statuses(src: &str) -> Vec<u64> {
    probes(src).iter().map(|p| p.regs[7]).collect()
}

/// `ecalli` of kernel operation `name`.
fn op(name: &str) -> String {
    let n = match name {
        "REPLY" => 256,
        "CREATE" => 257,
        "DROP" => 258,
        "GRANT" => 259,
        "REVOKE" => 260,
        "MAP" => 261,
        "UNMAP" => 262,
        "SPLIT" => 263,
        "RETYPE" => 264,
        "COMPILE" => 265,
        "INSPECT" => 266,
        other => panic!("no operation {other}"),
    };
    format!("ecalli {n}")
}

/// Sets `φ7..` to `args` (each a `load_imm_64` operand) and runs operation `name`.
fn call_op(name: &str, args: &[&str]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        s += &format!("load_imm_64 r{}, {a}\n", 7 + i);
    }
    s + &op(name) + "\n"
}

/// As [`call_op`], followed by a probe.
fn probed(name: &str, args: &[&str]) -> String {
    call_op(name, args) + "ecalli 0\n"
}

/// Root preamble: copy the root's own CODE (254) to slot 40, then CREATE a child at `slot`.
fn create_child(slot: u32) -> String {
    call_op("GRANT", &["254", "-1", "40", "0"])
        + &call_op("CREATE", &["40", &slot.to_string(), "0x10000000000", "0"])
}

/// CALL of `slot` with `φ7 = arg`, no cap, all gas.
fn call(slot: u32, arg: &str) -> String {
    format!("load_imm_64 r7, {arg}\nload_imm r11, -1\nload_imm r12, -1\necalli {slot}\n")
}

const HALT: &str = "jump_ind r0, 0\n";
const REPLY: &str = "load_imm r11, -1\necalli 256\n";

#[test]
fn recursive_fibonacci_creates_and_calls_a_child_per_call() {
    let p = probes(&kiln_pvm::testing::kernel_programs::fib(12));
    assert_eq!(p.len(), 1);
    let probe = &p[0];
    assert_eq!((probe.regs[7], probe.regs[8]), (status::OK, 144), "fib(12)");
    assert_eq!(
        probe.vms, 2,
        "children are dropped after use; the first child is alive"
    );
    assert_eq!(probe.depth, 1);
    assert_eq!(probe.total_gas, probe.gas, "only the root is on the stack");
}

#[test]
fn calls_and_replies_in_a_loop_conserve_gas() {
    let src = kiln_pvm::testing::kernel_programs::call_reply_loop(1000);
    let t = transcript(&src);
    assert!(matches!(t[0].exit, KernelExit::Halt(_)), "{:?}", t[0].exit);
    // Per-instruction gas, paid per block. Set-up: the first branch (1), the block up to the
    // `fallthrough` (7) and CREATE (10). Each round: the loop block (5) and CALL (10), the
    // child's block `load_imm, ecalli, jump` (3) and REPLY (10); the first round also pays the
    // child's first branch (1). Then the halting jump (1). Nothing else is lost anywhere.
    let used = GAS - t[0].gas;
    assert_eq!(used, 1 + 7 + 10 + 1 + 1000 * (5 + 10 + 3 + 10) + 1);
}

#[test]
fn gp_host_calls_reach_the_embedder_and_resume_in_place() {
    let src = format!(
        "ecalli 26\n ecalli 0\n ecalli 27\n ecalli 0\n {}ecalli 3\n ecalli 100\n jump_ind r0, 0",
        probed("INSPECT", &["100"])
    );
    let program = program(&src);
    for &backend in Backend::available() {
        let mut k = Kernel::new(&program, &[], GAS, Profile::JAM_07, backend).unwrap();
        assert_eq!(k.run(), KernelExit::HostCall(26));
        k.set_reg(7, 1234);
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!(k.reg(7), 1234, "the host's write stays in place");
        let before = k.gas();
        assert_eq!(k.run(), KernelExit::HostCall(0), "27 is not a GP 0.7 id");
        assert_eq!(k.reg(7), WHAT);
        assert_eq!(
            before - k.gas(),
            10,
            "an empty slot costs 10, as an unknown host call"
        );
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!(
            (k.reg(7), k.reg(8)),
            (status::OK, 6),
            "log is a PROTOCOL cap"
        );
        assert_eq!(k.run(), KernelExit::HostCall(3));
        assert_eq!(k.run(), KernelExit::HostCall(100));
        assert!(matches!(k.run(), KernelExit::Halt(_)));
    }
}

#[test]
fn the_root_halts_with_its_output_and_stays_halted() {
    let src = "
        .rw_data
        .string \"kiln\"
        .code
        load_imm r7, 0x20000
        load_imm r8, 4
        jump_ind r0, 0
    ";
    let program = program(src);
    for &backend in Backend::available() {
        let mut k = Kernel::new(&program, &[], GAS, Profile::JAM_07, backend).unwrap();
        assert_eq!(k.run(), KernelExit::Halt(b"kiln".to_vec()));
        assert_eq!(k.run(), KernelExit::Halt(b"kiln".to_vec()));
    }
    // An unreadable output range halts with no output.
    let t = transcript("load_imm r7, 0x50000\n load_imm r8, 4\n jump_ind r0, 0");
    assert_eq!(t.last().unwrap().exit, KernelExit::Halt(Vec::new()));
}

#[test]
fn reply_returns_results_and_every_unused_gas_unit() {
    // The child replies with φ7..φ10 = 7, 8, 9, 10.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}ecalli 0\n{}ecalli 0\n{HALT}
child:
    load_imm r7, 7
    load_imm r8, 8
    load_imm r9, 9
    load_imm r10, 10
    {REPLY}trap
",
        create_child(50),
        call(50, "1"),
    );
    let p = probes(&src);
    let (before, after) = (&p[0], &p[1]);
    assert_eq!(after.regs[7], status::OK);
    assert_eq!(&after.regs[8..12], &[7, 8, 9, 10]);
    // Per-instruction gas, paid per block at entry: the root's blocks were paid already, so
    // the difference is CALL (10), the child's blocks (`branch_eq_imm`: 1; the rest up to
    // `trap`: 7) and REPLY (10). Everything else the child was handed came back.
    assert_eq!(before.gas - after.gas, 10 + 1 + 7 + 10);
    assert_eq!(after.total_gas, after.gas);
    assert_eq!(after.vms, 2);
}

#[test]
fn a_callee_that_replied_continues_after_its_reply_with_new_arguments() {
    // The child counts how often it was called (r2 survives between calls) and returns
    // argument + count.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}ecalli 0\n{}ecalli 0\n{HALT}
child:
    add_imm_64 r2, r2, 1
    add_64 r7, r7, r2
    {REPLY}jump child
",
        create_child(50),
        call(50, "100"),
        call(50, "200"),
    );
    let p = probes(&src);
    assert_eq!(p[0].regs[8], 101);
    assert_eq!(p[1].regs[8], 202);
}

/// Children: `φ7` = 0 traps, 1 loads from an unmapped page, anything else spins.
const MISBEHAVING_CHILD: &str = "
child:
    branch_eq_imm r7, 0, panic
    branch_eq_imm r7, 1, fault
spin:
    jump spin
panic:
    trap
fault:
    load_u32 r4, 0x20004
    load_imm r11, -1
    ecalli 256
    trap
";

#[test]
fn a_childs_panic_fault_and_out_of_gas_reach_the_caller_as_statuses() {
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}{}ecalli 0\n{}ecalli 0
    load_imm_64 r7, 2\n load_imm r11, -1\n load_imm r12, 500\n ecalli 52
    ecalli 0
    {}ecalli 0
    load_imm_64 r7, 0\n load_imm r11, -1\n load_imm r12, 100\n ecalli 51
    ecalli 0
    {HALT}{MISBEHAVING_CHILD}",
        create_child(50),
        call_op("CREATE", &["40", "51", "0x10000000000", "0"]),
        call_op("CREATE", &["40", "52", "0x10000000000", "0"]),
        call(50, "0"),
        call(51, "1"),
        call(50, "0"),
    );
    let p = probes(&src);
    let s: Vec<u64> = p.iter().map(|p| p.regs[7]).collect();
    assert_eq!(
        s,
        [
            status::PANIC,
            status::FAULT,
            status::OOG,
            HUH,
            status::FAULT
        ],
        "a finished VM cannot be called; a faulted one retries the access"
    );
    assert_eq!(
        p[1].regs[8], 0x20000,
        "FAULT reports the page address in φ8"
    );
    for probe in &p {
        assert_eq!(probe.depth, 1, "a child's exit never ends the invocation");
        assert_eq!(probe.vms, 4);
    }
    // Out of gas: the spinning child used its 500 and what it had left (less than one block
    // of `jump`) came back; CALL and the blocks around it cost a few more.
    let spent = p[1].gas - p[2].gas;
    assert!((500..500 + 40).contains(&spent), "{spent}");
}

#[test]
fn a_stopped_callee_resumes_where_it_stopped() {
    // The child spins `r7` times, then replies with 42; first called with too little gas.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}
    load_imm_64 r7, 50\n load_imm r11, -1\n load_imm r12, 60\n ecalli 50
    ecalli 0
    load_imm_64 r7, 999\n load_imm r11, -1\n load_imm r12, -1\n ecalli 50
    ecalli 0
    {HALT}
child:
    move_reg r5, r7
    fallthrough
loop:
    add_imm_64 r5, r5, -1
    branch_ne_imm r5, 0, loop
    load_imm r7, 42
    {REPLY}trap
",
        create_child(50),
    );
    let p = probes(&src);
    assert_eq!(p[0].regs[7], status::OOG);
    assert_eq!((p[1].regs[7], p[1].regs[8]), (status::OK, 42));
    // Had the second CALL passed 999 as an argument, the loop would have run on.
}

#[test]
fn operation_errors_change_only_phi7_and_gas() {
    let src = format!(
        "load_imm r2, 22\n load_imm r3, 33\n{}{}{}ecalli 0\n{}ecalli 300\n ecalli 0\n{}{}{}{}{HALT}",
        probed("CREATE", &["1", "50", "0", "0"]),   // slot 1 is PROTOCOL: WHAT
        probed("CREATE", &["254", "253", "0", "0"]), // destination occupied: HUH
        op("REPLY") + "\n",                            // REPLY in the root: HUH
        probed("DROP", &["77"]),                       // empty slot: WHAT
        probed("INSPECT", &["256"]),                   // no such slot: WHAT
        probed("GRANT", &["253", "-1", "60", "5"]),    // unknown mode: WHAT
        probed("MAP", &["253", "0x100", "2"]),         // not DATA: WHAT
        probed("CREATE", &["254", "0x100", "0", "0"]), // no such destination slot: WHAT
    );
    let p = probes(&src);
    let s: Vec<u64> = p.iter().map(|p| p.regs[7]).collect();
    assert_eq!(s, [WHAT, HUH, HUH, WHAT, WHAT, WHAT, WHAT, WHAT, WHAT]);
    for probe in &p {
        assert_eq!((probe.regs[2], probe.regs[3]), (22, 33));
        assert_eq!(probe.vms, 1, "nothing was created");
    }
}

#[test]
fn an_operation_the_caller_cannot_pay_for_is_its_out_of_gas_and_is_retried() {
    let src = format!(
        "load_imm r2, 1\n{}ecalli 0\n{HALT}",
        call_op("INSPECT", &["254"])
    );
    let program = program(&src);
    for &backend in Backend::available() {
        // One block of 5 instructions (up to the halting jump), then 9 gas: INSPECT needs 10.
        let mut k = Kernel::new(&program, &[], 5 + 9, Profile::JAM_07, backend).unwrap();
        assert_eq!(k.run(), KernelExit::OutOfGas);
        assert_eq!(k.gas(), 9, "nothing was taken");
        let pc_of_ecalli = k.pc();
        k.set_gas(10);
        assert_eq!(k.run(), KernelExit::HostCall(0), "retried and paid");
        assert_eq!(
            (k.reg(7), k.reg(8), k.gas()),
            (status::OK, 3, 0),
            "CODE is type 3"
        );
        assert!(k.pc() > pc_of_ecalli);
    }
}

#[test]
fn data_caps_carry_memory_between_vms() {
    // Root: RETYPE 2 pages into 60, MAP at page 0x100 read-write, write 41, UNMAP, pass the cap
    // to the child with CALL; the child maps it at 0x300, adds 1, replies passing it back; the
    // root moves it from its IPC slot to 60, maps it read-only at 0x200 and reads.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}
    load_imm r3, 41
    store_u32 r3, 0x100000
    {}load_imm r7, 0\n load_imm r11, 60\n load_imm r12, -1\n ecalli 50
    ecalli 0
    {}{}load_u32 r5, 0x200000
    ecalli 0
    {HALT}
child:
    {}load_u32 r3, 0x300000
    add_imm_32 r3, r3, 1
    store_u32 r3, 0x300000
    load_imm r11, 255
    ecalli 256
    trap
",
        create_child(50),
        probed("RETYPE", &["253", "2", "60"]),
        probed("MAP", &["60", "0x100", "2"]),
        probed("UNMAP", &["60"]),
        probed("GRANT", &["255", "-1", "60", "1"]),
        probed("MAP", &["60", "0x200", "1"]),
        call_op("MAP", &["255", "0x300", "2"]),
    );
    let p = probes(&src);
    let s: Vec<u64> = p.iter().map(|p| p.regs[7]).collect();
    assert_eq!(s[..6], [0, 0, 0, status::OK, 0, 0]);
    assert_eq!(p[6].regs[5], 42);
}

#[test]
fn mapping_rules_are_enforced() {
    let src = format!(
        "{}{}{}{}{}{}{}{}{}{}{}{HALT}",
        probed("RETYPE", &["253", "4", "60"]),
        probed("MAP", &["60", "0xF", "2"]), // below 64 KiB: OOB
        probed("MAP", &["60", "0xFFFFE", "2"]), // past 4 GiB: OOB
        probed("MAP", &["60", "0xFEFDF", "2"]), // over the stack: HUH
        probed("MAP", &["60", "0x100", "3"]), // bad access: WHAT
        probed("SPLIT", &["60", "4", "61"]), // kept = pages: HUH
        probed("SPLIT", &["60", "1", "61"]), // 1 + 3
        probed("MAP", &["61", "0x100", "2"]), // pages 0x100..0x103
        probed("SPLIT", &["61", "1", "62"]), // mapped: HUH
        probed("RETYPE", &["253", "100000", "63"]), // over the budget: LOW
        probed("MAP", &["60", "0x102", "1"]), // overlaps 61's mapping: HUH
    );
    assert_eq!(
        statuses(&src),
        [0, OOB, OOB, HUH, WHAT, HUH, 0, 0, HUH, LOW, HUH]
    );
}

#[test]
fn dropping_returns_pages_and_destroys_owned_vms() {
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}ecalli 0\n{}ecalli 0\n{}ecalli 0\n{HALT}
child:
    {REPLY}trap
",
        create_child(50),
        call_op("RETYPE", &["253", "8", "60"]),
        // Give the page cap to the child, then drop the child: its pages come back.
        call_op("GRANT", &["60", "50", "60", "1"]),
        call_op("DROP", &["50"]),
    );
    let program = program(&src);
    for &backend in Backend::available() {
        let config = KernelConfig {
            page_budget: 10,
            ..KernelConfig::default()
        };
        let mut k =
            Kernel::with_config(&program, &[], GAS, Profile::JAM_07, backend, config).unwrap();
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!((k.reg(7), k.vm_count(), k.page_budget_left()), (0, 2, 2));
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!(k.reg(7), 0);
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!((k.reg(7), k.vm_count(), k.page_budget_left()), (0, 1, 10));
        assert!(matches!(k.run(), KernelExit::Halt(_)));
    }
}

#[test]
fn revoke_withdraws_callables_but_not_the_handle() {
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}ecalli 0\n{}{}ecalli 0\n{}ecalli 0\n{}{HALT}
child:
    load_imm r7, 5
    {REPLY}jump child
",
        create_child(50),
        probed("GRANT", &["50", "-1", "70", "0"]), // a CALLABLE in 70
        call(70, "0"),
        probed("REVOKE", &["50"]),
        call(70, "0"),
        call(50, "0"),
        probed("GRANT", &["70", "-1", "71", "0"]), // copying a withdrawn callable
    );
    assert_eq!(statuses(&src), [0, status::OK, 0, WHAT, status::OK, WHAT]);
}

#[test]
fn calls_are_not_reentrant_and_the_depth_is_bounded() {
    // The first child gets a CALLABLE to itself in slot 70 and calls it: HUH. Then children
    // recurse through fresh children until CALL reports FULL, and each level replies with
    // the status it got.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}ecalli 0\n{}ecalli 0\n{HALT}
child:
    branch_eq_imm r7, 1, deep
    {}move_reg r8, r7
    {REPLY}jump child
deep:
    {}load_imm_64 r7, 1\n load_imm r11, -1\n load_imm r12, -1\n ecalli 50
    branch_eq_imm r7, 0, pass
    {REPLY}trap
pass:
    move_reg r7, r8
    {REPLY}trap
",
        create_child(50),
        call_op("GRANT", &["50", "50", "70", "0"]),
        call(50, "0"),
        call(50, "1"),
        call(70, "0"),
        call_op("CREATE", &["40", "50", "0x10000000000", "0"]),
    );
    let p = probes(&src);
    assert_eq!(
        (p[0].regs[7], p[0].regs[8]),
        (status::OK, HUH),
        "a VM calling itself"
    );
    // The 1,024th VM on the stack could not call: FULL came back up through every reply.
    assert_eq!((p[1].regs[7], p[1].regs[8]), (status::OK, FULL));
    assert_eq!(
        p[1].vms,
        1 + 1024,
        "the root, the 1,023 nested children and the last one's"
    );
    assert_eq!(p[1].depth, 1);
}

#[test]
fn compile_makes_a_code_cap_from_guest_memory() {
    let child = assemble(
        "load_imm r7, 77\nload_imm r11, -1\necalli 256\ntrap",
        Profile::JAM_07.isa,
    )
    .unwrap();
    let Assembled::Blob(blob) = child else {
        unreachable!()
    };
    let bytes = blob.to_bytes();
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let len = bytes.len().to_string();
    let src = format!(
        ".ro_data\n.bytes {}\n.code\n{}{}{}ecalli 0\n{}{}{HALT}",
        hex.join(" "),
        probed("COMPILE", &["0x10000", &len, "41"]),
        probed("CREATE", &["41", "50", "0", "0"]),
        call(50, "0"),
        probed("COMPILE", &["0x10001", &len, "42"]), // not a blob: HUH
        probed("COMPILE", &["0x50000", "16", "43"]), // unreadable: OOB
    );
    let p = probes(&src);
    let s: Vec<u64> = p.iter().map(|p| p.regs[7]).collect();
    assert_eq!(s, [0, 0, status::OK, HUH, OOB]);
    assert_eq!(p[2].regs[8], 77);
}

#[test]
fn an_idle_vm_with_a_few_caps_takes_at_most_512_bytes_of_host_memory() {
    let bytes = Kernel::bytes_per_vm() + 4 * kiln_pvm::kernel::cap_entry_bytes();
    assert!(bytes <= 512, "{bytes} bytes");
}

#[test]
fn address_spaces_and_compiled_bytes_are_bounded() {
    // With room for the root and one more: the first child's MAP succeeds, the second's is
    // FULL; after the first child is dropped, the second may map. (`sbrk` in a child panics.)
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}{}
    load_imm r7, 0\n load_imm r11, 60\n load_imm r12, -1\n ecalli 50
    ecalli 0
    load_imm r7, 0\n load_imm r11, 61\n load_imm r12, -1\n ecalli 51
    ecalli 0
    {}load_imm r7, 0\n load_imm r11, -1\n load_imm r12, -1\n ecalli 51
    ecalli 0
    {}load_imm r7, 1\n load_imm r11, -1\n load_imm r12, -1\n ecalli 52
    ecalli 0
    {HALT}
child:
    branch_eq_imm r7, 1, grow
    {}load_imm r11, -1
    ecalli 256
    jump child
grow:
    load_imm r3, 4096
    sbrk r4, r3
    load_imm r7, 5
    load_imm r11, -1
    ecalli 256
    trap
",
        create_child(50),
        call_op("CREATE", &["40", "51", "0x10000000000", "0"]),
        call_op("RETYPE", &["253", "1", "60"]),
        call_op("RETYPE", &["253", "1", "61"]),
        call_op("DROP", &["50"]),
        call_op("CREATE", &["40", "52", "0x10000000000", "0"]),
        call_op("MAP", &["255", "0x100", "2"]),
    );
    let limited = program(&src);
    for &backend in Backend::available() {
        let config = KernelConfig {
            max_address_spaces: 2,
            ..KernelConfig::default()
        };
        let mut k =
            Kernel::with_config(&limited, &[], GAS, Profile::JAM_07, backend, config).unwrap();
        let mut seen = Vec::new();
        loop {
            match k.run() {
                KernelExit::HostCall(0) => {
                    k.check_invariants().unwrap();
                    seen.push((k.reg(7), k.reg(8)));
                }
                KernelExit::Halt(_) => break,
                other => panic!("{other:?}"),
            }
        }
        // The child replies with its MAP status in φ7 → the root's φ8.
        assert_eq!(
            seen,
            [
                (status::OK, 0),
                (status::OK, FULL),
                (status::OK, 0),
                (status::PANIC, 52), // φ8: the caller's own, from its CREATE
            ],
            "{backend:?}"
        );
    }
    // COMPILE beyond the byte budget is FULL.
    let src = format!(
        "{}ecalli 0\n{HALT}",
        call_op("COMPILE", &["0x10000", "100", "41"])
    );
    let program = program(&src);
    for &backend in Backend::available() {
        let config = KernelConfig {
            max_compiled_bytes: 99,
            ..KernelConfig::default()
        };
        let mut k =
            Kernel::with_config(&program, &[], GAS, Profile::JAM_07, backend, config).unwrap();
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!(k.reg(7), FULL);
    }
}

#[test]
fn handles_move_only_along_the_tree() {
    // The root owns A (50) and B (51); B gets a CALLABLE to A. Passing A's HANDLE down to B
    // with CALL is fine (B is the root's child); A passing B... A cannot hold B's HANDLE. A VM
    // cannot receive its own HANDLE (GRANT into it), and REPLY may pass a HANDLE only to the
    // callee's parent: B, called through a CALLABLE by A, cannot pass one up to A.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}ecalli 0\n{}ecalli 0\n{}ecalli 0\n{}{HALT}
child:
    branch_eq_imm r7, 1, make
    load_imm r11, -1
    ecalli 256
    jump child
make:
    {}{}
    load_imm r7, 0\n load_imm r11, 52\n load_imm r12, -1\n ecalli 70
    load_imm r11, -1
    ecalli 256
    jump child
",
        create_child(50),
        call_op("CREATE", &["40", "51", "0x10000000000", "0"]),
        call_op("GRANT", &["50", "50", "60", "1"]), // A's HANDLE into A: HUH
        call_op("GRANT", &["50", "51", "70", "0"]), // a CALLABLE to A for B
        // B creates C (52) and calls A through the CALLABLE passing C's HANDLE to A, which is
        // not B's child: HUH, returned through B's reply.
        "load_imm r7, 1\n load_imm r11, -1\n load_imm r12, -1\n ecalli 51\n",
        // Pass A's HANDLE down to B (the root's child): OK; B holds it from now on.
        "load_imm r7, 0\n load_imm r11, 50\n load_imm r12, -1\n ecalli 51\necalli 0\n",
        call_op("GRANT", &["254", "-1", "40", "0"]),
        call_op("CREATE", &["40", "52", "0x10000000000", "0"]),
    );
    let p = probes(&src);
    let s: Vec<(u64, u64)> = p.iter().map(|p| (p.regs[7], p.regs[8])).collect();
    assert_eq!(s[0].0, HUH, "a VM's own HANDLE into it");
    assert_eq!(s[1].0, status::OK, "a CALLABLE for B");
    assert_eq!(
        s[2],
        (status::OK, HUH),
        "C's HANDLE passed to A, not B's child"
    );
    assert_eq!(
        s[3].0,
        status::OK,
        "A's HANDLE passed down to the root's child B"
    );
}

#[test]
fn a_host_function_that_cannot_be_paid_stops_the_vm_out_of_gas_and_gas_is_conserved() {
    // The child (given PROTOCOL 1) calls host function 1. First the embedder declares it
    // unpayable: the root sees OOG from the CALL. Then it overdraws the child's gas by 7: the
    // root pays the overdraft.
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}ecalli 0\n{}ecalli 0\n{HALT}
child:
    ecalli 1
    load_imm r11, -1
    ecalli 256
    jump child
",
        call_op("GRANT", &["254", "-1", "40", "0"]),
        call_op("CREATE", &["40", "50", "0x10000000002", "0"]) + &call(50, "0"),
        call(50, "0"),
    );
    let program = program(&src);
    for &backend in Backend::available() {
        let mut k = Kernel::new(&program, &[], GAS, Profile::JAM_07, backend).unwrap();
        assert_eq!(k.run(), KernelExit::HostCall(1));
        assert_eq!(k.call_depth(), 2);
        k.host_call_out_of_gas();
        assert_eq!(k.run(), KernelExit::HostCall(0));
        assert_eq!(k.reg(7), status::OOG, "{backend:?}");
        // The second CALL retries the host call; the embedder overdraws the child by 7.
        assert_eq!(k.run(), KernelExit::HostCall(1));
        k.set_gas(-7);
        let total = k.total_gas();
        assert_eq!(k.run(), KernelExit::HostCall(0));
        // The child's REPLY could not be paid (OOG), and its −7 came back to the root: the
        // total did not change (the rest of both blocks was paid already).
        assert_eq!(k.reg(7), status::OOG, "{backend:?}");
        assert_eq!(k.total_gas(), total, "{backend:?}");
        k.check_invariants().unwrap();
    }
    // In the root, the same call ends the run out of gas at the `ecalli`, and is retried.
    let program = self::program("ecalli 1\necalli 0\njump_ind r0, 0");
    for &backend in Backend::available() {
        let mut k = Kernel::new(&program, &[], GAS, Profile::JAM_07, backend).unwrap();
        assert_eq!(k.run(), KernelExit::HostCall(1));
        let pc = k.pc();
        k.host_call_out_of_gas();
        assert_eq!(k.run(), KernelExit::OutOfGas);
        assert_eq!(k.pc(), pc);
        assert_eq!(k.run(), KernelExit::HostCall(1), "retried");
        assert_eq!(k.run(), KernelExit::HostCall(0));
    }
}

#[test]
fn sbrk_in_a_child_panics_and_moving_a_mapped_cap_pays_per_page() {
    let src = format!(
        "branch_eq_imm r0, 0, child\n{}{}{}ecalli 0
    load_imm r7, 0\n load_imm r11, 60\n load_imm r12, -1\n ecalli 50
    ecalli 0
    load_imm r7, 1\n load_imm r11, -1\n load_imm r12, -1\n ecalli 51
    ecalli 0
    {HALT}
child:
    branch_eq_imm r7, 1, grow
    load_imm r11, -1
    ecalli 256
    jump child
grow:
    load_imm r3, 4096
    sbrk r4, r3
    load_imm r11, -1
    ecalli 256
    trap
",
        create_child(50),
        call_op("CREATE", &["40", "51", "0x10000000000", "0"]),
        call_op("RETYPE", &["253", "5", "60"]) + &call_op("MAP", &["60", "0x100", "2"]),
    );
    let p = probes(&src);
    // Passing the mapped 5-page cap: CALL costs 10 + 5, and the child's block and REPLY.
    let used = p[0].gas - p[1].gas;
    assert_eq!(p[1].regs[7], status::OK);
    // (the child's first branch, its `branch_eq_imm r7` block, and `load_imm, ecalli, jump`).
    assert_eq!(used, (10 + 5) + 1 + 1 + 3 + 10, "{used}");
    assert_eq!(p[2].regs[7], status::PANIC, "sbrk in a child");
}
