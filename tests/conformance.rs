//! Runs the public PVM conformance vectors in `../shared/conformance` on every backend.

use kiln_node::conformance::{all_backends, run_paths};

/// Runs every vector under `sub` on every backend; at least `expected_at_least` cases each.
fn run(sub: &str, expected_at_least: usize) {
    let Some(dir) = kiln_tests::conformance_dir() else {
        eprintln!(
            "SKIP: ../shared/conformance is not beside the repository; conformance vectors not run"
        );
        return;
    };
    let path = dir.join(sub);
    if !path.is_dir() {
        eprintln!("SKIP: {} is absent", path.display());
        return;
    }
    let mut out = Vec::new();
    let backends = all_backends();
    let summary = run_paths(&[path], backends, None, &mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert_eq!(summary.failed, 0, "conformance failures:\n{text}");
    assert!(
        summary.passed >= expected_at_least * backends.len(),
        "only {} cases ran:\n{text}",
        summary.passed
    );
}

#[test]
fn w3f_pvm_v0_4_vectors_pass() {
    run("pvm-v0.4/programs", 255);
}

#[test]
fn gas_model_draft_vectors_pass() {
    run("gas-model-draft/tests/programs", 356);
}
