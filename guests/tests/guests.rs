//! Every guest, built from source and linked by `kiln-link`, runs on both backends and returns
//! what a native Rust reference computes.

use std::sync::Arc;

use kiln_pvm::{Backend, Code, ExitReason, Profile, StandardProgram};

/// Runs guest `name` on `backend` with `args`, answering host call 100 with `arg * 3 + 1`;
/// returns the output (the memory range in `φ7`, `φ8` at the halt) and the gas used.
fn run(name: &str, args: &[u8], backend: Backend) -> (Vec<u8>, i64) {
    let bytes = kiln_guests::program(name).expect("a guest");
    let program = StandardProgram::parse(bytes).expect("a standard program");
    let decoded = Arc::new(program.decode(Profile::JAM_07).expect("decodes"));
    let code = Code::prepare(decoded, backend).expect("prepares");
    let gas = 1_000_000_000;
    let mut vm = program
        .instantiate(&code, args, 0, gas)
        .expect("instantiates");
    loop {
        match vm.run() {
            ExitReason::HostCall(100) => {
                let arg = vm.reg(7);
                vm.set_reg(7, arg.wrapping_mul(3).wrapping_add(1));
            }
            ExitReason::Halt => break,
            other => panic!("{name} on {backend:?}: {other:?} at pc {}", vm.pc()),
        }
    }
    let (ptr, len) = (vm.reg(7) as u32, vm.reg(8) as usize);
    let mut out = vec![0; len];
    vm.memory()
        .read(ptr, &mut out)
        .expect("the output is readable");
    (out, gas - vm.gas())
}

/// The output on every backend, which must agree (bytes and gas).
fn output(name: &str, args: &[u8]) -> Vec<u8> {
    let (a, gas_a) = run(name, args, Backend::Interpreter);
    if Backend::RECOMPILER_AVAILABLE {
        let (b, gas_b) = run(name, args, Backend::Recompiler);
        assert_eq!((&a, gas_a), (&b, gas_b), "{name}: backends differ");
    }
    a
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn fib_and_sieve_count_as_rust_does() {
    for n in [0u64, 1, 2, 50, 93] {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            (a, b) = (b, a.wrapping_add(b));
        }
        assert_eq!(output("fib", &u64s(&[n])), u64s(&[a]), "fib({n})");
    }
    for n in [0u64, 2, 3, 100, 10_000] {
        let primes = (2..n)
            .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
            .count() as u64;
        assert_eq!(output("sieve", &u64s(&[n])), u64s(&[primes]), "sieve({n})");
    }
}

#[test]
fn hostcall_sums_the_hosts_answers() {
    for n in [0u64, 1, 1000] {
        let expected = (0..n).fold(0u64, |s, i| s.wrapping_add(i * 3 + 1));
        assert_eq!(output("hostcall", &u64s(&[n])), u64s(&[expected]));
    }
}

#[test]
fn sort_sorts() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut values: Vec<u64> = (0..1000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect();
    let got = output("sort", &u64s(&values));
    values.sort_unstable();
    assert_eq!(got, u64s(&values));
}

#[test]
fn blake2b_and_keccak_hash_as_the_rust_crates_do() {
    use blake2::Digest;
    for message in [&b""[..], b"abc", &[0x5a; 1000]] {
        let expected = blake2::Blake2b::<blake2::digest::consts::U32>::digest(message);
        assert_eq!(output("blake2b", message), expected.to_vec());
    }
    let mut lanes = [0u64; 25];
    for (i, lane) in lanes.iter_mut().enumerate() {
        *lane = (i as u64).wrapping_mul(0x0123_4567_89AB_CDEF);
    }
    let mut args = u64s(&lanes);
    args.extend_from_slice(&3u64.to_le_bytes());
    for _ in 0..3 {
        keccak::f1600(&mut lanes);
    }
    assert_eq!(output("keccak", &args), u64s(&lanes));
}

#[test]
fn ed25519_verifies_what_ed25519_dalek_signs() {
    use ed25519_dalek::{Signer, SigningKey};
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let message = b"kiln guest toolchain";
    let signature = key.sign(message);
    let mut args = key.verifying_key().to_bytes().to_vec();
    args.extend_from_slice(&signature.to_bytes());
    args.extend_from_slice(message);
    assert_eq!(output("ed25519", &args), [1]);
    // A flipped bit anywhere: invalid.
    for at in [0, 40, 100] {
        let mut bad = args.clone();
        bad[at] ^= 1;
        assert_eq!(output("ed25519", &bad), [0], "bit flipped at {at}");
    }
}

#[test]
fn secp256k1_recovers_the_key_k256_signed_with() {
    use k256::ecdsa::SigningKey;
    for seed in 1u8..4 {
        let key = SigningKey::from_bytes(&[seed; 32].into()).expect("a valid key");
        let hash = [seed.wrapping_mul(37); 32];
        let (signature, recovery) = key.sign_prehash_recoverable(&hash).expect("signs");
        let mut args = hash.to_vec();
        args.extend_from_slice(&signature.to_bytes());
        args.push(recovery.to_byte() & 1);
        let expected = key.verifying_key().to_encoded_point(false);
        assert_eq!(
            output("secp256k1", &args),
            expected.as_bytes(),
            "seed {seed}"
        );
        // A different hash recovers a different key; a bad recovery id is refused.
        let mut other = args.clone();
        other[0] ^= 1;
        assert_ne!(output("secp256k1", &other), expected.as_bytes());
        let mut bad = args.clone();
        bad[96] = 7;
        assert_eq!(output("secp256k1", &bad), [0]);
    }
}

#[test]
fn fib_recur_spawns_a_child_vm_per_call_under_the_kernel() {
    use kiln_pvm::kernel::{Kernel, KernelExit};
    let program = StandardProgram::parse(kiln_guests::program("fib_recur").unwrap()).unwrap();
    let mut outputs = Vec::new();
    for &backend in Backend::available() {
        for n in [0u64, 1, 2, 10, 15] {
            let gas = 1_000_000_000;
            let mut kernel =
                Kernel::new(&program, &n.to_le_bytes(), gas, Profile::JAM_07, backend).unwrap();
            let exit = kernel.run();
            let (mut a, mut b) = (0u64, 1u64);
            for _ in 0..n {
                (a, b) = (b, a + b);
            }
            assert_eq!(
                exit,
                KernelExit::Halt(a.to_le_bytes().to_vec()),
                "n = {n} on {backend:?}"
            );
            assert_eq!(kernel.vm_count(), 1, "every child was dropped");
            assert_eq!(
                kernel.page_budget_left(),
                16_384,
                "every stack page came back"
            );
            kernel.check_invariants().unwrap();
            outputs.push((n, gas - kernel.gas()));
        }
    }
    // Same gas on every backend.
    let per_backend = outputs.len() / Backend::available().len();
    for other in outputs.chunks(per_backend).skip(1) {
        assert_eq!(other, &outputs[..per_backend]);
    }
}
