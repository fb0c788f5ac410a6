//! The JIT coordinator's lookup cost (issue 9): a hit (compiled code resident) and a miss
//! (interpreted code returned, an observation queued), from one executor thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use kiln_node::code_cache::PreparedCode;
use kiln_node::jit::{Jit, JitConfig, JitKey};
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::{Backend, Code, IsaVariant, Profile};

fn interpreted() -> Arc<PreparedCode> {
    let Assembled::Standard(program) = assemble(
        ".stack_size 4096\n.code\njump_ind r0, 0\n",
        IsaVariant::Jam07,
    )
    .unwrap() else {
        panic!("a standard program")
    };
    let decoded = Arc::new(program.decode(Profile::JAM_07).unwrap());
    let code = Code::prepare(decoded, Backend::Interpreter).unwrap();
    Arc::new(PreparedCode {
        program,
        code,
        bytes: 100,
    })
}

fn bench(c: &mut Criterion) {
    let cold = interpreted();
    let jit = Jit::start(JitConfig {
        threshold: 1,
        // Compiling is not what is measured: keep the interpreted code as the "compiled" one.
        compiler: Arc::new(|p: &PreparedCode| {
            Ok(Arc::new(PreparedCode {
                program: p.program.clone(),
                code: p.code.clone(),
                bytes: p.bytes,
            }))
        }),
        ..JitConfig::default()
    })
    .unwrap();
    let hot = JitKey::new([1; 32], Profile::JAM_07);
    jit.lookup(&hot, &cold);
    let deadline = Instant::now() + Duration::from_secs(10);
    while jit.resident() == 0 {
        assert!(Instant::now() < deadline, "never became resident");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut group = c.benchmark_group("jit-lookup");
    group.bench_function("hit", |b| b.iter(|| jit.lookup(&hot, &cold)));
    // A program that never gets hot: every lookup is a miss that queues an observation.
    let misses = Jit::start(JitConfig {
        threshold: u32::MAX,
        ..JitConfig::default()
    })
    .unwrap();
    let cold_key = JitKey::new([2; 32], Profile::JAM_07);
    group.bench_function("miss", |b| b.iter(|| misses.lookup(&cold_key, &cold)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
