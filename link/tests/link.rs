//! Whole programs: a Zig guest linked by `kiln-link` runs on both backends with the result its
//! source computes natively.

use std::sync::Arc;

use kiln_link::{link, LinkOptions};
use kiln_pvm::{Backend, Code, ExitReason, Profile};

const FIB: &[u8] = include_bytes!("fixtures/fib_rv64emc.elf");

fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

#[test]
fn a_linked_zig_guest_computes_what_its_source_says_on_both_backends() {
    let program = link(FIB, &LinkOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let decoded = Arc::new(program.decode(Profile::JAM_07).expect("decodes"));
    for backend in [Backend::Interpreter, Backend::Recompiler] {
        let code = Code::prepare(decoded.clone(), backend).unwrap();
        for n in [0u64, 1, 2, 10, 20] {
            let mut vm = program.instantiate(&code, &[], 0, 100_000_000).unwrap();
            vm.set_reg(7, n);
            let exit = vm.run();
            assert_eq!(exit, ExitReason::Halt, "n = {n} on {backend:?}");
            // entry(n) = table[n & 1](n) + recur(n), both Fibonacci.
            assert_eq!(vm.reg(7), 2 * fib(n), "n = {n} on {backend:?}");
        }
    }
}
