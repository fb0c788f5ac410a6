//! Execution speed on the same GP code blobs, in one run: Kiln's recompiler and interpreter and
//! PolkaVM 0.37's compiler and interpreter (GP 0.7 numbering = PolkaVM `ReviveV1`, one gas per
//! instruction charged per block). Workloads: an ALU loop (`fib`), a memory loop (`memory`) and
//! host-call round trips (`hostcall`). Throughput is guest instructions per second (for
//! `hostcall`, round trips per second). Every engine must agree on the result and the gas
//! before it is timed.

mod polkavm_support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_benches::{fib, hostcall, kiln_code, memory, run_kiln};
use kiln_pvm::Backend;
use polkavm::BackendKind;
use polkavm_support::Gas;

fn bench(c: &mut Criterion) {
    let engines: Vec<(&str, polkavm::Engine)> = [
        ("compiler", BackendKind::Compiler),
        ("interpreter", BackendKind::Interpreter),
    ]
    .into_iter()
    .filter_map(|(name, kind)| polkavm_support::engine(kind).map(|e| (name, e)))
    .collect();
    for workload in [fib(1_000_000), memory(1_000_000), hostcall(100_000)] {
        let compiled = kiln_code(&workload, Backend::Recompiler);
        let interpreted = kiln_code(&workload, Backend::Interpreter);
        let expected = run_kiln(&workload, &interpreted);
        assert_eq!(expected.0, workload.expected_a0);
        assert_eq!(
            run_kiln(&workload, &compiled),
            expected,
            "{}",
            workload.name
        );
        let modules: Vec<(&str, polkavm::Module)> = engines
            .iter()
            .map(|(name, engine)| {
                let module = polkavm_support::module(
                    engine,
                    &workload.blob,
                    Gas::PerInstruction,
                    workload.rw_pages,
                    0,
                )
                .expect("PolkaVM accepts the workload");
                let result = polkavm_support::run(&module);
                assert_eq!(result, expected, "PolkaVM {name} on {}", workload.name);
                (*name, module)
            })
            .collect();

        let mut group = c.benchmark_group(format!("execute/{}", workload.name));
        group.throughput(Throughput::Elements(workload.instructions));
        group.sample_size(20);
        group.bench_function(BenchmarkId::new("kiln", "recompiler"), |b| {
            b.iter(|| run_kiln(&workload, &compiled))
        });
        group.bench_function(BenchmarkId::new("kiln", "interpreter"), |b| {
            b.iter(|| run_kiln(&workload, &interpreted))
        });
        for (name, module) in &modules {
            group.bench_function(BenchmarkId::new("polkavm-0.37", name), |b| {
                b.iter(|| polkavm_support::run(module))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
