//! The capability kernel: recursive Fibonacci where every call CREATEs a child VM and CALLs it
//! (fib(20): 21,890 children, each created, called once and dropped), and the CALL + REPLY
//! round trip between two VMs of one program, on both backends. Also prints the host memory an
//! idle VM takes. (PolkaVM has no kernel to compare with; JAR's javm figures are in
//! `docs/benchmarks.md`.)

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::kernel::{Kernel, KernelExit};
use kiln_pvm::testing::kernel_programs;
use kiln_pvm::{Backend, IsaVariant, Profile, StandardProgram};

fn standard(src: &str) -> StandardProgram {
    match assemble(src, IsaVariant::Jam07).expect("assembles") {
        Assembled::Standard(p) => p,
        Assembled::Blob(_) => panic!("a standard program"),
    }
}

/// Runs an invocation to its halt, answering the probe; returns the root's `φ8` at the probe.
fn run(program: &StandardProgram, backend: Backend) -> u64 {
    let mut kernel = Kernel::new(program, &[], 1 << 40, Profile::JAM_07, backend).expect("kernel");
    let mut result = 0;
    loop {
        match kernel.run() {
            KernelExit::HostCall(0) => result = kernel.reg(8),
            KernelExit::Halt(_) => return result,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let fib = standard(&kernel_programs::fib(20));
    let mut group = c.benchmark_group("subvm/fib20");
    group.sample_size(20);
    for backend in [Backend::Recompiler, Backend::Interpreter] {
        assert_eq!(run(&fib, backend), 6765);
        group.bench_function(BenchmarkId::new("kiln", backend.name()), |b| {
            b.iter(|| run(&fib, backend))
        });
    }
    group.finish();

    const ROUNDS: u32 = 10_000;
    let calls = standard(&kernel_programs::call_reply_loop(ROUNDS));
    let mut group = c.benchmark_group("subvm/call-reply");
    group.throughput(Throughput::Elements(u64::from(ROUNDS)));
    for backend in [Backend::Recompiler, Backend::Interpreter] {
        group.bench_function(BenchmarkId::new("kiln", backend.name()), |b| {
            b.iter(|| run(&calls, backend))
        });
    }
    group.finish();

    eprintln!(
        "subvm: an idle VM record takes {} bytes, plus {} bytes per cap entry",
        Kernel::bytes_per_vm(),
        kiln_pvm::kernel::cap_entry_bytes()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
