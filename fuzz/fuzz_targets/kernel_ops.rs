//! Kernel operation sequences chosen by the fuzzer: both backends agree and the kernel's
//! invariants hold after every step (see `kiln_pvm::testing::kernel_ops`).
#![no_main]

use kiln_pvm::testing::kernel_ops::KernelCase;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let case = KernelCase::from_fuzz_bytes(data);
    if let Err(problem) = case.run() {
        panic!("{problem}\n{}", case.source);
    }
});
