#![allow(dead_code)] // each bench uses a different subset
//! PolkaVM 0.37 as a comparator in the benches (a dev-dependency only): engines for its two
//! backends, modules from the same GP code blobs Kiln runs, and runs to halt.

use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Config, CostModel, CostModelKind, Engine, GasMeteringKind, InterruptKind, Module,
    ModuleConfig, ProgramBlob, ProgramParts, Reg,
};

/// PolkaVM's gas model matching one of Kiln's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gas {
    /// GP 0.7 numbering (`ReviveV1`), one gas per instruction: Kiln's `jam-0.7`.
    PerInstruction,
    /// GP 0.8 draft numbering (`JamV1`), pipeline gas (`Full(L2Hit)`): Kiln's `jam-0.8`.
    Pipeline,
}

impl Gas {
    /// Kiln's profile for the same model.
    pub fn kiln_profile(self) -> kiln_pvm::Profile {
        match self {
            Gas::PerInstruction => kiln_pvm::Profile::JAM_07,
            Gas::Pipeline => kiln_pvm::Profile::JAM_08,
        }
    }

    /// The name used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Gas::PerInstruction => "per-instruction",
            Gas::Pipeline => "pipeline",
        }
    }
}

/// An engine for `backend`, or `None` (with the reason printed) where this machine cannot run
/// it (the compiler needs PolkaVM's Linux sandbox).
pub fn engine(backend: BackendKind) -> Option<Engine> {
    let mut config = Config::new();
    config.set_backend(Some(backend));
    match Engine::new(&config) {
        Ok(engine) => Some(engine),
        Err(e) => {
            eprintln!("PolkaVM {backend:?} backend unavailable here: {e}");
            None
        }
    }
}

/// A module of the code blob `blob` with `rw_pages` writable pages at 0x20000 and `stack`
/// bytes of stack.
pub fn module(
    engine: &Engine,
    blob: &[u8],
    gas: Gas,
    rw_pages: u32,
    stack: u32,
) -> Result<Module, String> {
    let isa = match gas {
        Gas::PerInstruction => InstructionSetKind::ReviveV1,
        Gas::Pipeline => InstructionSetKind::JamV1,
    };
    let mut parts = ProgramParts::empty(isa);
    parts.code_and_jump_table = blob.to_vec().into();
    parts.rw_data_size = rw_pages * 4096;
    parts.stack_size = stack;
    let program = ProgramBlob::from_parts(parts).map_err(|e| e.to_string())?;
    let mut config = ModuleConfig::new();
    config.set_page_size(4096);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(match gas {
        Gas::PerInstruction => CostModelKind::Simple(CostModel::naive_ref()),
        Gas::Pipeline => CostModelKind::Full(polkavm::CacheModel::L2Hit),
    }));
    Module::from_blob(engine, &config, program).map_err(|e| e.to_string())
}

/// Runs a fresh instance of `module` from pc 0 to halt, serving host calls with nothing;
/// returns `(a0, gas used)`.
pub fn run(module: &Module) -> (u64, i64) {
    let mut vm = module.instantiate().expect("PolkaVM instance");
    vm.set_reg(Reg::RA, 0xFFFF_0000);
    let gas = i64::MAX / 2;
    vm.set_gas(gas);
    vm.set_next_program_counter(polkavm::ProgramCounter(0));
    loop {
        match vm.run().expect("PolkaVM run") {
            InterruptKind::Finished => break,
            InterruptKind::Ecalli(_) => continue,
            other => panic!("PolkaVM stopped with {other:?}"),
        }
    }
    (vm.reg(Reg::A0), gas - vm.gas())
}

/// A module of a GP standard program with GP 0.7 opcode numbering (`ReviveV1`): its data
/// sections, heap and stack laid out as GP's standard initialisation does, the argument zone
/// at 0xFEFF0000; one gas per instruction, or the pipeline model (`Full(L2Hit)`).
pub fn standard_module(
    engine: &Engine,
    program: &kiln_pvm::StandardProgram,
    pipeline: bool,
) -> Result<Module, String> {
    let mut parts = ProgramParts::empty(InstructionSetKind::ReviveV1);
    parts.code_and_jump_table = program.code.clone().into();
    parts.ro_data = program.ro_data.clone().into();
    parts.ro_data_size = program.ro_data.len() as u32;
    parts.rw_data = program.rw_data.clone().into();
    parts.rw_data_size = program.rw_data.len() as u32 + u32::from(program.heap_pages) * 4096;
    parts.stack_size = program.stack_size;
    let blob = ProgramBlob::from_parts(parts).map_err(|e| e.to_string())?;
    let mut config = ModuleConfig::new();
    config.set_page_size(4096);
    config.set_aux_data_size(1 << 24);
    config.set_gas_metering(Some(GasMeteringKind::Sync));
    config.set_cost_model(Some(if pipeline {
        CostModelKind::Full(polkavm::CacheModel::L2Hit)
    } else {
        CostModelKind::Simple(CostModel::naive_ref())
    }));
    Module::from_blob(engine, &config, blob).map_err(|e| e.to_string())
}

/// Runs a fresh instance of a standard-program module with `args` from pc 0 to halt,
/// answering host call 100 with `answer(φ7)`; returns the output and the gas used.
pub fn run_standard(module: &Module, args: &[u8], answer: fn(u64) -> u64) -> (Vec<u8>, i64) {
    let mut vm = module.instantiate().expect("PolkaVM instance");
    vm.set_accessible_aux_size(args.len() as u32)
        .expect("the argument zone");
    vm.write_memory(0xFEFF_0000, args).expect("the arguments");
    vm.set_reg(Reg::RA, 0xFFFF_0000);
    vm.set_reg(Reg::SP, 0xFEFE_0000);
    vm.set_reg(Reg::A0, 0xFEFF_0000);
    vm.set_reg(Reg::A1, args.len() as u64);
    let gas = i64::MAX / 4;
    vm.set_gas(gas);
    vm.set_next_program_counter(polkavm::ProgramCounter(0));
    loop {
        match vm.run().expect("PolkaVM run") {
            InterruptKind::Finished => break,
            InterruptKind::Ecalli(100) => {
                let arg = vm.reg(Reg::A0);
                vm.set_reg(Reg::A0, answer(arg));
            }
            other => panic!("PolkaVM stopped with {other:?}"),
        }
    }
    let (ptr, len) = (vm.reg(Reg::A0) as u32, vm.reg(Reg::A1) as u32);
    let out = vm.read_memory(ptr, len).expect("a readable output");
    (out, gas - vm.gas())
}
