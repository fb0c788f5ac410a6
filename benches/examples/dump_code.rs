//! Writes a workload's generated machine code to a file (for `objdump -D -b binary -mi386:x86-64`):
//! `dump_code fib|memory|hostcall OUT`.
fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "fib".into());
    let out = args.next().unwrap_or_else(|| "code.bin".into());
    let workload = kiln_benches::workload_named(&name, 10);
    let code = kiln_benches::kiln_code(&workload, kiln_pvm::Backend::Recompiler);
    let kiln_pvm::Code::Compiled(compiled) = code else {
        panic!("not compiled");
    };
    std::fs::write(&out, compiled.code()).expect("write");
    println!("{} bytes of code in {out}", compiled.code_len());
}
