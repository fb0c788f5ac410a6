//! Helpers shared by the interpreter integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use kiln_pvm::asm::assemble;
use kiln_pvm::program::Origin;
use kiln_pvm::{ExitReason, Instance, Profile, Program, HALT_ADDRESS};

pub const GAS: i64 = 10_000;
pub const HALT: u64 = HALT_ADDRESS as u64;
pub const MAX: u64 = u64::MAX;

pub fn neg(v: i64) -> u64 {
    v as u64
}

pub fn load(src: &str, profile: Profile) -> Arc<Program> {
    let bytes = assemble(src, profile.isa)
        .unwrap_or_else(|e| panic!("{e}\n{src}"))
        .to_bytes();
    Arc::new(Program::from_blob_bytes(&bytes, profile).unwrap())
}

/// The pcs of the program's real instructions, in order.
pub fn pcs(program: &Program) -> Vec<u32> {
    program
        .instructions()
        .filter(|i| i.origin == Origin::Real)
        .map(|i| i.pc)
        .collect()
}

/// A JAM_07 instance of `src` with `GAS` gas, r0 = the halt address and `regs` set.
pub fn start(src: &str, regs: &[(usize, u64)]) -> (Instance, Vec<u32>) {
    start_with(src, Profile::JAM_07, regs)
}

pub fn start_with(src: &str, profile: Profile, regs: &[(usize, u64)]) -> (Instance, Vec<u32>) {
    let program = load(src, profile);
    let pcs = pcs(&program);
    let mut vm = Instance::new(program).unwrap();
    vm.set_gas(GAS);
    vm.set_reg(0, HALT);
    for &(r, v) in regs {
        vm.set_reg(r, v);
    }
    (vm, pcs)
}

/// Registers: r0 = the halt address, then `set` applied in order, everything else 0.
pub fn regs(set: &[(usize, u64)]) -> [u64; 13] {
    let mut out = [0u64; 13];
    out[0] = HALT;
    for &(r, v) in set {
        out[r] = v;
    }
    out
}

#[track_caller]
pub fn check(vm: &Instance, exit: ExitReason, want: (ExitReason, u32, i64, [u64; 13]), what: &str) {
    assert_eq!(exit, want.0, "exit of {what}");
    assert_eq!(vm.pc(), want.1, "pc of {what}");
    assert_eq!(vm.gas(), want.2, "gas of {what}");
    assert_eq!(vm.regs(), want.3, "registers of {what}");
}

pub fn read(vm: &Instance, addr: u32, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    vm.memory().host_read(addr, &mut buf);
    buf
}
