//! Compiles every guest in `programs/` with the pinned Zig (`python3 -m ziglang`, installed by
//! `scripts/setup.sh`) for RV64E, links it with `ld.lld-19 --emit-relocs --no-relax`, and turns
//! the ELF into a PVM standard program with `kiln-link`: `$OUT_DIR/<name>.pvm`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests, by file name in `programs/`, with their entry symbols (at pc 0, 5, …).
const PROGRAMS: &[(&str, &[&str])] = &[
    ("fib", &["entry"]),
    ("hostcall", &["entry"]),
    ("blake2b", &["entry"]),
    ("keccak", &["entry"]),
    ("ed25519", &["entry"]),
    ("secp256k1", &["entry"]),
    ("sort", &["entry"]),
    ("sieve", &["entry"]),
    // Runs under the kernel: `_start` sends children to their own entry (see the source).
    ("fib_recur", &["_start"]),
    // A GP service: refine at pc 0, accumulate at pc 5.
    ("dev_service", &["refine", "accumulate"]),
];

fn run(command: &mut Command, what: &str) {
    let shown = format!("{command:?}");
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "guests: cannot run {what} ({e}). Install the guest toolchain with scripts/setup.sh \
             (pip install ziglang==0.17.1, apt-get install lld-19).\n{shown}"
        )
    });
    if !output.status.success() {
        panic!(
            "guests: {what} failed:\n{shown}\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let programs = Path::new("programs");
    println!("cargo:rerun-if-changed=programs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KILN_PYTHON");
    println!("cargo:rerun-if-env-changed=KILN_LLD");
    let python = std::env::var("KILN_PYTHON").unwrap_or_else(|_| "python3".into());
    let lld = std::env::var("KILN_LLD").unwrap_or_else(|_| "ld.lld-19".into());
    for &(name, entries) in PROGRAMS {
        let source = programs.join(format!("{name}.zig"));
        let object = out.join(format!("{name}.o"));
        let elf = out.join(format!("{name}.elf"));
        run(
            Command::new(&python)
                .args(["-m", "ziglang", "build-obj"])
                .args(["-target", "riscv64-freestanding-none"])
                .args(["-mcpu", "generic_rv64+e+m+c+relax"])
                .args(["-O", "ReleaseSmall", "-fno-PIC"])
                .arg("--cache-dir")
                .arg(out.join("zig-cache"))
                .arg(format!("-femit-bin={}", object.display()))
                .arg(&source),
            "zig build-obj",
        );
        run(
            Command::new(&lld)
                .args(["--emit-relocs", "--no-relax", "-e", entries[0], "-o"])
                .arg(&elf)
                .arg(&object),
            "ld.lld-19",
        );
        let bytes = std::fs::read(&elf).expect("the linker wrote the ELF");
        let options = kiln_link::LinkOptions {
            entries: entries.iter().map(|e| e.to_string()).collect(),
            ..kiln_link::LinkOptions::default()
        };
        let program = kiln_link::link(&bytes, &options)
            .unwrap_or_else(|e| panic!("guests: kiln-link rejected {name}: {e}"));
        std::fs::write(out.join(format!("{name}.pvm")), program.to_bytes())
            .expect("OUT_DIR is writable");
    }
    // The list `src/lib.rs` includes: this table is its only source.
    let mut list = String::from(
        "/// Every guest: `(name, standard program bytes)`.\npub const PROGRAMS: &[(&str, &[u8])] = &[\n",
    );
    for &(name, _) in PROGRAMS {
        let path = out.join(format!("{name}.pvm"));
        list += &format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        );
    }
    list += "];\n";
    std::fs::write(out.join("programs.rs"), list).expect("OUT_DIR is writable");
}
