//! Helpers shared by the semantics integration tests, which run on every backend: wrap a test
//! file's tests in `on_every_backend! { ... }` and they are compiled once per backend, each copy
//! with its own `BACKEND` and the `start` / `start_with` / `prepare` helpers bound to it.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use kiln_pvm::asm::assemble;
use kiln_pvm::program::Origin;
use kiln_pvm::{Backend, Code, ExitReason, Profile, Program, Vm, HALT_ADDRESS};

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

/// Runs the enclosed tests on every backend this build has, in modules `interpreter` and
/// `recompiler`.
#[macro_export]
macro_rules! on_every_backend {
    ($($body:tt)*) => {
        mod interpreter {
            #[allow(unused_imports)]
            use super::*;
            const BACKEND: kiln_pvm::Backend = kiln_pvm::Backend::Interpreter;
            $crate::backend_helpers!();
            $($body)*
        }
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        mod recompiler {
            #[allow(unused_imports)]
            use super::*;
            const BACKEND: kiln_pvm::Backend = kiln_pvm::Backend::Recompiler;
            $crate::backend_helpers!();
            $($body)*
        }
    };
}

/// `start`, `start_with` and `prepare` on the enclosing module's `BACKEND`.
#[macro_export]
macro_rules! backend_helpers {
    () => {
        #[allow(dead_code)]
        fn start(src: &str, regs: &[(usize, u64)]) -> (kiln_pvm::Vm, Vec<u32>) {
            $crate::common::start_on(BACKEND, src, kiln_pvm::Profile::JAM_07, regs)
        }
        #[allow(dead_code)]
        fn start_with(
            src: &str,
            profile: kiln_pvm::Profile,
            regs: &[(usize, u64)],
        ) -> (kiln_pvm::Vm, Vec<u32>) {
            $crate::common::start_on(BACKEND, src, profile, regs)
        }
        #[allow(dead_code)]
        fn prepare(program: std::sync::Arc<kiln_pvm::Program>) -> kiln_pvm::Code {
            kiln_pvm::Code::prepare(program, BACKEND).unwrap()
        }
    };
}

/// An instance of `src` on `backend` with `GAS` gas, r0 = the halt address and `regs` set.
pub fn start_on(
    backend: Backend,
    src: &str,
    profile: Profile,
    regs: &[(usize, u64)],
) -> (Vm, Vec<u32>) {
    let program = load(src, profile);
    let pcs = pcs(&program);
    let code = Code::prepare(program, backend).unwrap();
    assert_eq!(code.backend(), backend);
    let mut vm = code.instantiate().unwrap();
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
pub fn check(vm: &Vm, exit: ExitReason, want: (ExitReason, u32, i64, [u64; 13]), what: &str) {
    assert_eq!(exit, want.0, "exit of {what}");
    assert_eq!(vm.pc(), want.1, "pc of {what}");
    assert_eq!(vm.gas(), want.2, "gas of {what}");
    assert_eq!(vm.regs(), want.3, "registers of {what}");
}

pub fn read(vm: &Vm, addr: u32, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    vm.memory().host_read(addr, &mut buf);
    buf
}
