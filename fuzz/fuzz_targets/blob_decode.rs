//! Any byte string given as a code blob, standard program or service code must load into a typed
//! error or a program; a loaded program must then run (bounded by gas) to a PVM exit. Never a
//! host panic, hang or crash.
#![no_main]

use std::sync::Arc;

use kiln_pvm::{Access, ExitReason, Instance, Profile, Program, StandardProgram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = StandardProgram::parse(data);
    let _ = StandardProgram::parse_service_code(data);
    for profile in [Profile::JAM_07, Profile::GAS_DRAFT, Profile::JAM_08] {
        let Ok(program) = Program::from_blob_bytes(data, profile) else {
            continue;
        };
        let Ok(mut vm) = Instance::new(Arc::new(program)) else {
            return;
        };
        let _ = vm.memory_mut().set_access(0x20000, 0x4000, Access::Write);
        vm.set_gas(20_000);
        for _ in 0..16 {
            match vm.run() {
                ExitReason::HostCall(_) => {}
                ExitReason::PageFault(addr) => {
                    let _ = vm.memory_mut().set_access(addr, 1, Access::Read);
                }
                _ => break,
            }
        }
    }
});
