//! Compiles a 1 MiB generated program repeatedly (for profilers):
//! `compile_once [per-instruction|pipeline] [times]`.
use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let pipeline = args.next().as_deref() == Some("pipeline");
    let times: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let (isa, profile) = if pipeline {
        (kiln_pvm::IsaVariant::Jam08, kiln_pvm::Profile::JAM_08)
    } else {
        (kiln_pvm::IsaVariant::Jam07, kiln_pvm::Profile::JAM_07)
    };
    let blob =
        kiln_benches::synthetic_blob_with(1 << 20, isa, 0x5eed, kiln_benches::Mix::CompiledLike);
    let t = std::time::Instant::now();
    for _ in 0..times {
        let program = kiln_pvm::Program::from_blob_bytes(&blob, profile).expect("decodes");
        kiln_pvm::recompiler::CompiledProgram::compile(Arc::new(program)).expect("compiles");
    }
    let per = t.elapsed() / times;
    let t = std::time::Instant::now();
    for _ in 0..times {
        kiln_pvm::Program::from_blob_bytes(&blob, profile).expect("decodes");
    }
    let decode = t.elapsed() / times;
    let program = kiln_pvm::Program::from_blob_bytes(&blob, profile).expect("decodes");
    let compiled = kiln_pvm::recompiler::CompiledProgram::compile(Arc::new(program)).unwrap();
    println!("decode {decode:?}, code {} bytes", compiled.code_len());
    println!(
        "{per:?} per compile, {:.1} MiB/s",
        blob.len() as f64 / per.as_secs_f64() / (1 << 20) as f64
    );
}
