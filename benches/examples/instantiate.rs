//! Times creating an interpreter instance of a tiny program and running it to halt.
use std::sync::Arc;
fn main() {
    let blob = kiln_pvm::asm::assemble("jump_ind r0, 0\n", kiln_pvm::IsaVariant::Jam07)
        .unwrap()
        .to_bytes();
    let program =
        Arc::new(kiln_pvm::Program::from_blob_bytes(&blob, kiln_pvm::Profile::JAM_07).unwrap());
    let n = 20_000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut vm = kiln_pvm::Instance::new(program.clone()).unwrap();
        vm.set_reg(0, 0xFFFF_0000);
        vm.set_gas(100);
        assert_eq!(vm.run(), kiln_pvm::ExitReason::Halt);
    }
    println!(
        "instantiate + run to halt: {:?} per instance",
        t.elapsed() / n
    );
}
