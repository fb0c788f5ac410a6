//! The guest benchmark suite (issue 8), in one run: Kiln's recompiler and interpreter, PolkaVM
//! 0.37's compiler and interpreter, and native Rust, on eight workloads built from Zig sources,
//! under both gas models. Groups `suite-<gas>-execute-<workload>` time a run of prepared code;
//! `suite-<gas>-compile-<workload>` time preparing a fresh program and running it, as a JAM
//! node does. `suite-fib_recur` runs recursive fib through the kernel (a child VM per call)
//! against native recursion. Every engine's result (and gas) is checked before timing.
//! `cargo run -p kiln-benches --example suite_report` turns the results into the table in
//! `docs/benchmarks.md`.

#[path = "polkavm_support.rs"]
mod polkavm_support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kiln_benches::suite::{self, host_answer, GuestWorkload, Scale};
use kiln_pvm::Backend;
use polkavm::BackendKind;

fn engines() -> Vec<(&'static str, polkavm::Engine)> {
    [
        ("polkavm-compiler", BackendKind::Compiler),
        ("polkavm-interpreter", BackendKind::Interpreter),
    ]
    .into_iter()
    .filter_map(|(name, kind)| polkavm_support::engine(kind).map(|e| (name, e)))
    .collect()
}

fn kiln_backends() -> Vec<(&'static str, Backend)> {
    let mut list = vec![("kiln-interpreter", Backend::Interpreter)];
    if Backend::RECOMPILER_AVAILABLE {
        list.insert(0, ("kiln-recompiler", Backend::Recompiler));
    }
    list
}

fn bench_workload(
    c: &mut Criterion,
    workload: &GuestWorkload,
    pipeline: bool,
    engines: &[(&'static str, polkavm::Engine)],
) {
    let gas_name = if pipeline {
        "pipeline"
    } else {
        "per-instruction"
    };
    let profile = suite::kiln_profile(pipeline);
    let expected = (workload.native)();
    // Check every engine first: the same output, and the same gas as Kiln's interpreter.
    let reference = suite::run_kiln(
        workload,
        &suite::prepare(workload, Backend::Interpreter, profile),
    );
    assert_eq!(reference.0, expected, "{} on Kiln", workload.name);
    let kiln: Vec<_> = kiln_backends()
        .into_iter()
        .map(|(name, backend)| {
            let code = suite::prepare(workload, backend, profile);
            assert_eq!(
                suite::run_kiln(workload, &code),
                reference,
                "{} on {name}",
                workload.name
            );
            (name, backend, code)
        })
        .collect();
    let polkavm: Vec<_> = engines
        .iter()
        .map(|(name, engine)| {
            let module = polkavm_support::standard_module(engine, &workload.program, pipeline)
                .expect("PolkaVM takes the program");
            let result = polkavm_support::run_standard(&module, &workload.args, host_answer);
            assert_eq!(result, reference, "{} on {name}", workload.name);
            (*name, engine, module)
        })
        .collect();

    let mut group = c.benchmark_group(format!("suite-{gas_name}-execute-{}", workload.name));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, _, code) in &kiln {
        group.bench_function(*name, |b| b.iter(|| suite::run_kiln(workload, code)));
    }
    for (name, _, module) in &polkavm {
        group.bench_function(*name, |b| {
            b.iter(|| polkavm_support::run_standard(module, &workload.args, host_answer))
        });
    }
    group.bench_function("native", |b| b.iter(|| (workload.native)()));
    group.finish();

    let mut group = c.benchmark_group(format!("suite-{gas_name}-compile-{}", workload.name));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, backend, _) in &kiln {
        group.bench_function(*name, |b| {
            b.iter(|| suite::run_kiln(workload, &suite::prepare(workload, *backend, profile)))
        });
    }
    for (name, engine, _) in &polkavm {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let module =
                    polkavm_support::standard_module(engine, &workload.program, pipeline).unwrap();
                polkavm_support::run_standard(&module, &workload.args, host_answer)
            })
        });
    }
    group.bench_function("native", |b| b.iter(|| (workload.native)()));
    group.finish();
}

fn bench(c: &mut Criterion) {
    let engines = engines();
    let only = std::env::var("KILN_SUITE_ONLY").ok();
    for pipeline in [true, false] {
        for workload in suite::workloads(Scale::Bench) {
            if only.as_deref().is_some_and(|o| o != workload.name) {
                continue;
            }
            bench_workload(c, &workload, pipeline, &engines);
        }
    }
    if only.as_deref().is_none_or(|o| o == "fib_recur") {
        fib_recur(c);
    }
}

/// fib_recur(20) through the kernel (21,891 child VMs) against native recursion.
fn fib_recur(c: &mut Criterion) {
    let n = 20u64;
    let expected = kiln_pvm::KernelExit::Halt(suite::native_fib_recur(n).to_le_bytes().to_vec());
    let mut group = c.benchmark_group("suite-fib_recur");
    group.sample_size(10);
    for (name, backend) in kiln_backends() {
        assert_eq!(suite::fib_recur_kernel(n, backend), expected, "{name}");
        group.bench_function(name, |b| b.iter(|| suite::fib_recur_kernel(n, backend)));
    }
    group.bench_function("native", |b| {
        b.iter(|| suite::native_fib_recur(std::hint::black_box(n)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
