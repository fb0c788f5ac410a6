use kiln_link::{link, LinkOptions};
use kiln_pvm::{Backend, Code, ExitReason, Profile};
use std::sync::Arc;

#[test]
fn scratch() {
    let elf = std::fs::read("/tmp/rv/crypto.elf").unwrap();
    {
        let opts = LinkOptions {
            entry: Some("verify".into()),
            ..LinkOptions::default()
        };
        let program = link(&elf, &opts).unwrap();
        let decoded = Arc::new(program.decode(Profile::JAM_07).unwrap());
        let hex = |s: &str| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>()
        };
        let mut args = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        args.extend(hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
        for backend in [Backend::Interpreter, Backend::Recompiler] {
            for flip in [false, true] {
                let mut a = args.clone();
                if flip {
                    a[40] ^= 1;
                }
                let code = Code::prepare(decoded.clone(), backend).unwrap();
                let mut vm = program.instantiate(&code, &a, 0, 10_000_000_000).unwrap();
                let base = vm.reg(7);
                vm.set_reg(8, base + 96);
                vm.set_reg(9, 0);
                vm.set_reg(10, base + 32);
                let exit = vm.run();
                println!(
                    "{backend:?} flip={flip} {exit:?} gas used {} result {} pc {}",
                    10_000_000_000i64 - vm.gas(),
                    vm.reg(7),
                    vm.pc()
                );
            }
        }
    }
    for entry in ["blake"] {
        let opts = LinkOptions {
            entry: Some(entry.into()),
            ..LinkOptions::default()
        };
        let program = link(&elf, &opts).unwrap();
        let decoded = Arc::new(program.decode(Profile::JAM_07).unwrap());
        for backend in [Backend::Interpreter, Backend::Recompiler] {
            let code = Code::prepare(decoded.clone(), backend).unwrap();
            let mut vm = program
                .instantiate(&code, b"abc", 0, 1_000_000_000)
                .unwrap();
            let out = 0xFEFE_0000u32 - 65536;
            vm.set_reg(9, out as u64);
            let exit = vm.run();
            let mut h = [0u8; 32];
            vm.memory().host_read(out, &mut h);
            println!(
                "{backend:?} {exit:?} gas used {} {:02x?}",
                1_000_000_000 - vm.gas(),
                h
            );
        }
    }
}
