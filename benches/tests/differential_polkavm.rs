//! Kiln's interpreter against PolkaVM 0.37's interpreter on random programs, under both gas
//! models (`ReviveV1` = GP 0.7 numbering with one gas per instruction; `JamV1` = GP 0.8 draft
//! numbering with the pipeline model): ALU, multiply/divide, shifts,
//! cmov, compares and loads/stores on a read-write page, with forward branches, ending in a
//! halt. Exit, registers, gas and memory must agree exactly.

use std::sync::Arc;

use kiln_pvm::{Access, ExitReason, Instance, IsaVariant, Profile, Program};
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, CacheModel, Config, CostModel, CostModelKind, Engine, GasMeteringKind,
    InterruptKind, MemoryProtection, Module, ModuleConfig, ProgramBlob, ProgramCounter,
    ProgramParts, Reg,
};

/// A gas model on both sides: Kiln's profile and the matching PolkaVM ISA and cost model.
#[derive(Clone, Copy)]
enum Model {
    /// GP 0.7 numbering, one gas per instruction (`ReviveV1` + naive costs).
    PerInstruction,
    /// GP 0.8 draft numbering, pipeline gas (`JamV1` + `Full(L2Hit)`).
    Pipeline,
}

impl Model {
    fn profile(self) -> Profile {
        match self {
            Model::PerInstruction => Profile::JAM_07,
            Model::Pipeline => Profile::JAM_08,
        }
    }
}

const RW_BASE: u64 = 0x20000;
const GAS: i64 = 1_000_000;

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
    /// A destination register: never r0 (halt address), r1 (memory base) or r12 (loop counter).
    fn dest(&mut self) -> u64 {
        2 + self.below(10)
    }
    fn reg(&mut self) -> u64 {
        self.below(13)
    }
    fn imm(&mut self) -> i64 {
        match self.below(4) {
            0 => self.below(64) as i64,
            1 => -(self.below(64) as i64),
            2 => self.next() as i32 as i64,
            _ => {
                [0, 1, -1, i32::MIN as i64, i32::MAX as i64, 31, 32, 63, 64][self.below(9) as usize]
            }
        }
    }
}

const REG3: &[&str] = &[
    "add_32",
    "sub_32",
    "mul_32",
    "div_u_32",
    "div_s_32",
    "rem_u_32",
    "rem_s_32",
    "shlo_l_32",
    "shlo_r_32",
    "shar_r_32",
    "add_64",
    "sub_64",
    "mul_64",
    "div_u_64",
    "div_s_64",
    "rem_u_64",
    "rem_s_64",
    "shlo_l_64",
    "shlo_r_64",
    "shar_r_64",
    "and",
    "xor",
    "or",
    "mul_upper_s_s",
    "mul_upper_u_u",
    "mul_upper_s_u",
    "set_lt_u",
    "set_lt_s",
    "cmov_iz",
    "cmov_nz",
    "rot_l_64",
    "rot_l_32",
    "rot_r_64",
    "rot_r_32",
    "and_inv",
    "or_inv",
    "xnor",
    "max",
    "max_u",
    "min",
    "min_u",
];
const REG2_IMM: &[&str] = &[
    "add_imm_32",
    "and_imm",
    "xor_imm",
    "or_imm",
    "mul_imm_32",
    "set_lt_u_imm",
    "set_lt_s_imm",
    "shlo_l_imm_32",
    "shlo_r_imm_32",
    "shar_r_imm_32",
    "neg_add_imm_32",
    "set_gt_u_imm",
    "set_gt_s_imm",
    "shlo_l_imm_alt_32",
    "shlo_r_imm_alt_32",
    "shar_r_imm_alt_32",
    "cmov_iz_imm",
    "cmov_nz_imm",
    "add_imm_64",
    "mul_imm_64",
    "shlo_l_imm_64",
    "shlo_r_imm_64",
    "shar_r_imm_64",
    "neg_add_imm_64",
    "shlo_l_imm_alt_64",
    "shlo_r_imm_alt_64",
    "shar_r_imm_alt_64",
    "rot_r_64_imm",
    "rot_r_64_imm_alt",
    "rot_r_32_imm",
    "rot_r_32_imm_alt",
];
const REG2: &[&str] = &[
    "move_reg",
    "count_set_bits_64",
    "count_set_bits_32",
    "leading_zero_bits_64",
    "leading_zero_bits_32",
    "trailing_zero_bits_64",
    "trailing_zero_bits_32",
    "sign_extend_8",
    "sign_extend_16",
    "zero_extend_16",
    "reverse_bytes",
];
const LOADS: &[&str] = &[
    "load_ind_u8",
    "load_ind_i8",
    "load_ind_u16",
    "load_ind_i16",
    "load_ind_u32",
    "load_ind_i32",
    "load_ind_u64",
];
const STORES: &[&str] = &[
    "store_ind_u8",
    "store_ind_u16",
    "store_ind_u32",
    "store_ind_u64",
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

/// A random program in assembler text: blocks of straight-line code separated by forward
/// branches to the next block, ending in a halt. `unlikely` exists only in the 0.8 numbering.
fn program(rng: &mut Rng, with_unlikely: bool) -> String {
    let mut text = String::new();
    let blocks = 1 + rng.below(6);
    for b in 0..blocks {
        // Some blocks run as a counted loop: re-entering a block re-charges it each time.
        let looped = rng.below(3) == 0;
        if looped {
            text.push_str(&format!(
                "load_imm r12, {}\nfallthrough\nl{b}:\n",
                1 + rng.below(5)
            ));
        }
        for _ in 0..1 + rng.below(12) {
            let line = match rng.below(49) {
                41 => format!("load_imm r{}, {}", rng.dest(), rng.imm()),
                42 => format!("load_imm_64 r{}, {}", rng.dest(), rng.next()),
                43 => format!(
                    "store_imm_ind_u{} r1, {}, {}",
                    [8, 16, 32, 64][rng.below(4) as usize],
                    rng.below(4089),
                    rng.imm()
                ),
                44 => format!(
                    "store_imm_u{} {}, {}",
                    [8, 16, 32, 64][rng.below(4) as usize],
                    RW_BASE + rng.below(4089),
                    rng.imm()
                ),
                45 => format!("load_u32 r{}, {}", rng.dest(), RW_BASE + rng.below(4093)),
                46 => format!("store_u64 r{}, {}", rng.reg(), RW_BASE + rng.below(4089)),
                47 if with_unlikely => "unlikely".to_string(),
                48 if rng.below(2) == 0 => format!("ecalli {}", rng.below(200)),
                47 | 48 => format!("load_i16 r{}, {}", rng.dest(), RW_BASE + rng.below(4095)),
                // Rarely, memory through an arbitrary register: usually a fault.
                40 => format!(
                    "{} r{}, r{}, {}",
                    pick(rng, LOADS),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
                0..=15 => format!(
                    "{} r{}, r{}, r{}",
                    pick(rng, REG3),
                    rng.dest(),
                    rng.reg(),
                    rng.reg()
                ),
                16..=27 => format!(
                    "{} r{}, r{}, {}",
                    pick(rng, REG2_IMM),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
                28..=31 => format!("{} r{}, r{}", pick(rng, REG2), rng.dest(), rng.reg()),
                32..=35 => format!(
                    "{} r{}, r1, {}",
                    pick(rng, LOADS),
                    rng.dest(),
                    rng.below(4089)
                ),
                _ => format!(
                    "{} r{}, r1, {}",
                    pick(rng, STORES),
                    rng.reg(),
                    rng.below(4089)
                ),
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
        let branch = match rng.below(8) {
            // Dynamic jumps through the jump table (every block label is an entry).
            5 => format!("load_imm r11, &{next}\njump_ind r11, 0"),
            6 => format!(
                "load_imm r10, &{next}\nload_imm_jump_ind r11, r10, {}, 0",
                rng.imm()
            ),
            // A jump to a random address: halt, panic or (rarely) a valid entry.
            7 => format!("jump_ind r{}, {}", rng.reg(), rng.imm()),
            3 => format!("jump {next}"),
            4 => format!("load_imm_jump r{}, {}, {next}", rng.dest(), rng.imm()),
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
            _ => "fallthrough".to_string(),
        };
        text.push_str(&branch);
        text.push_str(&format!("\nb{}:\n", b + 1));
    }
    text.push_str("jump_ind r0, 0\n");
    let labels: Vec<String> = (1..=blocks).map(|b| format!("b{b}")).collect();
    text.push_str(&format!(".jump_table {}\n", labels.join(", ")));
    text
}

/// What the "host" answers in r7 for host call `id` (the same on both sides).
fn host_answer(id: u32) -> u64 {
    u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

struct Outcome {
    exit: &'static str,
    /// Host-call ids in the order they happened (each answered the same way on both sides).
    host_calls: Vec<u32>,
    regs: [u64; 13],
    gas: i64,
    memory: Vec<u8>,
}

fn run_kiln(model: Model, blob: &[u8], regs: [u64; 13]) -> Outcome {
    let program = Arc::new(Program::from_blob_bytes(blob, model.profile()).expect("decodes"));
    let mut vm = Instance::new(program).expect("memory");
    vm.memory_mut()
        .set_access(RW_BASE as u32, 4096, Access::Write)
        .expect("map");
    vm.set_regs(regs);
    vm.set_gas(GAS);
    vm.set_pc(0);
    let mut host_calls = Vec::new();
    let exit = loop {
        match vm.run() {
            ExitReason::Halt => break "halt",
            ExitReason::Panic | ExitReason::PageFault(_) => break "trap",
            ExitReason::OutOfGas => break "out-of-gas",
            ExitReason::HostCall(id) => {
                host_calls.push(id);
                vm.set_reg(7, host_answer(id));
            }
        }
    };
    let mut memory = vec![0u8; 4096];
    vm.memory().host_read(RW_BASE as u32, &mut memory);
    Outcome {
        exit,
        host_calls,
        regs: vm.regs(),
        gas: vm.gas(),
        memory,
    }
}

fn run_polkavm(model: Model, engine: &Engine, blob: &[u8], regs: [u64; 13]) -> Outcome {
    let mut parts = ProgramParts::empty(match model {
        Model::PerInstruction => InstructionSetKind::ReviveV1,
        Model::Pipeline => InstructionSetKind::JamV1,
    });
    parts.code_and_jump_table = blob.to_vec().into();
    parts.rw_data_size = 4096;
    let blob = ProgramBlob::from_parts(parts).expect("PolkaVM accepts the blob");
    let mut config = ModuleConfig::new();
    config.set_page_size(4096);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(match model {
        Model::PerInstruction => CostModelKind::Simple(CostModel::naive_ref()),
        Model::Pipeline => CostModelKind::Full(CacheModel::L2Hit),
    }));
    let module = Module::from_blob(engine, &config, blob).expect("module");
    let mut vm = module.instantiate().expect("instance");
    for (i, reg) in Reg::ALL.iter().enumerate() {
        vm.set_reg(*reg, regs[i]);
    }
    vm.set_gas(GAS);
    vm.set_next_program_counter(ProgramCounter(0));
    let mut host_calls = Vec::new();
    let exit = loop {
        match vm.run().expect("run") {
            InterruptKind::Finished => break "halt",
            InterruptKind::Trap | InterruptKind::Segfault(_) => break "trap",
            InterruptKind::NotEnoughGas => break "out-of-gas",
            InterruptKind::Step => break "step",
            InterruptKind::Ecalli(id) => {
                host_calls.push(id);
                vm.set_reg(Reg::A0, host_answer(id));
            }
        }
    };
    let mut out = [0u64; 13];
    for (i, reg) in Reg::ALL.iter().enumerate() {
        out[i] = vm.reg(*reg);
    }
    let memory = vm.read_memory(RW_BASE as u32, 4096).expect("read rw page");
    Outcome {
        exit,
        host_calls,
        regs: out,
        gas: vm.gas(),
        memory,
    }
}

#[test]
fn kiln_and_polkavm_interpreters_agree_on_random_programs() {
    differential(Model::PerInstruction, 0x1234_5678_9abc_def1);
}

#[test]
fn kiln_and_polkavm_agree_under_the_pipeline_gas_model() {
    differential(Model::Pipeline, 0x0bad_5eed_1234_5679);
}

fn differential(model: Model, default_seed: u64) {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    let engine = Engine::new(&config).expect("PolkaVM engine");
    // Longer runs: KILN_DIFF_CASES=200000 KILN_DIFF_SEED=7 cargo test -p kiln-benches --release
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cases = env("KILN_DIFF_CASES", 3000);
    let mut rng = Rng(env("KILN_DIFF_SEED", default_seed) | 1);
    let (mut halts, mut traps, mut with_host_calls) = (0, 0, 0);
    for case in 0..cases {
        let text = program(&mut rng, matches!(model, Model::Pipeline));
        let isa = match model {
            Model::PerInstruction => IsaVariant::Jam07,
            Model::Pipeline => IsaVariant::Jam08,
        };
        let blob = kiln_pvm::asm::assemble(&text, isa)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_bytes();
        let mut regs = [0u64; 13];
        for r in regs.iter_mut() {
            *r = match rng.below(3) {
                0 => rng.below(16),
                1 => rng.next() as u32 as u64,
                _ => rng.next(),
            };
        }
        regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
        regs[1] = RW_BASE;
        let kiln = run_kiln(model, &blob, regs);
        let pvm = run_polkavm(model, &engine, &blob, regs);
        let context = format!("case {case}\n{text}\ninitial regs {regs:x?}");
        assert_eq!(kiln.exit, pvm.exit, "exit differs: {context}");
        assert_eq!(
            kiln.host_calls, pvm.host_calls,
            "host calls differ: {context}"
        );
        assert_eq!(kiln.regs, pvm.regs, "registers differ: {context}");
        assert_eq!(kiln.gas, pvm.gas, "gas differs: {context}");
        assert!(kiln.memory == pvm.memory, "memory differs: {context}");
        if !kiln.host_calls.is_empty() {
            with_host_calls += 1;
        }
        match kiln.exit {
            "halt" => halts += 1,
            "trap" => traps += 1,
            _ => {}
        }
    }
    // The programs must exercise both outcomes, not trivially agree on one.
    eprintln!("{halts} halts, {traps} traps, {with_host_calls} with host calls");
    assert!(
        halts > cases / 3 && traps > cases / 15 && with_host_calls > cases / 20,
        "{halts} halts, {traps} traps"
    );
}

/// The exits of a run that maps every faulting page (read-write) and resumes, at most
/// `MAX_FAULTS` times: `fault@<page>` entries, then the final exit.
const MAX_FAULTS: usize = 24;

fn paged_kiln(blob: &[u8], regs: [u64; 13]) -> (Vec<String>, Outcome) {
    let program = Arc::new(Program::from_blob_bytes(blob, Profile::JAM_07).expect("decodes"));
    let mut vm = Instance::new(program).expect("memory");
    vm.memory_mut()
        .set_access(RW_BASE as u32, 4096, Access::Write)
        .expect("map");
    vm.set_regs(regs);
    vm.set_gas(GAS);
    vm.set_pc(0);
    let mut events = Vec::new();
    let exit = loop {
        match vm.run() {
            ExitReason::Halt => break "halt",
            ExitReason::Panic => break "trap",
            ExitReason::OutOfGas => break "out-of-gas",
            ExitReason::HostCall(id) => vm.set_reg(7, host_answer(id)),
            ExitReason::PageFault(page) => {
                events.push(format!("fault@{page:#x}"));
                if events.len() > MAX_FAULTS {
                    break "too-many-faults";
                }
                vm.memory_mut()
                    .set_access(page, 4096, Access::Write)
                    .expect("map");
            }
        }
    };
    let mut memory = vec![0u8; 4096];
    vm.memory().host_read(RW_BASE as u32, &mut memory);
    let regs = vm.regs();
    let gas = vm.gas();
    (
        events,
        Outcome {
            exit,
            host_calls: Vec::new(),
            regs,
            gas,
            memory,
        },
    )
}

fn paged_polkavm(engine: &Engine, blob: &[u8], regs: [u64; 13]) -> (Vec<String>, Outcome) {
    let mut parts = ProgramParts::empty(InstructionSetKind::ReviveV1);
    parts.code_and_jump_table = blob.to_vec().into();
    let blob = ProgramBlob::from_parts(parts).expect("PolkaVM accepts the blob");
    let mut config = ModuleConfig::new();
    config.set_page_size(4096);
    config.set_dynamic_paging(true);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(CostModelKind::Simple(CostModel::naive_ref())));
    let module = Module::from_blob(engine, &config, blob).expect("module");
    let mut vm = module.instantiate().expect("instance");
    vm.zero_memory_with_memory_protection(RW_BASE as u32, 4096, MemoryProtection::ReadWrite)
        .expect("map");
    for (i, reg) in Reg::ALL.iter().enumerate() {
        vm.set_reg(*reg, regs[i]);
    }
    vm.set_gas(GAS);
    vm.set_next_program_counter(ProgramCounter(0));
    let mut events = Vec::new();
    let exit = loop {
        match vm.run().expect("run") {
            InterruptKind::Finished => break "halt",
            InterruptKind::Trap => break "trap",
            InterruptKind::NotEnoughGas => break "out-of-gas",
            InterruptKind::Step => break "step",
            InterruptKind::Ecalli(id) => vm.set_reg(Reg::A0, host_answer(id)),
            InterruptKind::Segfault(fault) => {
                events.push(format!("fault@{:#x}", fault.page_address));
                if events.len() > MAX_FAULTS {
                    break "too-many-faults";
                }
                vm.zero_memory_with_memory_protection(
                    fault.page_address,
                    4096,
                    MemoryProtection::ReadWrite,
                )
                .expect("map");
            }
        }
    };
    let mut out = [0u64; 13];
    for (i, reg) in Reg::ALL.iter().enumerate() {
        out[i] = vm.reg(*reg);
    }
    let memory = vm.read_memory(RW_BASE as u32, 4096).expect("read rw page");
    (
        events,
        Outcome {
            exit,
            host_calls: Vec::new(),
            regs: out,
            gas: vm.gas(),
            memory,
        },
    )
}

/// Page faults: accesses through random registers fault on unmapped pages; both sides map the
/// page and resume. Fault addresses, resumption (no re-charge) and the final state must agree.
#[test]
fn kiln_and_polkavm_agree_on_page_faults_and_resumption() {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    config.set_allow_dynamic_paging(true);
    let engine = Engine::new(&config).expect("PolkaVM engine");
    let cases = std::env::var("KILN_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000u64);
    let mut rng = Rng(0x7a6e_5d4c_3b2a_1909);
    let (mut faulted, mut top_page_cases) = (0, 0);
    for case in 0..cases {
        let mut text = String::new();
        for _ in 0..1 + rng.below(10) {
            let line = match rng.below(4) {
                0 => format!(
                    "{} r{}, r{}, {}",
                    pick(&mut rng, LOADS),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
                1 => format!(
                    "{} r{}, r{}, {}",
                    pick(&mut rng, STORES),
                    rng.reg(),
                    rng.reg(),
                    rng.imm()
                ),
                _ => format!(
                    "{} r{}, r{}, {}",
                    pick(&mut rng, REG2_IMM),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str("jump_ind r0, 0\n");
        let blob = kiln_pvm::asm::assemble(&text, IsaVariant::Jam07)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_bytes();
        let mut regs = [0u64; 13];
        for r in regs.iter_mut() {
            // Mostly addresses well inside the 32-bit space, some small, some huge.
            *r = match rng.below(4) {
                0 => 0x10000 + rng.below(0xFFFE_0000),
                1 => rng.below(0x20000),
                2 => rng.next(),
                _ => RW_BASE + rng.below(4096),
            };
        }
        regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
        regs[1] = RW_BASE;
        let (kiln_events, kiln) = paged_kiln(&blob, regs);
        let (pvm_events, pvm) = paged_polkavm(&engine, &blob, regs);
        let context = format!("case {case}\n{text}\ninitial regs {regs:x?}");
        // Known, deliberate divergences, both on the top page (never mapped by the standard
        // layout), where Kiln follows the GP rule and PolkaVM does not:
        // - an access that wraps past 2³² into page 0 panics in GP (its lowest inaccessible
        //   address is below 64 KiB); PolkaVM reports a fault on the top page;
        // - an access that ends exactly at 2³² on a mapped top page succeeds in GP; PolkaVM
        //   traps.
        // Such cases are counted, not compared; Kiln's own tests cover them.
        let top_page = "fault@0xfffff000";
        if kiln_events.iter().chain(&pvm_events).any(|e| e == top_page) {
            top_page_cases += 1;
            continue;
        }
        assert_eq!(
            kiln_events, pvm_events,
            "faults differ (exits {} / {}): {context}",
            kiln.exit, pvm.exit
        );
        assert_eq!(kiln.exit, pvm.exit, "exit differs: {context}");
        assert_eq!(kiln.regs, pvm.regs, "registers differ: {context}");
        assert_eq!(kiln.gas, pvm.gas, "gas differs: {context}");
        assert!(kiln.memory == pvm.memory, "memory differs: {context}");
        if !kiln_events.is_empty() {
            faulted += 1;
        }
    }
    eprintln!(
        "{faulted} of {cases} cases faulted and resumed; {top_page_cases} touched the top page"
    );
    assert!(faulted > cases / 4, "{faulted} cases faulted");
    assert!(
        top_page_cases < cases / 10,
        "{top_page_cases} top-page cases"
    );
}
