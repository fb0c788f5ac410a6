//! Random kernel-operation sequences: both backends agree, and the kernel's invariants (no
//! leaked VM or page, mappings exactly as recorded, gas only on the call stack) hold after
//! every step (see `kiln_pvm::testing::kernel_ops`). The `kernel_ops` fuzz target runs the
//! same check on fuzzer-chosen sequences.

use kiln_pvm::testing::kernel_ops::KernelCase;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_operation_sequences_keep_the_invariants(seed in any::<u64>()) {
        let case = KernelCase::generated(seed);
        if let Err(e) = case.run() {
            panic!("{e}\n{}", case.source);
        }
    }
}

#[test]
fn generated_sequences_reach_many_outcomes() {
    // The generator is useful only if sequences get past the first steps and into children:
    // count, over a fixed set of seeds, probes, exits inside children and the VM counts seen.
    let mut probes = 0;
    let mut deep = 0;
    let mut vm_counts = std::collections::BTreeSet::new();
    for seed in 0..100 {
        let t = KernelCase::generated(seed).run().expect("agrees");
        probes += t.iter().filter(|l| l.starts_with("HostCall(0)")).count();
        deep += t.iter().filter(|l| !l.contains(" depth 1 ")).count();
        for line in &t {
            let vms = line.split(" vms ").nth(1).and_then(|r| r.split(' ').next());
            vm_counts.insert(vms.unwrap_or("").to_string());
        }
    }
    assert!(probes > 1000, "{probes} probes");
    assert!(deep > 100, "{deep} exits inside children");
    assert!(vm_counts.len() >= 3, "{vm_counts:?}");
}
