//! Malformed and unsupported ELFs give errors, never panics: random mutations of real guest
//! ELFs go through the whole linker (and, when they still link, through decoding and a short run
//! on the interpreter).

use std::sync::Arc;

use kiln_link::{link, LinkOptions};
use kiln_pvm::{Backend, Code, Profile};
use proptest::prelude::*;

const FIXTURES: [&[u8]; 2] = [
    include_bytes!("fixtures/fib_rv64emc.elf"),
    include_bytes!("fixtures/mix_rv64emc.elf"),
];

fn mutated(which: usize, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut bytes = FIXTURES[which % 2].to_vec();
    for &(at, xor) in edits {
        let i = at % bytes.len();
        bytes[i] ^= xor;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn mutated_elfs_never_panic_the_linker(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutated(which, &edits, cut);
        if let Ok(program) = link(&bytes, &LinkOptions::default()) {
            if let Ok(decoded) = program.decode(Profile::JAM_07) {
                let code = Code::prepare(Arc::new(decoded), Backend::Interpreter).unwrap();
                if let Ok(mut vm) = program.instantiate(&code, &[], 0, 10_000) {
                    let _ = vm.run();
                }
            }
        }
    }
}

#[test]
fn every_byte_corrupted_alone_is_handled() {
    for fixture in FIXTURES {
        for i in 0..fixture.len() {
            let mut bytes = fixture.to_vec();
            bytes[i] ^= 0xFF;
            let _ = link(&bytes, &LinkOptions::default());
        }
    }
}
