//! Compile speed: a 1 MiB generated program of many small blocks (a branch every 12–19
//! instructions, a compiled-code-like opcode mix) turned into runnable code, under each gas
//! model: Kiln (decode, per-block gas, code generation) against PolkaVM 0.37's compiler module
//! creation, in the same run. Throughput is bytes of PVM code per second.

mod polkavm_support;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_benches::{synthetic_blob_with, Mix};
use kiln_pvm::recompiler::CompiledProgram;
use kiln_pvm::{IsaVariant, Program};
use polkavm::BackendKind;
use polkavm_support::Gas;

fn bench(c: &mut Criterion) {
    // PolkaVM's interpreter prepares code lazily, so only its compiler is comparable here.
    let engines: Vec<(&str, polkavm::Engine)> = polkavm_support::engine(BackendKind::Compiler)
        .map(|e| ("compiler", e))
        .into_iter()
        .collect();
    for gas in [Gas::PerInstruction, Gas::Pipeline] {
        let profile = gas.kiln_profile();
        let isa = match gas {
            Gas::PerInstruction => IsaVariant::Jam07,
            Gas::Pipeline => IsaVariant::Jam08,
        };
        let blob = synthetic_blob_with(1 << 20, isa, 0x5eed, Mix::CompiledLike);
        let program = Program::from_blob_bytes(&blob, profile).expect("decodes");
        eprintln!(
            "compile/{}: {} bytes, {} instructions, {} blocks",
            gas.name(),
            blob.len(),
            program.insts().len(),
            program.block_start_indices().len()
        );
        let mut group = c.benchmark_group(format!("compile/1MiB/{}", gas.name()));
        group.throughput(Throughput::Bytes(blob.len() as u64));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("kiln", "recompiler"), |b| {
            b.iter(|| {
                let program = Program::from_blob_bytes(&blob, profile).expect("decodes");
                CompiledProgram::compile(Arc::new(program)).expect("compiles")
            })
        });
        group.bench_function(BenchmarkId::new("kiln", "decode-only"), |b| {
            b.iter(|| Program::from_blob_bytes(&blob, profile).expect("decodes"))
        });
        for (name, engine) in &engines {
            if let Err(e) = polkavm_support::module(engine, &blob, gas, 0, 0) {
                eprintln!("PolkaVM {name} rejects the program: {e}");
                continue;
            }
            group.bench_function(BenchmarkId::new("polkavm-0.37", name), |b| {
                b.iter(|| polkavm_support::module(engine, &blob, gas, 0, 0).expect("module"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
