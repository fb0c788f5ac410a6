//! Decoding cost: a 1 MiB synthetic program decoded into a `Program` (instructions, blocks, jump
//! table and per-block gas) under each gas model, for two opcode mixes. The pipeline model
//! simulates every block.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_benches::{synthetic_blob_with, Mix};
use kiln_pvm::{IsaVariant, Profile, Program};

fn bench(c: &mut Criterion) {
    for (mix_name, mix) in [
        ("uniform", Mix::Uniform),
        ("compiled-like", Mix::CompiledLike),
    ] {
        let blob = synthetic_blob_with(1 << 20, IsaVariant::GasDraft, 0x5eed, mix);
        let mut group = c.benchmark_group(format!("decode/1MiB-{mix_name}"));
        group.throughput(Throughput::Bytes(blob.len() as u64));
        group.sample_size(10);
        for (name, profile) in [
            (
                "per-instruction",
                Profile::from_name("gas-draft+per-instruction").expect("known profile"),
            ),
            ("pipeline", Profile::GAS_DRAFT),
        ] {
            group.bench_function(BenchmarkId::new("kiln", name), |b| {
                b.iter(|| Program::from_blob_bytes(&blob, profile).expect("decodes"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
