//! The guest benchmark suite: eight workloads compiled from Zig (`kiln-guests`, linked by
//! `kiln-link`), their arguments, and the native Rust computation each is checked against and
//! compared with. Sizes come in two scales: `Scale::Bench` (the sizes) and
//! `Scale::Test` (fast, for the correctness test in CI).

use std::sync::Arc;

use kiln_pvm::{Backend, Code, ExitReason, Profile, StandardProgram};

/// How big the inputs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The benchmark sizes: fib 1M iterations, 100K host calls, 500 sorted items, …
    Bench,
    /// Small sizes with the same code paths, for tests.
    Test,
}

/// One guest workload.
pub struct GuestWorkload {
    /// Name (also the guest's name).
    pub name: &'static str,
    /// The standard program.
    pub program: StandardProgram,
    /// Its arguments.
    pub args: Vec<u8>,
    /// The same computation in native Rust; returns the output the guest must produce.
    pub native: Box<dyn Fn() -> Vec<u8> + Send + Sync>,
}

impl std::fmt::Debug for GuestWorkload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestWorkload")
            .field("name", &self.name)
            .field("args", &self.args.len())
            .finish()
    }
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn program(name: &str) -> StandardProgram {
    StandardProgram::parse(kiln_guests::program(name).expect("a built guest"))
        .expect("a standard program")
}

/// The answer to host call 100 that the `hostcall` guest sums (the same in every runner).
pub fn host_answer(arg: u64) -> u64 {
    arg.wrapping_mul(3).wrapping_add(1)
}

/// Native fib: the guest's loop.
pub fn native_fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

/// Native sieve: the guest's algorithm (count of primes below `n`).
pub fn native_sieve(n: usize) -> u64 {
    let mut composite = vec![false; n];
    let mut count = 0;
    for i in 2..n {
        if composite[i] {
            continue;
        }
        count += 1;
        let mut j = i * i;
        while j < n {
            composite[j] = true;
            j += i;
        }
    }
    count
}

/// Native heap sort: the guest's algorithm (Zig's `std.sort.heap`).
pub fn native_heap_sort(items: &mut [u64]) {
    fn sift_down(items: &mut [u64], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && items[child] < items[child + 1] {
                child += 1;
            }
            if items[root] >= items[child] {
                return;
            }
            items.swap(root, child);
            root = child;
        }
    }
    let n = items.len();
    for start in (0..n / 2).rev() {
        sift_down(items, start, n);
    }
    for end in (1..n).rev() {
        items.swap(0, end);
        sift_down(items, 0, end);
    }
}

/// Pseudo-random u64s (xorshift), the same on every run.
fn random_u64s(n: usize) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

/// The eight workloads at `scale`.
pub fn workloads(scale: Scale) -> Vec<GuestWorkload> {
    let big = scale == Scale::Bench;
    let fib_n: u64 = if big { 1_000_000 } else { 10_000 };
    let calls: u64 = if big { 100_000 } else { 1_000 };
    let sort_n = if big { 500 } else { 50 };
    let sieve_n: usize = if big { 100_000 } else { 5_000 };
    let blake_len = if big { 16 << 10 } else { 1 << 10 };
    let keccak_rounds: u64 = if big { 1_000 } else { 10 };
    let mut list = Vec::new();

    list.push(GuestWorkload {
        name: "fib",
        program: program("fib"),
        args: u64s(&[fib_n]),
        native: Box::new(move || u64s(&[native_fib(std::hint::black_box(fib_n))])),
    });
    list.push(GuestWorkload {
        name: "hostcall",
        program: program("hostcall"),
        args: u64s(&[calls]),
        native: Box::new(move || {
            let mut sum = 0u64;
            for i in 0..std::hint::black_box(calls) {
                sum = sum.wrapping_add(std::hint::black_box(host_answer(i)));
            }
            u64s(&[sum])
        }),
    });
    let unsorted = random_u64s(sort_n);
    let to_sort = unsorted.clone();
    list.push(GuestWorkload {
        name: "sort",
        program: program("sort"),
        args: u64s(&unsorted),
        native: Box::new(move || {
            let mut items = to_sort.clone();
            native_heap_sort(&mut items);
            u64s(&items)
        }),
    });
    list.push(GuestWorkload {
        name: "sieve",
        program: program("sieve"),
        args: u64s(&[sieve_n as u64]),
        native: Box::new(move || u64s(&[native_sieve(std::hint::black_box(sieve_n))])),
    });
    let message: Vec<u8> = (0..blake_len).map(|i| (i * 7 + 3) as u8).collect();
    let to_hash = message.clone();
    list.push(GuestWorkload {
        name: "blake2b",
        program: program("blake2b"),
        args: message,
        native: Box::new(move || {
            use blake2::Digest;
            blake2::Blake2b::<blake2::digest::consts::U32>::digest(&to_hash).to_vec()
        }),
    });
    let lanes: Vec<u64> = (0..25u64)
        .map(|i| i.wrapping_mul(0x0123_4567_89AB_CDEF))
        .collect();
    let mut keccak_args = u64s(&lanes);
    keccak_args.extend_from_slice(&keccak_rounds.to_le_bytes());
    list.push(GuestWorkload {
        name: "keccak",
        program: program("keccak"),
        args: keccak_args,
        native: Box::new(move || {
            let mut state: [u64; 25] = lanes.clone().try_into().expect("25 lanes");
            for _ in 0..keccak_rounds {
                keccak::f1600(&mut state);
            }
            u64s(&state)
        }),
    });
    let (ed_args, ed_check) = {
        use ed25519_dalek::{Signer, SigningKey};
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let message = b"kiln benchmark suite".to_vec();
        let signature = key.sign(&message);
        let mut args = key.verifying_key().to_bytes().to_vec();
        args.extend_from_slice(&signature.to_bytes());
        args.extend_from_slice(&message);
        (args, (key.verifying_key(), signature, message))
    };
    list.push(GuestWorkload {
        name: "ed25519",
        program: program("ed25519"),
        args: ed_args,
        native: Box::new(move || {
            let (key, signature, message) = &ed_check;
            vec![u8::from(key.verify_strict(message, signature).is_ok())]
        }),
    });
    let (ec_args, ec_input) = {
        use k256::ecdsa::SigningKey;
        let key = SigningKey::from_bytes(&[3u8; 32].into()).expect("a valid key");
        let hash = [0x42u8; 32];
        let (signature, recovery) = key.sign_prehash_recoverable(&hash).expect("signs");
        let mut args = hash.to_vec();
        args.extend_from_slice(&signature.to_bytes());
        args.push(recovery.to_byte() & 1);
        (args, (hash, signature, recovery))
    };
    list.push(GuestWorkload {
        name: "ecrecover",
        program: program("secp256k1"),
        args: ec_args,
        native: Box::new(move || {
            let (hash, signature, recovery) = &ec_input;
            let key = k256::ecdsa::VerifyingKey::recover_from_prehash(hash, signature, *recovery)
                .expect("recovers");
            key.to_encoded_point(false).as_bytes().to_vec()
        }),
    });
    list
}

/// Kiln's profile for a gas model: GP 0.7 numbering (the guests' opcodes) with one gas per
/// instruction, or with the pipeline model.
pub fn kiln_profile(pipeline: bool) -> Profile {
    if pipeline {
        Profile::from_name("jam-0.7+pipeline").expect("a named profile")
    } else {
        Profile::JAM_07
    }
}

/// The workload's program prepared for `backend` (the compile step).
pub fn prepare(workload: &GuestWorkload, backend: Backend, profile: Profile) -> Code {
    let decoded = workload.program.decode(profile).expect("decodes");
    Code::prepare(Arc::new(decoded), backend).expect("prepares")
}

/// Runs prepared code to its halt, answering host call 100; `(output, gas used)`.
pub fn run_kiln(workload: &GuestWorkload, code: &Code) -> (Vec<u8>, i64) {
    let gas = i64::MAX / 4;
    let mut vm = workload
        .program
        .instantiate(code, &workload.args, 0, gas)
        .expect("instantiates");
    loop {
        match vm.run() {
            ExitReason::HostCall(100) => {
                let arg = vm.reg(7);
                vm.set_reg(7, host_answer(arg));
            }
            ExitReason::Halt => break,
            other => panic!("{} stopped with {other:?} at pc {}", workload.name, vm.pc()),
        }
    }
    let (ptr, len) = (vm.reg(7) as u32, vm.reg(8) as usize);
    let mut out = vec![0; len];
    vm.memory().read(ptr, &mut out).expect("a readable output");
    (out, gas - vm.gas())
}

/// `fib_recur(n)` through the kernel on `backend` (a child VM per call); the root's exit.
pub fn fib_recur_kernel(n: u64, backend: Backend) -> kiln_pvm::KernelExit {
    let program = program("fib_recur");
    let mut kernel = kiln_pvm::Kernel::new(
        &program,
        &n.to_le_bytes(),
        i64::MAX / 4,
        kiln_profile(false),
        backend,
    )
    .expect("an invocation");
    kernel.run()
}

/// Native recursive fib (fib_recur's computation, one call per node of the call tree).
pub fn native_fib_recur(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        native_fib_recur(std::hint::black_box(n - 1)) + native_fib_recur(n - 2)
    }
}
