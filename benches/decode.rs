//! Decoding cost: a 1 MiB synthetic program decoded into a `Program` (instructions, blocks, jump
//! table and per-block gas) under each gas model. The pipeline model simulates every block.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kiln_benches::synthetic_blob;
use kiln_pvm::{IsaVariant, Profile, Program};

fn bench(c: &mut Criterion) {
    let blob = synthetic_blob(1 << 20, IsaVariant::GasDraft, 0x5eed);
    let mut group = c.benchmark_group("decode/1MiB");
    group.throughput(Throughput::Bytes(blob.len() as u64));
    group.sample_size(10);
    for (name, profile) in [
        (
            "per-instruction",
            Profile::from_name("gas-draft+per-instruction").unwrap(),
        ),
        ("pipeline", Profile::GAS_DRAFT),
    ] {
        group.bench_function(BenchmarkId::new("kiln", name), |b| {
            b.iter(|| Program::from_blob_bytes(&blob, profile).expect("decodes"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
