//! The interpreter and the recompiler must agree exactly (exit, pc, registers, gas, memory at
//! every exit, across host-call, out-of-gas and page-fault resumes) on any case the input
//! describes: a generated program with mutated bytes, or raw code, mask and jump-table bytes
//! (see `kiln_pvm::testing::differential::Case::from_fuzz_bytes`).
#![no_main]

use kiln_pvm::testing::differential::{run_on_both, Case};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::from_fuzz_bytes(data) else {
        return;
    };
    if let Err(difference) = run_on_both(&case, 64) {
        panic!("backends disagree: {difference}\n{case:x?}");
    }
});
