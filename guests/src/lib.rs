//! Guest programs built from `guests/programs/*.zig` at build time (see `build.rs` and
//! `docs/link.md`): GP standard programs whose `entry(args, len)` returns its output range.
//!
//! | Guest | Arguments | Output |
//! |---|---|---|
//! | `fib` | u64 `n` | u64 `fib(n)` |
//! | `hostcall` | u64 `n` | u64 sum of `n` answers to host call 100 (given the counter) |
//! | `blake2b` | bytes | BLAKE2b-256 digest |
//! | `keccak` | 200-byte state, optional u64 round count | the state after keccak-f[1600] |
//! | `ed25519` | public key ‖ signature ‖ message | 1 if valid, else 0 |
//! | `secp256k1` | hash ‖ r ‖ s ‖ recovery id (97 bytes) | the 65-byte SEC1 public key, or `[0]` |
//! | `sort` | u64s | the u64s sorted |
//! | `sieve` | u64 `n` (≤ 2²⁰) | u64 number of primes below `n` |
//! | `fib_recur` | u64 `n` | u64 `fib(n)`, computed by a child VM per call (run it under the kernel) |

#![warn(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// The standard program of guest `name`.
pub fn program(name: &str) -> Option<&'static [u8]> {
    PROGRAMS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}
