//! Times creating an instance of an already prepared program and running it to halt (for
//! profilers): `instantiate [interpreter|recompiler] [bare|standard|alternating]`. `standard` is
//! the program of the `start` bench (read-only and read-write data, stack, arguments);
//! `alternating` starts it and a program with another layout in turn, as the bench does.
use std::sync::Arc;

use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{Backend, Code, ExitReason, IsaVariant, Profile};

/// The other layout of `alternating` (the `start` bench's).
const OTHER_LAYOUT: &str =
    ".rw_data\n.bytes 05 06 07 08\n.heap_pages 3\n.stack_size 65536\n.code\njump_ind r0, 0\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let backend: Backend = args
        .next()
        .and_then(|b| b.parse().ok())
        .unwrap_or(Backend::Interpreter);
    let mode = args.next().unwrap_or_default();
    let standard = mode == "standard" || mode == "alternating";
    let source = if standard {
        ".ro_data\n.bytes 01 02 03 04\n.rw_data\n.bytes 05 06 07 08\n.stack_size 16384\n.code\njump_ind r0, 0\n"
    } else {
        "jump_ind r0, 0\n"
    };
    let n = 20_000;
    let t = std::time::Instant::now();
    match assemble(source, IsaVariant::Jam07).unwrap() {
        Assembled::Standard(p) => {
            let program = Arc::new(p.decode(Profile::JAM_07).unwrap());
            let code = Code::prepare(program, backend).unwrap();
            let other = match assemble(OTHER_LAYOUT, IsaVariant::Jam07).unwrap() {
                Assembled::Standard(other) => other,
                Assembled::Blob(_) => unreachable!("a standard program"),
            };
            let other_code =
                Code::prepare(Arc::new(other.decode(Profile::JAM_07).unwrap()), backend).unwrap();
            for i in 0..n {
                let (p, code) = if mode == "alternating" && i % 2 == 1 {
                    (&other, &other_code)
                } else {
                    (&p, &code)
                };
                let mut vm = p.instantiate(code, b"args", 0, 100).unwrap();
                assert_eq!(vm.run(), ExitReason::Halt);
            }
        }
        Assembled::Blob(blob) => {
            let program = Arc::new(
                kiln_pvm::Program::from_blob_bytes(&blob.to_bytes(), Profile::JAM_07).unwrap(),
            );
            let code = Code::prepare(program, backend).unwrap();
            for _ in 0..n {
                let mut vm = code.instantiate().unwrap();
                vm.set_reg(0, 0xFFFF_0000);
                vm.set_gas(100);
                assert_eq!(vm.run(), ExitReason::Halt);
            }
        }
    }
    println!(
        "{}: instantiate + run to halt: {:?} per instance",
        backend.name(),
        t.elapsed() / n
    );
}
