//! Runs one benchmark workload on Kiln once (for `valgrind --tool=callgrind`):
//! `run_workload fib|memory|hostcall [iterations] [interpreter|recompiler]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "fib".into());
    let iterations = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let backend = args
        .next()
        .and_then(|b| b.parse().ok())
        .unwrap_or(kiln_pvm::Backend::Interpreter);
    let workload = kiln_benches::workload_named(&name, iterations);
    let code = kiln_benches::kiln_code(&workload, backend);
    let (a0, gas) = kiln_benches::run_kiln(&workload, &code);
    println!(
        "{}: a0 = {a0}, gas = {gas}, guest instructions = {}",
        workload.name, workload.instructions
    );
}
