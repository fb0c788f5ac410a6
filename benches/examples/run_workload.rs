//! Runs one benchmark workload on Kiln's interpreter once (for `valgrind --tool=callgrind`):
//! `run_workload fib|memory [iterations]`.

use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "fib".into());
    let iterations = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let workload = match name.as_str() {
        "memory" => kiln_benches::memory(iterations),
        _ => kiln_benches::fib(iterations),
    };
    let program = Arc::new(
        kiln_pvm::Program::from_blob_bytes(&workload.blob, kiln_pvm::Profile::JAM_07)
            .expect("decodes"),
    );
    let (a0, gas) = kiln_benches::run_kiln(&workload, &program);
    println!(
        "{}: a0 = {a0}, gas = {gas}, guest instructions = {}",
        workload.name, workload.instructions
    );
}
