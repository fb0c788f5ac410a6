//! Writes PolkaVM 0.37's machine code for a workload to a file and prints its pc → offset map
//! (to compare with Kiln's `dump_code`): `dump_polkavm fib|memory|hostcall OUT`, then
//! `objdump -D -b binary -mi386:x86-64 -M intel OUT`.
#[path = "../polkavm_support.rs"]
mod polkavm_support;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "fib".into());
    let out = args.next().unwrap_or_else(|| "polkavm.bin".into());
    let workload = kiln_benches::workload_named(&name, 10);
    let engine = polkavm_support::engine(polkavm::BackendKind::Compiler).expect("PolkaVM compiler");
    let module = polkavm_support::module(
        &engine,
        &workload.blob,
        polkavm_support::Gas::PerInstruction,
        workload.rw_pages,
        0,
    )
    .expect("PolkaVM accepts the workload");
    let code = module.machine_code().expect("compiled module");
    std::fs::write(&out, code).expect("write");
    println!("{} bytes of code in {out}", code.len());
    for (pc, offset) in module
        .program_counter_to_machine_code_offset()
        .unwrap_or_default()
    {
        println!("pc {} at {offset:#x}", pc.0);
    }
}
