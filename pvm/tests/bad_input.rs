//! Any byte string as a blob or standard program, and any program run on any state, ends in a
//! typed error or a PVM exit: never a host panic or a hang.

use std::sync::Arc;

use kiln_pvm::{Access, CodeBlob, ExitReason, Instance, Profile, Program, StandardProgram};
use proptest::prelude::*;

const PROFILES: [Profile; 3] = [Profile::JAM_07, Profile::GAS_DRAFT, Profile::JAM_08];

fn blob_strategy() -> impl Strategy<Value = CodeBlob> {
    (
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 0..32),
        prop::collection::vec(0u32..256, 0..8),
    )
        .prop_map(|(code, mask_bytes, jump_table)| {
            let mut mask = vec![0u8; code.len().div_ceil(8)];
            for (i, m) in mask.iter_mut().enumerate() {
                *m = mask_bytes.get(i).copied().unwrap_or(0x55);
            }
            if code.len() % 8 != 0 {
                if let Some(last) = mask.last_mut() {
                    *last &= (1u8 << (code.len() % 8)) - 1;
                }
            }
            CodeBlob {
                jump_table,
                code,
                mask,
            }
        })
}

/// Runs to a final exit or until the step budget ends, serving host calls and mapping faulting
/// pages like an embedder would.
fn drive(vm: &mut Instance) -> ExitReason {
    for _ in 0..64 {
        match vm.run() {
            ExitReason::HostCall(_) => vm.set_reg(7, u64::MAX - 1),
            ExitReason::PageFault(addr) => {
                vm.memory_mut().set_access(addr, 1, Access::Write).unwrap();
            }
            other => return other,
        }
    }
    ExitReason::OutOfGas
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_loaders(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for profile in PROFILES {
            let _ = Program::from_blob_bytes(&bytes, profile);
        }
        let _ = StandardProgram::parse(&bytes);
        let _ = StandardProgram::parse_service_code(&bytes);
    }

    #[test]
    fn arbitrary_programs_run_to_an_exit(
        blob in blob_strategy(),
        regs in prop::array::uniform13(any::<u64>()),
        pc in 0u32..220,
        gas in 0i64..5_000,
    ) {
        // Round trip through bytes: parse must accept what to_bytes writes.
        let reparsed = CodeBlob::parse(&blob.to_bytes()).unwrap();
        prop_assert_eq!(&reparsed, &blob);
        for profile in PROFILES {
            let Ok(program) = Program::decode(blob.clone(), profile) else { continue };
            let mut vm = Instance::new(Arc::new(program)).unwrap();
            vm.memory_mut().set_access(0x10000, 0x2000, Access::Read).unwrap();
            vm.memory_mut().set_access(0x20000, 0x2000, Access::Write).unwrap();
            vm.set_regs(regs);
            vm.set_gas(gas);
            vm.set_pc(pc);
            let before = vm.gas();
            let _ = drive(&mut vm);
            prop_assert!(vm.gas() >= 0 || before < 0, "gas went negative: {}", vm.gas());
            prop_assert!(vm.gas() <= before);
        }
    }
}

#[test]
fn a_huge_claimed_code_length_is_rejected_without_allocating() {
    let bytes = [0u8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(Program::from_blob_bytes(&bytes, Profile::JAM_07).is_err());
}

#[test]
fn hand_built_blobs_are_validated_by_decode() {
    let blob = CodeBlob {
        jump_table: vec![],
        code: vec![0; 16],
        mask: vec![],
    };
    assert!(matches!(
        Program::decode(blob, Profile::JAM_07),
        Err(kiln_pvm::LoadError::Blob(kiln_pvm::BlobError::MaskLength {
            expected: 2,
            actual: 0
        }))
    ));
    let padded = CodeBlob {
        jump_table: vec![],
        code: vec![0; 3],
        mask: vec![0xFF],
    };
    assert!(Program::decode(padded, Profile::JAM_07).is_err());
}
