//! Start-up: creating an instance of an already prepared standard program (one page of
//! read-only data, one of read-write data, 16 KiB of stack, arguments) and running it to an
//! immediate halt, on Kiln's two backends and PolkaVM 0.37's, in the same run. Kiln reuses a
//! pooled address space whose window already has the layout when the same program runs again;
//! `alternating` starts two programs with different layouts in turn, so every start changes
//! page rights.

mod polkavm_support;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{Backend, Code, ExitReason, IsaVariant, Profile};
use polkavm::BackendKind;
use polkavm_support::Gas;

const OTHER_LAYOUT: &str = "
.rw_data
    .bytes 05 06 07 08
.heap_pages 3
.stack_size 65536
.code
    jump_ind r0, 0
";

const SOURCE: &str = "
.ro_data
    .bytes 01 02 03 04
.rw_data
    .bytes 05 06 07 08
.stack_size 16384
.code
    jump_ind r0, 0
";

fn bench(c: &mut Criterion) {
    let Assembled::Standard(standard) = assemble(SOURCE, IsaVariant::Jam07).expect("assembles")
    else {
        panic!("a standard program");
    };
    let Assembled::Standard(other) = assemble(OTHER_LAYOUT, IsaVariant::Jam07).expect("assembles")
    else {
        panic!("a standard program");
    };
    let program = Arc::new(standard.decode(Profile::JAM_07).expect("decodes"));
    let other_program = Arc::new(other.decode(Profile::JAM_07).expect("decodes"));
    let mut group = c.benchmark_group("start/standard-program");
    for backend in [Backend::Recompiler, Backend::Interpreter] {
        let code = Code::prepare(program.clone(), backend).expect("prepares");
        let start = || {
            let mut vm = standard
                .instantiate(&code, b"args", 0, 1000)
                .expect("instance");
            assert_eq!(vm.run(), ExitReason::Halt);
            vm
        };
        start();
        group.bench_function(BenchmarkId::new("kiln", backend.name()), |b| b.iter(start));
        let other_code = Code::prepare(other_program.clone(), backend).expect("prepares");
        let mut flip = false;
        group.bench_function(
            BenchmarkId::new("kiln", format!("{}-alternating", backend.name())),
            |b| {
                b.iter(|| {
                    flip = !flip;
                    let (p, c) = if flip {
                        (&standard, &code)
                    } else {
                        (&other, &other_code)
                    };
                    let mut vm = p.instantiate(c, b"args", 0, 1000).expect("instance");
                    assert_eq!(vm.run(), ExitReason::Halt);
                    vm
                })
            },
        );
    }
    let code = kiln_pvm::CodeBlob::parse(&standard.code)
        .expect("code blob")
        .to_bytes();
    for (name, kind) in [
        ("compiler", BackendKind::Compiler),
        ("interpreter", BackendKind::Interpreter),
    ] {
        let Some(engine) = polkavm_support::engine(kind) else {
            continue;
        };
        let module =
            polkavm_support::module(&engine, &code, Gas::PerInstruction, 1, 16384).expect("module");
        group.bench_function(BenchmarkId::new("polkavm-0.37", name), |b| {
            b.iter(|| polkavm_support::run(&module))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
