//! Decodes a 1 MiB synthetic program once and prints the time, instruction and block counts and
//! total block cost. Handy under `valgrind --tool=callgrind` for stable instruction counts:
//! `cargo build --release -p kiln-benches --examples &&
//!  valgrind --tool=callgrind ./target/release/examples/decode_once pipeline [compiled]`.

fn main() {
    let mix = match std::env::args().nth(2).as_deref() {
        Some("compiled") => kiln_benches::Mix::CompiledLike,
        _ => kiln_benches::Mix::Uniform,
    };
    let blob =
        kiln_benches::synthetic_blob_with(1 << 20, kiln_pvm::IsaVariant::GasDraft, 0x5eed, mix);
    let profile = match std::env::args().nth(1).as_deref() {
        Some("pipeline") => kiln_pvm::Profile::GAS_DRAFT,
        _ => kiln_pvm::Profile::from_name("gas-draft+per-instruction").expect("known profile"),
    };
    let started = std::time::Instant::now();
    let program = kiln_pvm::Program::from_blob_bytes(&blob, profile).expect("decodes");
    let elapsed = started.elapsed();
    let total: u64 = program.block_costs().map(|(_, c)| c).sum();
    println!(
        "{} bytes, {} instructions, {} blocks, total block cost {total}, decoded in {elapsed:?}",
        blob.len(),
        program.insts().len(),
        program.block_start_indices().len(),
    );
}
