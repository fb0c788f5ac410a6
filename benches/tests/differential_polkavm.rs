//! Kiln's interpreter against PolkaVM 0.37's interpreter on random programs, under both gas
//! models (`ReviveV1` = GP 0.7 numbering with one gas per instruction; `JamV1` = GP 0.8 draft
//! numbering with the pipeline model): ALU, multiply/divide, shifts,
//! cmov, compares and loads/stores on a read-write page, with forward branches, ending in a
//! halt. Exit, registers, gas and memory must agree exactly.

use std::sync::Arc;

use kiln_pvm::testing::{
    random_program, random_regs, ProgramOptions, Rng, LOADS, REG2_IMM, STORES,
};
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

/// What the "host" answers in r7 for host call `id` (the same on both sides).
fn host_answer(id: u32) -> u64 {
    u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// How a run treats page faults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Faults {
    /// A fault ends the run (`trap`, as `Ψ_M` treats it); PolkaVM without dynamic paging.
    Stop,
    /// Map the faulting page read-write and resume (PolkaVM with dynamic paging), at most
    /// `MAX_FAULTS` times.
    MapAndResume,
}

const MAX_FAULTS: usize = 24;

struct Outcome {
    exit: &'static str,
    /// `host@<id>` and `fault@<page>` in the order they happened (each served the same way on
    /// both sides).
    events: Vec<String>,
    regs: [u64; 13],
    gas: i64,
    memory: Vec<u8>,
}

fn run_kiln(profile: Profile, faults: Faults, blob: &[u8], regs: [u64; 13]) -> Outcome {
    let program = Arc::new(Program::from_blob_bytes(blob, profile).expect("decodes"));
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
            ExitReason::PageFault(_) if faults == Faults::Stop => break "trap",
            ExitReason::PageFault(page) => {
                events.push(format!("fault@{page:#x}"));
                if events.len() > MAX_FAULTS {
                    break "too-many-faults";
                }
                vm.memory_mut()
                    .set_access(page, 4096, Access::Write)
                    .expect("map");
            }
            ExitReason::OutOfGas => break "out-of-gas",
            ExitReason::HostCall(id) => {
                events.push(format!("host@{id}"));
                vm.set_reg(7, host_answer(id));
            }
        }
    };
    let mut memory = vec![0u8; 4096];
    vm.memory().host_read(RW_BASE as u32, &mut memory);
    Outcome {
        exit,
        events,
        regs: vm.regs(),
        gas: vm.gas(),
        memory,
    }
}

fn run_polkavm(
    model: Model,
    faults: Faults,
    engine: &Engine,
    blob: &[u8],
    regs: [u64; 13],
) -> Outcome {
    let mut parts = ProgramParts::empty(match model {
        Model::PerInstruction => InstructionSetKind::ReviveV1,
        Model::Pipeline => InstructionSetKind::JamV1,
    });
    parts.code_and_jump_table = blob.to_vec().into();
    if faults == Faults::Stop {
        parts.rw_data_size = 4096;
    }
    let blob = ProgramBlob::from_parts(parts).expect("PolkaVM accepts the blob");
    let mut config = ModuleConfig::new();
    config.set_page_size(4096);
    config.set_dynamic_paging(faults == Faults::MapAndResume);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(match model {
        Model::PerInstruction => CostModelKind::Simple(CostModel::naive_ref()),
        Model::Pipeline => CostModelKind::Full(CacheModel::L2Hit),
    }));
    let module = Module::from_blob(engine, &config, blob).expect("module");
    let mut vm = module.instantiate().expect("instance");
    if faults == Faults::MapAndResume {
        vm.zero_memory_with_memory_protection(RW_BASE as u32, 4096, MemoryProtection::ReadWrite)
            .expect("map");
    }
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
            InterruptKind::Segfault(_) if faults == Faults::Stop => break "trap",
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
            InterruptKind::NotEnoughGas => break "out-of-gas",
            InterruptKind::Step => break "step",
            InterruptKind::Ecalli(id) => {
                events.push(format!("host@{id}"));
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
        events,
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
    let mut rng = Rng::new(env("KILN_DIFF_SEED", default_seed));
    let options = ProgramOptions {
        sbrk: false,
        memory: true,
        unlikely: matches!(model, Model::Pipeline),
        host_calls: true,
        rw_base: RW_BASE,
    };
    let (mut halts, mut traps, mut with_host_calls) = (0, 0, 0);
    for case in 0..cases {
        let text = random_program(&mut rng, &options);
        let isa = match model {
            Model::PerInstruction => IsaVariant::Jam07,
            Model::Pipeline => IsaVariant::Jam08,
        };
        let blob = kiln_pvm::asm::assemble(&text, isa)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .to_bytes();
        let regs = random_regs(&mut rng, RW_BASE);
        let kiln = run_kiln(model.profile(), Faults::Stop, &blob, regs);
        let pvm = run_polkavm(model, Faults::Stop, &engine, &blob, regs);
        let context = format!("case {case}\n{text}\ninitial regs {regs:x?}");
        assert_eq!(kiln.exit, pvm.exit, "exit differs: {context}");
        assert_eq!(kiln.events, pvm.events, "host calls differ: {context}");
        assert_eq!(kiln.regs, pvm.regs, "registers differ: {context}");
        assert_eq!(kiln.gas, pvm.gas, "gas differs: {context}");
        assert!(kiln.memory == pvm.memory, "memory differs: {context}");
        if !kiln.events.is_empty() {
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
    let mut rng = Rng::new(0x7a6e_5d4c_3b2a_1909);
    let (mut faulted, mut top_page_cases) = (0, 0);
    for case in 0..cases {
        let mut text = String::new();
        for _ in 0..1 + rng.below(10) {
            let line = match rng.below(4) {
                0 => format!(
                    "{} r{}, r{}, {}",
                    rng.pick(LOADS),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                ),
                1 => format!(
                    "{} r{}, r{}, {}",
                    rng.pick(STORES),
                    rng.reg(),
                    rng.reg(),
                    rng.imm()
                ),
                _ => format!(
                    "{} r{}, r{}, {}",
                    rng.pick(REG2_IMM),
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
                2 => rng.next_u64(),
                _ => RW_BASE + rng.below(4096),
            };
        }
        regs[0] = u64::from(kiln_pvm::HALT_ADDRESS);
        regs[1] = RW_BASE;
        let kiln = run_kiln(Profile::JAM_07, Faults::MapAndResume, &blob, regs);
        let pvm = run_polkavm(
            Model::PerInstruction,
            Faults::MapAndResume,
            &engine,
            &blob,
            regs,
        );
        let (kiln_events, pvm_events) = (&kiln.events, &pvm.events);
        let context = format!("case {case}\n{text}\ninitial regs {regs:x?}");
        // Known, deliberate divergences, both on the top page (never mapped by the standard
        // layout), where Kiln follows the GP rule and PolkaVM does not:
        // - an access that wraps past 2³² into page 0 panics in GP (its lowest inaccessible
        //   address is below 64 KiB); PolkaVM reports a fault on the top page;
        // - an access that ends exactly at 2³² on a mapped top page succeeds in GP; PolkaVM
        //   traps.
        // Such cases are counted, not compared; Kiln's own tests cover them.
        let top_page = "fault@0xfffff000";
        if kiln_events.iter().chain(pvm_events).any(|e| e == top_page) {
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
