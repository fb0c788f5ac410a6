//! Interpreter throughput: Kiln's interpreter and PolkaVM 0.37's interpreter on the same GP code
//! blobs (GP 0.7 numbering = PolkaVM `ReviveV1`, one gas per instruction charged per block), in
//! the same run. Reported as guest instructions per second (for `hostcall`: host round trips per
//! second). The recompiler joins for the workloads it supports.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_benches::{fib, hostcall, kiln_code, memory, run_kiln, Workload};
use kiln_pvm::Backend;
use polkavm::program::InstructionSetKind;
use polkavm::{
    BackendKind, Config, CostModel, CostModelKind, Engine, GasMeteringKind, InterruptKind, Module,
    ModuleConfig, ProgramBlob, ProgramParts, Reg,
};

fn polkavm_module(engine: &Engine, w: &Workload) -> Module {
    let mut parts = ProgramParts::empty(InstructionSetKind::ReviveV1);
    parts.code_and_jump_table = w.blob.clone().into();
    parts.rw_data_size = w.rw_pages * 4096;
    parts.stack_size = 0;
    let blob = ProgramBlob::from_parts(parts).expect("PolkaVM accepts the blob");
    let mut mc = ModuleConfig::new();
    mc.set_page_size(4096);
    mc.set_gas_metering(Some(GasMeteringKind::Sync));
    mc.set_cost_model(Some(CostModelKind::Simple(CostModel::naive_ref())));
    Module::from_blob(engine, &mc, blob).expect("PolkaVM module")
}

fn run_polkavm(module: &Module) -> (u64, i64) {
    let mut vm = module.instantiate().expect("instance");
    vm.set_reg(Reg::RA, 0xFFFF_0000);
    let gas = i64::MAX / 2;
    vm.set_gas(gas);
    vm.set_next_program_counter(polkavm::ProgramCounter(0));
    loop {
        match vm.run().expect("run") {
            InterruptKind::Finished => break,
            InterruptKind::Ecalli(_) => continue,
            other => panic!("PolkaVM stopped with {other:?}"),
        }
    }
    (vm.reg(Reg::A0), gas - vm.gas())
}

fn bench(c: &mut Criterion) {
    let mut config = Config::new();
    config.set_backend(Some(BackendKind::Interpreter));
    let engine = Engine::new(&config).expect("PolkaVM engine");
    for workload in [fib(1_000_000), memory(1_000_000), hostcall(100_000)] {
        let interpreted = kiln_code(&workload, Backend::Interpreter);
        let compiled = kiln_code(&workload, Backend::Recompiler);
        let module = polkavm_module(&engine, &workload);
        // All must agree on the result and the gas before being timed.
        let kiln = run_kiln(&workload, &interpreted);
        let pvm = run_polkavm(&module);
        assert_eq!(kiln.0, workload.expected_a0);
        assert_eq!(kiln, pvm, "Kiln and PolkaVM disagree on {}", workload.name);
        assert_eq!(
            run_kiln(&workload, &compiled),
            kiln,
            "the recompiler disagrees on {}",
            workload.name
        );

        let mut group = c.benchmark_group(format!("interpreter/{}", workload.name));
        group.throughput(Throughput::Elements(workload.instructions));
        group.sample_size(20);
        group.bench_function(BenchmarkId::new("kiln", "interpreter"), |b| {
            b.iter(|| run_kiln(&workload, &interpreted))
        });
        group.bench_function(BenchmarkId::new("polkavm-0.37", "interpreter"), |b| {
            b.iter(|| run_polkavm(&module))
        });
        group.bench_function(BenchmarkId::new("kiln", "recompiler"), |b| {
            b.iter(|| run_kiln(&workload, &compiled))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
