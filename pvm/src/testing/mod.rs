//! Random program generation for differential tests and fuzzing: programs in the assembler's
//! text syntax that exercise every computational instruction, memory access, control flow
//! (branches, jumps, loops, dynamic jumps through the jump table) and host calls.
//!
//! Register conventions of generated programs: `r0` holds the halt address and `r1` the base of a
//! read-write page ([`ProgramOptions::rw_base`]); neither is ever written, and `r12` is reserved
//! as a loop counter. Every program ends by halting, unless it panics, faults or runs out of gas
//! first.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod differential;
pub mod kernel_ops;
pub mod kernel_programs;

/// A small deterministic xorshift generator (no dependencies, reproducible from a seed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; zero is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `list`.
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }

    /// A destination register: `r2`..`r11` (never `r0`, `r1` or `r12`).
    pub fn dest(&mut self) -> u64 {
        2 + self.below(10)
    }

    /// Any register.
    pub fn reg(&mut self) -> u64 {
        self.below(13)
    }

    /// An immediate: small, random 32-bit, or a boundary value.
    pub fn imm(&mut self) -> i64 {
        match self.below(4) {
            0 => self.below(64) as i64,
            1 => -(self.below(64) as i64),
            2 => self.next_u64() as i32 as i64,
            _ => {
                [0, 1, -1, i32::MIN as i64, i32::MAX as i64, 31, 32, 63, 64][self.below(9) as usize]
            }
        }
    }
}

/// Three-register computational instructions.
pub const REG3: &[&str] = &[
    "add_32",
    "sub_32",
    "mul_32",
    "div_u_32",
    "div_s_32",
    "rem_u_32",
    "rem_s_32",
    "shlo_l_32",
    "shlo_r_32",
    "shar_r_32",
    "add_64",
    "sub_64",
    "mul_64",
    "div_u_64",
    "div_s_64",
    "rem_u_64",
    "rem_s_64",
    "shlo_l_64",
    "shlo_r_64",
    "shar_r_64",
    "and",
    "xor",
    "or",
    "mul_upper_s_s",
    "mul_upper_u_u",
    "mul_upper_s_u",
    "set_lt_u",
    "set_lt_s",
    "cmov_iz",
    "cmov_nz",
    "rot_l_64",
    "rot_l_32",
    "rot_r_64",
    "rot_r_32",
    "and_inv",
    "or_inv",
    "xnor",
    "max",
    "max_u",
    "min",
    "min_u",
];
/// Two-register-and-immediate computational instructions.
pub const REG2_IMM: &[&str] = &[
    "add_imm_32",
    "and_imm",
    "xor_imm",
    "or_imm",
    "mul_imm_32",
    "set_lt_u_imm",
    "set_lt_s_imm",
    "shlo_l_imm_32",
    "shlo_r_imm_32",
    "shar_r_imm_32",
    "neg_add_imm_32",
    "set_gt_u_imm",
    "set_gt_s_imm",
    "shlo_l_imm_alt_32",
    "shlo_r_imm_alt_32",
    "shar_r_imm_alt_32",
    "cmov_iz_imm",
    "cmov_nz_imm",
    "add_imm_64",
    "mul_imm_64",
    "shlo_l_imm_64",
    "shlo_r_imm_64",
    "shar_r_imm_64",
    "neg_add_imm_64",
    "shlo_l_imm_alt_64",
    "shlo_r_imm_alt_64",
    "shar_r_imm_alt_64",
    "rot_r_64_imm",
    "rot_r_64_imm_alt",
    "rot_r_32_imm",
    "rot_r_32_imm_alt",
];
/// Two-register computational instructions.
pub const REG2: &[&str] = &[
    "move_reg",
    "count_set_bits_64",
    "count_set_bits_32",
    "leading_zero_bits_64",
    "leading_zero_bits_32",
    "trailing_zero_bits_64",
    "trailing_zero_bits_32",
    "sign_extend_8",
    "sign_extend_16",
    "zero_extend_16",
    "reverse_bytes",
];
/// Indirect loads.
pub const LOADS: &[&str] = &[
    "load_ind_u8",
    "load_ind_i8",
    "load_ind_u16",
    "load_ind_i16",
    "load_ind_u32",
    "load_ind_i32",
    "load_ind_u64",
];
/// Indirect stores.
pub const STORES: &[&str] = &[
    "store_ind_u8",
    "store_ind_u16",
    "store_ind_u32",
    "store_ind_u64",
];
/// Register–immediate branches.
pub const BRANCH_IMM: &[&str] = &[
    "branch_eq_imm",
    "branch_ne_imm",
    "branch_lt_u_imm",
    "branch_le_u_imm",
    "branch_ge_u_imm",
    "branch_gt_u_imm",
    "branch_lt_s_imm",
    "branch_le_s_imm",
    "branch_ge_s_imm",
    "branch_gt_s_imm",
];
/// Register–register branches.
pub const BRANCH_REG: &[&str] = &[
    "branch_eq",
    "branch_ne",
    "branch_lt_u",
    "branch_lt_s",
    "branch_ge_u",
    "branch_ge_s",
];

/// What generated programs may contain.
#[derive(Debug, Clone, Copy)]
pub struct ProgramOptions {
    /// Loads and stores (on the page at `rw_base`, at absolute addresses there, and rarely
    /// through arbitrary registers, which usually faults).
    pub memory: bool,
    /// `unlikely` (GP 0.8 numbering and the gas-draft variant only).
    pub unlikely: bool,
    /// `ecalli` with small ids.
    pub host_calls: bool,
    /// `sbrk` with small sizes (the GP 0.7 variant only).
    pub sbrk: bool,
    /// Address of the read-write page `r1` points at.
    pub rw_base: u64,
}

/// A random program (assembler text) under `options`.
pub fn random_program(rng: &mut Rng, options: &ProgramOptions) -> String {
    let mut text = String::new();
    let blocks = 1 + rng.below(6);
    for b in 0..blocks {
        // Some blocks run as a counted loop: re-entering a block re-charges it each time.
        let looped = rng.below(3) == 0;
        if looped {
            text.push_str(&format!(
                "load_imm r12, {}\nfallthrough\nl{b}:\n",
                1 + rng.below(5)
            ));
        }
        for _ in 0..1 + rng.below(12) {
            text.push_str(&body_line(rng, options));
            text.push('\n');
        }
        if looped {
            text.push_str(&format!(
                "add_imm_64 r12, r12, -1\nbranch_ne_imm r12, 0, l{b}\n"
            ));
        }
        let next = format!("b{}", b + 1);
        let end = match rng.below(8) {
            0 => format!(
                "{} r{}, {}, {next}",
                rng.pick(BRANCH_IMM),
                rng.reg(),
                rng.imm()
            ),
            1 => format!(
                "{} r{}, r{}, {next}",
                rng.pick(BRANCH_REG),
                rng.reg(),
                rng.reg()
            ),
            2 => format!("jump {next}"),
            3 => format!("load_imm_jump r{}, {}, {next}", rng.dest(), rng.imm()),
            // Dynamic jumps through the jump table (every block label is an entry).
            4 => format!("load_imm r11, &{next}\njump_ind r11, 0"),
            5 => format!(
                "load_imm r10, &{next}\nload_imm_jump_ind r11, r10, {}, 0",
                rng.imm()
            ),
            // A jump to a random address: halt, panic or (rarely) a valid entry.
            6 => format!("jump_ind r{}, {}", rng.reg(), rng.imm()),
            _ => "fallthrough".to_string(),
        };
        text.push_str(&end);
        text.push_str(&format!("\nb{}:\n", b + 1));
    }
    text.push_str("jump_ind r0, 0\n");
    let labels: Vec<String> = (1..=blocks).map(|b| format!("b{b}")).collect();
    text.push_str(&format!(".jump_table {}\n", labels.join(", ")));
    text
}

fn body_line(rng: &mut Rng, options: &ProgramOptions) -> String {
    let base = options.rw_base;
    loop {
        let line = match rng.below(50) {
            0..=15 => format!(
                "{} r{}, r{}, r{}",
                rng.pick(REG3),
                rng.dest(),
                rng.reg(),
                rng.reg()
            ),
            16..=27 => {
                format!(
                    "{} r{}, r{}, {}",
                    rng.pick(REG2_IMM),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                )
            }
            28..=31 => format!("{} r{}, r{}", rng.pick(REG2), rng.dest(), rng.reg()),
            32 => format!("load_imm r{}, {}", rng.dest(), rng.imm()),
            33 => format!("load_imm_64 r{}, {}", rng.dest(), rng.next_u64()),
            34 | 35 if options.host_calls => format!("ecalli {}", rng.below(200)),
            36 if options.unlikely => "unlikely".to_string(),
            49 if options.sbrk => format!(
                "load_imm r{size}, {}\nsbrk r{}, r{size}",
                rng.below(3 * 4096),
                rng.dest(),
                size = rng.dest()
            ),
            37..=40 if options.memory => {
                format!(
                    "{} r{}, r1, {}",
                    rng.pick(LOADS),
                    rng.dest(),
                    rng.below(4089)
                )
            }
            41..=43 if options.memory => {
                format!(
                    "{} r{}, r1, {}",
                    rng.pick(STORES),
                    rng.reg(),
                    rng.below(4089)
                )
            }
            44 if options.memory => format!(
                "store_imm_ind_u{} r1, {}, {}",
                [8, 16, 32, 64][rng.below(4) as usize],
                rng.below(4089),
                rng.imm()
            ),
            45 if options.memory => format!(
                "store_imm_u{} {}, {}",
                [8, 16, 32, 64][rng.below(4) as usize],
                base + rng.below(4089),
                rng.imm()
            ),
            46 if options.memory => format!("load_u32 r{}, {}", rng.dest(), base + rng.below(4093)),
            47 if options.memory => format!("store_u64 r{}, {}", rng.reg(), base + rng.below(4089)),
            // Rarely, memory through an arbitrary register: usually a fault.
            48 if options.memory => {
                format!(
                    "{} r{}, r{}, {}",
                    rng.pick(LOADS),
                    rng.dest(),
                    rng.reg(),
                    rng.imm()
                )
            }
            _ => continue,
        };
        return line;
    }
}

/// Initial registers: `r0` = the halt address, `r1` = `rw_base`, the rest random with a third
/// of them boundary values (0, 1, −1, MIN, 32-bit edges).
pub fn random_regs(rng: &mut Rng, rw_base: u64) -> [u64; 13] {
    const EDGES: [u64; 8] = [
        0,
        1,
        u64::MAX,
        1 << 63,
        0x8000_0000,
        0xFFFF_FFFF,
        0xFFFF_FFFF_8000_0000,
        63,
    ];
    let mut regs = [0u64; 13];
    for r in regs.iter_mut() {
        *r = match rng.below(3) {
            0 => EDGES[rng.below(EDGES.len() as u64) as usize],
            1 => rng.next_u64() as u32 as u64,
            _ => rng.next_u64() >> (rng.below(4) * 16),
        };
    }
    regs[0] = u64::from(crate::interpreter::HALT_ADDRESS);
    regs[1] = rw_base;
    regs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::IsaVariant;

    #[test]
    fn generated_programs_assemble_under_every_variant() {
        let mut rng = Rng::new(7);
        for isa in IsaVariant::ALL {
            let options = ProgramOptions {
                memory: true,
                unlikely: isa != IsaVariant::Jam07,
                host_calls: true,
                sbrk: isa == IsaVariant::Jam07,
                rw_base: 0x20000,
            };
            for _ in 0..200 {
                let text = random_program(&mut rng, &options);
                crate::asm::assemble(&text, isa).unwrap_or_else(|e| panic!("{e}\n{text}"));
            }
        }
    }
}
