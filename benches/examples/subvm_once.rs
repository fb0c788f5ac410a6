//! Runs one kernel workload (for profilers): `subvm_once [fib N | calls N] [backend]`.
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::kernel::{Kernel, KernelExit};
use kiln_pvm::testing::kernel_programs;
use kiln_pvm::{Backend, IsaVariant, Profile};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u32 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    let src = match args.first().map(String::as_str) {
        Some("calls") => kernel_programs::call_reply_loop(n),
        // The root alone: `ecalli 1` (a PROTOCOL cap) n times, answered by this loop.
        Some("host") => format!(
            ".stack_size 4096\nload_imm r2, {n}\nfallthrough\nagain:\necalli 1\n\
             add_imm_64 r2, r2, -1\nbranch_ne_imm r2, 0, again\njump_ind r0, 0\n"
        ),
        _ => kernel_programs::fib(n),
    };
    let backend: Backend = args
        .get(2)
        .map(|b| b.parse().expect("a backend"))
        .unwrap_or(Backend::Recompiler);
    let Assembled::Standard(program) = assemble(&src, IsaVariant::Jam07).expect("assembles") else {
        panic!("a standard program");
    };
    let start = std::time::Instant::now();
    let mut kernel = Kernel::new(&program, &[], 1 << 40, Profile::JAM_07, backend).unwrap();
    loop {
        match kernel.run() {
            KernelExit::HostCall(0) => println!("result {}", kernel.reg(8)),
            KernelExit::HostCall(1) => kernel.set_reg(7, 0),
            KernelExit::Halt(_) => break,
            other => panic!("{other:?}"),
        }
    }
    println!("{:?} on {backend:?}", start.elapsed());
}
