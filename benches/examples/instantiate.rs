//! Times creating an instance of a tiny, already prepared program and running it to halt:
//! `instantiate [interpreter|recompiler]`.
use std::sync::Arc;
fn main() {
    let backend = std::env::args()
        .nth(1)
        .and_then(|b| b.parse().ok())
        .unwrap_or(kiln_pvm::Backend::Interpreter);
    let blob = kiln_pvm::asm::assemble("jump_ind r0, 0\n", kiln_pvm::IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program =
        Arc::new(kiln_pvm::Program::from_blob_bytes(&blob, kiln_pvm::Profile::JAM_07).unwrap());
    let code = kiln_pvm::Code::prepare(program, backend).unwrap();
    let n = 20_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut vm = code.instantiate().unwrap();
        vm.set_reg(0, 0xFFFF_0000);
        vm.set_gas(100);
        assert_eq!(vm.run(), kiln_pvm::ExitReason::Halt);
    }
    println!(
        "{}: instantiate + run to halt: {:?} per instance",
        code.backend().name(),
        t.elapsed() / n
    );
}
