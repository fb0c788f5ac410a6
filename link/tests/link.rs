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
    for &backend in Backend::available() {
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

const MIX: &[u8] = include_bytes!("fixtures/mix_rv64emc.elf");

/// `mix.zig`'s `entry`, natively; `host` stands for host call 100.
fn mix(n: u64, host: impl Fn(u64) -> u64) -> u64 {
    let ops: [fn(u64, u64) -> u64; 4] = [
        |a, b| a.wrapping_add(b),
        |a, b| a.wrapping_sub(b),
        |a, b| a.wrapping_mul(b),
        |a, b| a.checked_div(b).unwrap_or(0),
    ];
    let mut counters = [0u64; 4];
    let mut acc = n;
    for i in 0..16u64 {
        acc = ops[(i.wrapping_add(n) % 4) as usize](acc, i + 3);
        counters[(i % 4) as usize] = counters[(i % 4) as usize].wrapping_add(acc);
    }
    let words = b"the quick brown fox jumps over the lazy dog";
    let mut h: u32 = 2166136261;
    for &c in &words[..(n % 40) as usize + 3] {
        h ^= u32::from(c);
        h = h.wrapping_mul(16777619);
    }
    let q = i64::from(h as i32) / 7;
    let r = host(acc);
    acc ^ u64::from(h) ^ q as u64 ^ counters[1] ^ r
}

#[test]
fn globals_function_pointers_in_data_strings_and_host_calls_survive_linking() {
    let program = link(MIX, &LinkOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let decoded = Arc::new(program.decode(Profile::JAM_07).expect("decodes"));
    let answer = |arg: u64| arg ^ 0xABCD;
    for &backend in Backend::available() {
        let code = Code::prepare(decoded.clone(), backend).unwrap();
        for n in [0u64, 1, 5, 38, 1000, u64::MAX] {
            let mut vm = program.instantiate(&code, &[], 0, 100_000_000).unwrap();
            vm.set_reg(7, n);
            let mut calls = 0;
            let exit = loop {
                match vm.run() {
                    ExitReason::HostCall(100) => {
                        calls += 1;
                        let arg = vm.reg(7);
                        vm.set_reg(7, answer(arg));
                    }
                    other => break other,
                }
            };
            assert_eq!(exit, ExitReason::Halt, "n = {n} on {backend:?}");
            assert_eq!(calls, 1);
            assert_eq!(vm.reg(7), mix(n, answer), "n = {n} on {backend:?}");
        }
    }
}

/// `switch.zig`'s `entry`, natively.
fn switch_reference(n: u64) -> u64 {
    let pick = |x: u64| match x % 13 {
        0 => 17,
        1 => x.wrapping_mul(3),
        2 => x.wrapping_add(99),
        3 => x ^ 0x5555,
        4 => x >> 3,
        5 => x << 7,
        6 => x.wrapping_sub(1000),
        7 => x / 7,
        8 => x % 11,
        9 => !x,
        10 => x.wrapping_mul(x),
        11 => 12345,
        _ => 0,
    };
    let (mut acc, mut counter) = (0u64, 0u64);
    for i in 0..n {
        acc = acc.wrapping_add(pick(i.wrapping_mul(7).wrapping_add(acc)));
        counter += 1;
    }
    acc ^ counter
}

#[test]
fn jump_tables_and_both_code_models_link() {
    for (model, elf) in [
        ("medlow", &include_bytes!("fixtures/switch_medlow.elf")[..]),
        ("medany", &include_bytes!("fixtures/switch_medany.elf")[..]),
    ] {
        let program = link(elf, &LinkOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let decoded = Arc::new(program.decode(Profile::JAM_07).expect("decodes"));
        for &backend in Backend::available() {
            let code = Code::prepare(decoded.clone(), backend).unwrap();
            for n in [0u64, 1, 13, 100] {
                let mut vm = program.instantiate(&code, &[], 0, 100_000_000).unwrap();
                vm.set_reg(7, n);
                assert_eq!(
                    vm.run(),
                    ExitReason::Halt,
                    "{model}, n = {n} on {backend:?}"
                );
                assert_eq!(
                    vm.reg(7),
                    switch_reference(n),
                    "{model}, n = {n} on {backend:?}"
                );
            }
        }
    }
}
