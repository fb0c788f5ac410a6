//! The benchmark suite's correctness check (fast sizes, in CI): every guest workload gives the
//! native Rust result on both Kiln backends with exactly the same gas, and the same result as
//! PolkaVM 0.37 — with the same gas too, under both gas models.

#[path = "../polkavm_support.rs"]
mod polkavm_support;

use kiln_benches::suite::{self, host_answer, Scale};
use kiln_pvm::Backend;
use polkavm::BackendKind;

#[test]
fn every_workload_agrees_with_native_and_polkavm_on_output_and_gas() {
    let polkavm: Vec<_> = [BackendKind::Interpreter, BackendKind::Compiler]
        .into_iter()
        .filter_map(polkavm_support::engine)
        .collect();
    assert!(!polkavm.is_empty(), "PolkaVM's interpreter runs anywhere");
    for workload in suite::workloads(Scale::Test) {
        let expected = (workload.native)();
        for pipeline in [false, true] {
            let profile = suite::kiln_profile(pipeline);
            let mut gas = None;
            for &backend in Backend::available() {
                let code = suite::prepare(&workload, backend, profile);
                let (out, used) = suite::run_kiln(&workload, &code);
                assert_eq!(
                    out, expected,
                    "{} on Kiln {backend:?} ({profile})",
                    workload.name
                );
                assert_eq!(
                    *gas.get_or_insert(used),
                    used,
                    "{}: backends' gas",
                    workload.name
                );
            }
            for engine in &polkavm {
                let module = polkavm_support::standard_module(engine, &workload.program, pipeline)
                    .expect("PolkaVM takes the program");
                let (out, used) =
                    polkavm_support::run_standard(&module, &workload.args, host_answer);
                assert_eq!(out, expected, "{} on PolkaVM ({profile})", workload.name);
                assert_eq!(
                    Some(used),
                    gas,
                    "{}: PolkaVM's gas ({profile})",
                    workload.name
                );
            }
        }
    }
}

#[test]
fn fib_recur_agrees_with_native_recursion() {
    use kiln_pvm::KernelExit;
    for &backend in Backend::available() {
        let expected = suite::native_fib_recur(12).to_le_bytes().to_vec();
        assert_eq!(
            suite::fib_recur_kernel(12, backend),
            KernelExit::Halt(expected),
            "{backend:?}"
        );
    }
}
