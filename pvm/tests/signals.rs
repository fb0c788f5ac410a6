//! The recompiler's SIGSEGV handler takes only faults of guest accesses in generated code: a
//! fault anywhere else, or a SIGSEGV sent by another process, reaches the handler installed
//! before it. Checked in a child process, since the previous handler ends it.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::process::Command;
use std::sync::Arc;

use kiln_pvm::recompiler::{CompiledProgram, RecompiledInstance};
use kiln_pvm::{ExitReason, IsaVariant, Profile, Program};

const CHILD: &str = "KILN_SIGNAL_TEST_CHILD";
const TEST: &str = "faults_that_are_not_guest_accesses_reach_the_previous_handler";
const PREVIOUS_HANDLER_RAN: i32 = 42;

extern "C" fn previous_handler(_signal: libc::c_int) {
    // SAFETY: `_exit` is async-signal-safe.
    unsafe { libc::_exit(PREVIOUS_HANDLER_RAN) };
}

/// In the child: installs a handler, then Kiln's (by compiling), checks that a guest fault is
/// still Kiln's, then raises a host fault (`fault`) or sends its thread SIGSEGV (`sent`).
fn child(mode: &str) -> ! {
    // SAFETY: installing a plain handler in this single-purpose child process.
    unsafe {
        libc::signal(
            libc::SIGSEGV,
            previous_handler as *const () as libc::sighandler_t,
        )
    };
    let blob = kiln_pvm::asm::assemble("load_u8 r1, 0x20000\ntrap\n", IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program = Arc::new(Program::from_blob_bytes(&blob, Profile::JAM_07).unwrap());
    let mut vm = RecompiledInstance::new(CompiledProgram::compile(program).unwrap()).unwrap();
    vm.set_gas(10);
    assert_eq!(vm.run(), ExitReason::PageFault(0x20000));
    // SAFETY: deliberately faulting on a fresh inaccessible page of this child, or signalling it.
    unsafe {
        match mode {
            "fault" => {
                let page = libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                std::ptr::write_volatile(page.cast::<u8>(), 1);
            }
            _ => {
                // Thread-directed, so it is delivered before `raise` returns (a process-directed
                // `kill` may land on another thread while this one exits).
                libc::raise(libc::SIGSEGV);
            }
        }
    }
    std::process::exit(1);
}

#[test]
fn faults_that_are_not_guest_accesses_reach_the_previous_handler() {
    if let Ok(mode) = std::env::var(CHILD) {
        child(&mode);
    }
    for mode in ["fault", "sent"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD, mode)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(PREVIOUS_HANDLER_RAN),
            "{mode}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
