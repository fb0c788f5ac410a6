//! Tests of the real `kiln` binary: `asm`, `disasm`, `link`, `exec` and `conformance`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one `kiln` invocation produced.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `kiln args…`; whatever it does, it must not panic.
fn kiln<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("cannot start kiln");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let shown: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
    assert!(
        !run.stderr.contains("panicked") && run.code != Some(101),
        "kiln {shown:?} panicked: {}",
        run.stderr
    );
    assert!(run.code.is_some(), "kiln {shown:?} was killed by a signal");
    run
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Assembles `source` with `kiln asm` into `dir/name`, returning the output path.
fn asm(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.s"));
    let out = dir.join(format!("{name}.bin"));
    std::fs::write(&src, source).unwrap();
    let run = kiln(&["asm", path_str(&src), "-o", path_str(&out)]);
    assert_eq!(run.code, Some(0), "kiln asm failed: {}", run.stderr);
    assert_eq!(run.stdout, "");
    out
}

fn disasm(bin: &Path) -> String {
    let run = kiln(&["disasm", path_str(bin)]);
    assert_eq!(run.code, Some(0), "kiln disasm failed: {}", run.stderr);
    run.stdout
}

// ---------------------------------------------------------------------------------------------
// asm / disasm
// ---------------------------------------------------------------------------------------------

/// Canonical text: what the disassembler prints for its own program.
const CANONICAL: &str = "\
.jump_table L0
L0:
    load_imm r7, 5
    jump L5
L5:
    add_imm_64 r7, r7, 1
    jump_ind r0, 0
";

/// The same program written loosely: ABI register names, comments, other label names.
const LOOSE: &str = "
# entry point
.jump_table main
main:   load_imm a0, 5      // a0 is r7
        jump next
next:
        add_imm_64 a0, a0, 1
        jump_ind ra, 0      # return
";

#[test]
fn asm_then_disasm_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = asm(dir.path(), "canonical", CANONICAL);
    assert_eq!(disasm(&canonical), CANONICAL);

    let loose = asm(dir.path(), "loose", LOOSE);
    assert_eq!(
        std::fs::read(&loose).unwrap(),
        std::fs::read(&canonical).unwrap(),
        "the same program"
    );
    assert_eq!(disasm(&loose), CANONICAL);
}

#[test]
fn standard_programs_round_trip_through_asm_and_disasm() {
    let source = r#"
        .heap_pages 2
        .stack_size 0x2000
        .ro_data
            .string "hello, kiln"
        .rw_data
            .bytes 01 02 03
        .code
        .jump_table main
        main:
            load_imm r7, 0x10000
            load_imm r8, 11
            jump_ind r0, 0
    "#;
    let dir = tempfile::tempdir().unwrap();
    let first = asm(dir.path(), "first", source);
    let text = disasm(&first);
    assert!(text.contains(".string \"hello, kiln\""), "{text}");
    assert!(text.contains(".heap_pages 2"), "{text}");
    let second = asm(dir.path(), "second", &text);
    assert_eq!(
        std::fs::read(&second).unwrap(),
        std::fs::read(&first).unwrap()
    );
    assert_eq!(disasm(&second), text, "canonical text is a fixed point");
}

#[test]
fn asm_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.s");
    std::fs::write(&src, "trap\nfrobnicate r1\n").unwrap();
    let out = dir.path().join("bad.bin");
    let run = kiln(&["asm", path_str(&src), "-o", path_str(&out)]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("line 2: unknown mnemonic `frobnicate`"),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "no output on error");
}

// ---------------------------------------------------------------------------------------------
// exec
// ---------------------------------------------------------------------------------------------

fn register_lines(set: &[(usize, u64)]) -> String {
    let mut regs = [0u64; 13];
    for &(r, v) in set {
        regs[r] = v;
    }
    regs.iter()
        .enumerate()
        .map(|(i, r)| format!("{:<4}= {r:#018x} ({r})\n", format!("r{i}")))
        .collect()
}

#[test]
fn exec_prints_exit_gas_pc_and_registers() {
    let dir = tempfile::tempdir().unwrap();
    let bin = asm(dir.path(), "prog", CANONICAL);
    let run = kiln(&[
        "exec",
        path_str(&bin),
        "--gas",
        "100",
        "--reg",
        "0=0xffff0000",
        "--reg",
        "r3=42",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    // Two blocks of two instructions; the halting jump_ind is at pc 8.
    let want = format!(
        "exit: halt\ngas used: 4\npc: 8\nhost calls: 0\n{}",
        register_lines(&[(0, 0xFFFF_0000), (3, 42), (7, 6)])
    );
    assert_eq!(run.stdout, want);
    assert!(run.stdout.contains("r7  = 0x0000000000000006 (6)\n"));
}

#[test]
fn exec_trace_prints_one_line_per_instruction_with_the_gas_left() {
    let dir = tempfile::tempdir().unwrap();
    let bin = asm(dir.path(), "prog", CANONICAL);
    let run = kiln(&[
        "exec",
        path_str(&bin),
        "--gas",
        "100",
        "--reg",
        "0=0xffff0000",
        "--trace",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    // Each block is paid when entered: 100 - 2, then 98 - 2.
    let trace = [
        (0, 98, "load_imm r7, 5"),
        (3, 98, "jump @5"),
        (5, 96, "add_imm_64 r7, r7, 1"),
        (8, 96, "jump_ind r0, 0"),
    ];
    for (line, (pc, gas, insn)) in lines.iter().zip(trace) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], pc.to_string(), "{line}");
        assert_eq!(fields[1], format!("gas={gas}"), "{line}");
        assert_eq!(fields[2..].join(" "), insn, "{line}");
    }
    assert_eq!(lines[trace.len()], "exit: halt", "{}", run.stdout);
    assert_eq!(lines[trace.len() + 1], "gas used: 4");
    assert_eq!(lines.len(), trace.len() + 4 + 13);
}

#[test]
fn exec_reports_other_exits() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "load_imm r1, 1\ntrap",
            &[],
            "exit: panic\ngas used: 2\npc: 3\n",
        ),
        (
            "load_u8 r1, 0x20000",
            &[],
            "exit: page-fault at 0x20000\ngas used: 2\npc: 0\n",
        ),
        (
            "load_imm r1, 1\nload_imm r2, 2\ntrap",
            &["--gas", "2"],
            "exit: out-of-gas\ngas used: 0\npc: 0\n",
        ),
        // Entry in the middle of the block pays for the whole block.
        (
            "load_imm r1, 1\nload_imm r2, 2\ntrap",
            &["--pc", "3"],
            "exit: panic\ngas used: 3\npc: 6\n",
        ),
    ];
    for (i, &(source, flags, want)) in cases.iter().enumerate() {
        let bin = asm(dir.path(), &format!("p{i}"), source);
        for backend in EXEC_BACKENDS {
            let mut args = vec![
                "exec",
                path_str(&bin),
                "--format",
                "blob",
                "--backend",
                backend,
            ];
            args.extend_from_slice(flags);
            let run = kiln(&args);
            assert_eq!(run.code, Some(0), "{source} on {backend}: {}", run.stderr);
            assert!(
                run.stdout.starts_with(want),
                "{source} on {backend}:\n{}",
                run.stdout
            );
        }
    }
}

/// Every `--backend` of `kiln exec` (auto picks the recompiler where there is one).
const EXEC_BACKENDS: [&str; 3] = ["interpreter", "recompiler", "auto"];

#[test]
fn exec_runs_standard_programs_with_arguments() {
    let source = "
        .ro_data
            .bytes 07
        .code
            load_ind_u8 r2, r7, 1
            load_u8 r3, 0x10000
            jump_ind r0, 0
    ";
    let dir = tempfile::tempdir().unwrap();
    let bin = asm(dir.path(), "std", source);
    let want = format!(
        "exit: halt\ngas used: 3\npc: 8\nhost calls: 0\n{}",
        register_lines(&[
            (0, 0xFFFF_0000),
            (1, 0xFEFE_0000),
            (2, 0xBB),
            (3, 7),
            (7, 0xFEFF_0000),
            (8, 3),
        ])
    );
    for backend in EXEC_BACKENDS {
        let run = kiln(&[
            "exec",
            path_str(&bin),
            "--args",
            "0xaabbcc",
            "--backend",
            backend,
        ]);
        assert_eq!(run.code, Some(0), "{backend}: {}", run.stderr);
        assert_eq!(run.stdout, want, "{backend}");
    }
}

#[test]
fn exec_rejects_malformed_input_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &[u8])] = &[
        ("empty.bin", b""),
        ("ones.bin", b"\xff\xff\xff"),
        ("truncated.bin", b"\x00\x00\x05\x33"),
        ("huge_table.bin", b"\xfe\xff\xff\xff\xff\xff\xff\x00\x00"),
        ("text.bin", b"this is not a program\n"),
    ];
    for &(name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for format in ["auto", "blob", "standard", "service"] {
            let run = kiln(&["exec", path_str(&path), "--format", format]);
            let what = format!("{name} as {format}");
            assert_eq!(run.code, Some(2), "{what}: {}{}", run.stdout, run.stderr);
            assert_eq!(run.stdout, "", "{what}");
            assert!(run.stderr.starts_with("kiln: "), "{what}: {}", run.stderr);
            assert_eq!(run.stderr.lines().count(), 1, "{what}: {}", run.stderr);
        }
    }
    let missing = dir.path().join("missing.bin");
    let run = kiln(&["exec", path_str(&missing)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("missing.bin"), "{}", run.stderr);

    // Bad flags are usage errors.
    let bin = asm(dir.path(), "ok", CANONICAL);
    for flags in [
        &["--reg", "13=1"][..],
        &["--reg", "1"],
        &["--args", "abc"],
        &["--args", "zz"],
        &["--profile", "jam-0.9"],
    ] {
        let mut args = vec!["exec", path_str(&bin)];
        args.extend_from_slice(flags);
        let run = kiln(&args);
        assert_eq!(run.code, Some(2), "{flags:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{flags:?}");
        assert!(!run.stderr.is_empty(), "{flags:?}");
    }
}

/// The error chain `kiln` prints should state each cause once.
#[test]
fn exec_error_messages_do_not_repeat_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.bin");
    std::fs::write(&path, b"\x00\x00\x05\x33").unwrap();
    let run = kiln(&["exec", path_str(&path), "--format", "blob"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stderr.matches("truncated").count(), 1, "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// conformance
// ---------------------------------------------------------------------------------------------

/// The shared w3f vectors, or `None` (with a message) when they are not present.
fn w3f_vectors() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pvm-v0.4/programs");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn conformance_reports_a_wrong_vector_and_a_malformed_file() {
    let Some(vectors) = w3f_vectors() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("a_pass.json");
    std::fs::copy(vectors.join("inst_add_32.json"), &pass).unwrap();
    let text = std::fs::read_to_string(vectors.join("inst_add_64.json")).unwrap();
    let mut wrong: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(wrong["expected-gas"], 9998);
    wrong["expected-gas"] = 1234.into();
    let wrong_path = dir.path().join("b_wrong.json");
    std::fs::write(&wrong_path, serde_json::to_string_pretty(&wrong).unwrap()).unwrap();

    // Every backend runs every case (`--backend all` is the default).
    let backends = if kiln_pvm::Backend::RECOMPILER_AVAILABLE {
        2
    } else {
        1
    };
    let run = kiln(&["conformance", path_str(dir.path())]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert_eq!(fails.len(), backends, "{}", run.stdout);
    for fail in &fails {
        assert!(fail.contains("b_wrong.json"), "{fail}");
        assert!(fail.contains("gas: expected 1234, got 9998"), "{fail}");
    }
    assert_eq!(
        last_line(&run.stdout),
        format!("{backends} passed, {backends} failed")
    );

    // Malformed JSON (and JSON that is no vector) count as failures; nothing panics.
    std::fs::remove_file(&wrong_path).unwrap();
    for (i, bad) in [
        "{\"program\": [1, 2",
        "{}",
        "not json at all",
        "{\"program\": [300]}",
    ]
    .iter()
    .enumerate()
    {
        let bad_path = dir.path().join("c_bad.json");
        std::fs::write(&bad_path, bad).unwrap();
        let run = kiln(&["conformance", path_str(dir.path())]);
        assert_eq!(run.code, Some(1), "case {i}: {}{}", run.stdout, run.stderr);
        let fails: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect();
        assert_eq!(fails.len(), 1, "case {i}: {}", run.stdout);
        assert!(fails[0].contains("c_bad.json"), "case {i}: {}", fails[0]);
        assert_eq!(
            last_line(&run.stdout),
            format!("{backends} passed, {backends} failed"),
            "case {i}"
        );
    }
}

/// A path that does not exist is an error that names it.
#[test]
fn conformance_names_a_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let run = kiln(&["conformance", path_str(&missing)]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);
}

#[test]
fn conformance_passes_the_shared_w3f_vectors() {
    let Some(vectors) = w3f_vectors() else {
        return;
    };
    let count = std::fs::read_dir(&vectors)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    let run = kiln(&[
        "conformance",
        "--backend",
        "interpreter",
        path_str(&vectors),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(run.stdout, format!("{count} passed, 0 failed\n"));
}

// ---------------------------------------------------------------------------------------------
// link
// ---------------------------------------------------------------------------------------------

#[test]
fn link_turns_a_zig_elf_into_a_program_that_exec_runs() {
    let dir = tempfile::tempdir().unwrap();
    let elf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../link/tests/fixtures/fib_rv64emc.elf"
    );
    let out = dir.path().join("fib.pvm");
    let run = kiln(&["link", elf, "-o", path_str(&out)]);
    assert_eq!(run.code, Some(0), "kiln link failed: {}", run.stderr);
    // entry(a0 = 10) = 2 · fib(10) = 110, returned in a0 (r7) by halting through ra.
    let run = kiln(&[
        "exec",
        path_str(&out),
        "--reg",
        "7=10",
        "--backend",
        "interpreter",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("exit: halt"), "{}", run.stdout);
    assert!(
        run.stdout.contains("r7  = 0x000000000000006e (110)"),
        "{}",
        run.stdout
    );
    // Not an ELF, or a missing file: a clear error, exit code 2.
    let bad = dir.path().join("bad.elf");
    std::fs::write(&bad, b"\x7fELF garbage").unwrap();
    let run = kiln(&["link", path_str(&bad), "-o", path_str(&out)]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("linking") && run.stderr.contains("ELF"),
        "{}",
        run.stderr
    );
}
