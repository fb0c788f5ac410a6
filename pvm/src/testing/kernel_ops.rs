//! Random kernel-operation sequences (the `kernel_ops` proptest and fuzz target): a root and
//! three kinds of child that run random CREATE, CALL, REPLY, DROP, GRANT, REVOKE, MAP, UNMAP,
//! SPLIT, RETYPE and INSPECT steps with arguments drawn from small pools (valid and invalid),
//! plus memory accesses, traps and spins. Every step is followed by a probe (`ecalli 0`), at
//! which [`Kernel::check_invariants`] must hold; every backend must produce the same transcript.

use super::Rng;
use crate::asm::{assemble, Assembled};
use crate::kernel::{Kernel, KernelConfig, KernelExit};
use crate::{Backend, Profile};

/// A generated invocation.
#[derive(Debug, Clone)]
pub struct KernelCase {
    /// The program, in assembler text.
    pub source: String,
    /// Gas of the invocation.
    pub gas: i64,
    /// Page budget.
    pub budget: u32,
    /// VMs that may own an address space.
    pub address_spaces: usize,
}

/// Where choices come from: fuzz input bytes first, then a seeded generator.
struct Choices<'a> {
    bytes: &'a [u8],
    rng: Rng,
}

impl Choices<'_> {
    fn below(&mut self, n: u64) -> u64 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                u64::from(b) % n
            }
            None => self.rng.below(n),
        }
    }

    fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[self.below(list.len() as u64) as usize]
    }
}

/// Slots the steps name: the usual ones, the well-known ones, a PROTOCOL slot, none at all.
const SLOTS: [u64; 14] = [40, 50, 50, 51, 60, 60, 61, 62, 70, 253, 254, 255, 0, 300];
/// Guest pages MAP uses: free ones, one below 64 KiB, the stack, the top of the space.
const BASES: [u64; 6] = [0x100, 0x100, 0x102, 0x200, 0xF, 0xFFFFF];
/// Base addresses the memory steps touch (some mapped, some not).
const ADDRESSES: [u64; 4] = [0x100000, 0x102000, 0x200000, 0x300000];
/// CREATE masks: none, the probe (PROTOCOL 0) and the program copy at 40, also the page caps,
/// everything.
const MASKS: [u64; 4] = [0, 1 << 40 | 1, 1 << 40 | 1 << 60 | 1, u64::MAX];
/// Root page faults the harness answers (by making the page writable, as a pager would) before
/// it stops.
const ROOT_FAULTS_ANSWERED: usize = 8;

/// CALL gas limits.
const LIMITS: [i64; 5] = [-1, 0, 40, 400, 4000];

impl KernelCase {
    /// A case from `seed`.
    pub fn generated(seed: u64) -> Self {
        Self::build(&mut Choices {
            bytes: &[],
            rng: Rng::new(seed),
        })
    }

    /// A case whose choices are the fuzz input's bytes (then a generator seeded from them).
    pub fn from_fuzz_bytes(data: &[u8]) -> Self {
        let seed = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Self::build(&mut Choices {
            bytes: data,
            rng: Rng::new(seed),
        })
    }

    fn build(c: &mut Choices) -> Self {
        // The root first copies its own CODE to slot 40 and creates a child in slot 50, so that
        // most sequences get going.
        let mut s = String::from(
            ".stack_size 4096\nbranch_eq_imm r0, 0, child\n\
             load_imm r7, 254\nload_imm r8, -1\nload_imm r9, 40\nload_imm r10, 0\necalli 259\n\
             load_imm r7, 40\nload_imm r8, 50\nload_imm_64 r9, 0x10000000001\nload_imm r10, 0\n\
             ecalli 257\necalli 0\n",
        );
        for _ in 0..4 + c.below(16) {
            s += &step(c, false);
        }
        s += "jump_ind r0, 0\nchild:\nbranch_eq_imm r7, 0, c0\nbranch_eq_imm r7, 1, c1\njump c2\n";
        for kind in 0..3 {
            s += &format!("c{kind}:\n");
            for _ in 0..1 + c.below(6) {
                s += &step(c, true);
            }
            s += &format!("load_imm r11, {}\necalli 256\njump child\n", pass(c));
        }
        Self {
            source: s,
            gas: 20_000 + c.below(200_000) as i64,
            budget: c.pick(&[4, 16, 64]),
            address_spaces: c.pick(&[1, 2, 256]),
        }
    }

    /// Runs the case on every backend this build has: the transcripts (one line per exit) must
    /// agree and the invariants hold at every exit. Returns the transcript.
    pub fn run(&self) -> Result<Vec<String>, String> {
        let mut first: Option<Vec<String>> = None;
        for &backend in Backend::available() {
            let t = self.run_on(backend)?;
            match &first {
                None => first = Some(t),
                Some(f) if *f != t => {
                    return Err(format!(
                        "{backend:?} differs from the interpreter:\n{}\n---\n{}",
                        f.join("\n"),
                        t.join("\n")
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(first.unwrap_or_default())
    }

    fn run_on(&self, backend: Backend) -> Result<Vec<String>, String> {
        let program = match assemble(&self.source, Profile::JAM_07.isa) {
            Ok(Assembled::Standard(p)) => p,
            other => return Err(format!("the generator wrote a bad program: {other:?}")),
        };
        let config = KernelConfig {
            page_budget: self.budget,
            max_address_spaces: self.address_spaces,
            ..KernelConfig::default()
        };
        let mut kernel =
            Kernel::with_config(&program, &[], self.gas, Profile::JAM_07, backend, config)
                .map_err(|e| format!("kernel: {e}"))?;
        let mut out = Vec::new();
        let mut faults = 0;
        for _ in 0..2000 {
            let exit = kernel.run();
            kernel
                .check_invariants()
                .map_err(|e| format!("after {exit:?} on {backend:?}: {e}"))?;
            out.push(format!(
                "{exit:?} vm {:?} pc {} regs {:?} gas {} total {} vms {} depth {} pages {}",
                kernel.active().index(),
                kernel.pc(),
                kernel.regs(),
                kernel.gas(),
                kernel.total_gas(),
                kernel.vm_count(),
                kernel.call_depth(),
                kernel.page_budget_left()
            ));
            match exit {
                KernelExit::HostCall(0) => {
                    let gas = kernel.gas();
                    kernel.set_reg(7, gas as u64);
                }
                KernelExit::PageFault(address) if faults < ROOT_FAULTS_ANSWERED => {
                    faults += 1;
                    kernel
                        .memory_mut()
                        .set_access(address, 4096, crate::Access::Write)
                        .map_err(|e| format!("pager: {e}"))?;
                }
                KernelExit::HostFailure(e) => return Err(format!("host failure: {e}")),
                _ => return Ok(out),
            }
        }
        Ok(out)
    }
}

/// `φ11` of CALL and REPLY: no cap, or a slot.
fn pass(c: &mut Choices) -> i64 {
    if c.below(3) == 0 {
        c.pick(&SLOTS) as i64
    } else {
        -1
    }
}

/// One random step and its probe.
fn step(c: &mut Choices, in_child: bool) -> String {
    let slot = |c: &mut Choices| c.pick(&SLOTS);
    let args: Vec<i64>;
    let ecalli: u64;
    // The root makes more calls instead of the children's trap, spin and reply steps.
    let kind = match c.below(16) {
        13.. if !in_child => 9,
        kind => kind,
    };
    match kind {
        0 => {
            let code = if c.below(4) == 0 { slot(c) } else { 40 };
            let dest = slot(c);
            let mask = c.pick(&MASKS);
            let entry = c.pick(&[0u64, 0, 1, 1000]);
            args = vec![code as i64, dest as i64, mask as i64, entry as i64];
            ecalli = 257;
        }
        1 => (args, ecalli) = (vec![slot(c) as i64], 258),
        2 => {
            let target = if c.below(2) == 0 { -1 } else { slot(c) as i64 };
            args = vec![slot(c) as i64, target, slot(c) as i64, c.below(3) as i64];
            ecalli = 259;
        }
        3 => (args, ecalli) = (vec![slot(c) as i64], 260),
        4 => {
            args = vec![slot(c) as i64, c.pick(&BASES) as i64, c.pick(&[1, 2, 2, 3])];
            ecalli = 261;
        }
        5 => (args, ecalli) = (vec![slot(c) as i64], 262),
        6 => {
            args = vec![slot(c) as i64, c.pick(&[0, 1, 2, 5]), slot(c) as i64];
            ecalli = 263;
        }
        7 => {
            let untyped = if c.below(4) == 0 { slot(c) } else { 253 };
            args = vec![
                untyped as i64,
                c.pick(&[0, 1, 2, 3, 100_000]),
                slot(c) as i64,
            ];
            ecalli = 264;
        }
        8 => (args, ecalli) = (vec![slot(c) as i64], 266),
        9 | 10 => {
            // CALL: argument picks the child's kind (3: any, ends up in c2).
            let target = c.pick(&[50u64, 50, 51, 70, 255, 60]);
            return format!(
                "load_imm r7, {}\nload_imm r11, {}\nload_imm r12, {}\necalli {target}\necalli 0\n",
                c.below(4),
                pass(c),
                c.pick(&LIMITS)
            );
        }
        11 | 12 => {
            let address = c.pick(&ADDRESSES) + c.below(4096);
            return if c.below(2) == 0 {
                format!("load_imm r3, {address}\nload_u8 r4, {address}\necalli 0\n")
            } else {
                format!("load_imm r3, 7\nstore_u8 r3, {address}\necalli 0\n")
            };
        }
        13 => return "trap\n".into(),
        14 => {
            let l = label(c);
            return format!("fallthrough\n{l}:\njump {l}\n");
        }
        _ => return format!("load_imm r11, {}\necalli 256\necalli 0\n", pass(c)),
    }
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        s += &format!("load_imm_64 r{}, {a}\n", 7 + i);
    }
    s + &format!("ecalli {ecalli}\necalli 0\n")
}

/// A fresh label (unique enough: 64 random bits).
fn label(c: &mut Choices) -> String {
    format!("l{:x}{:x}", c.rng.next_u64(), c.below(256))
}
