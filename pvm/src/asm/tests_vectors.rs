//! Disassembling blobs the assembler did not write: the conformance vectors and random bytes.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::tests::profile;
use super::*;
use crate::isa::IsaVariant;
use crate::program::{Instruction, Program};

/// The shared conformance directory beside the repository, if present.
fn conformance_dir() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    [beside, PathBuf::from("/work/shared/conformance")]
        .into_iter()
        .find(|p| p.is_dir())
}

/// The `"program": [ … ]` byte array of a vector file (no JSON dependency needed).
fn program_bytes(json: &str) -> Option<Vec<u8>> {
    let at = json.find("\"program\"")?;
    let rest = &json[at..];
    let open = rest.find('[')?;
    let close = rest[open..].find(']')? + open;
    rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u8>().ok())
        .collect()
}

fn decoded(bytes: &[u8], isa: IsaVariant) -> Vec<Instruction> {
    Program::from_blob_bytes(bytes, profile(isa))
        .unwrap()
        .instructions()
        .collect()
}

/// Checks that `blob`'s disassembly reassembles to the same code, mask and jump table, and
/// returns the text.
fn check_reassembly(blob: &CodeBlob, isa: IsaVariant) -> String {
    let text = disassemble_blob(blob, isa);
    let again = match assemble(&text, isa) {
        Ok(Assembled::Blob(b)) => b,
        other => panic!("disassembly does not reassemble: {other:?}\n{text}"),
    };
    assert_eq!(again.code, blob.code, "code differs:\n{text}");
    assert_eq!(again.mask, blob.mask, "mask differs:\n{text}");
    assert_eq!(
        again.jump_table, blob.jump_table,
        "jump table differs:\n{text}"
    );
    // Reassembled canonical text is a fixed point.
    assert_eq!(disassemble_blob(&again, isa), text);
    text
}

fn run_vectors(sub: &str, isa: IsaVariant, expected_at_least: usize) {
    let Some(dir) = conformance_dir()
        .map(|d| d.join(sub))
        .filter(|d| d.is_dir())
    else {
        eprintln!("SKIP: conformance directory {sub} is absent; vector disassembly not tested");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut checked, mut raw) = (0, 0);
    for path in &files {
        let json = std::fs::read_to_string(path).unwrap();
        let Some(bytes) = program_bytes(&json) else {
            panic!("{}: no program array", path.display());
        };
        let Ok(blob) = CodeBlob::parse(&bytes) else {
            // Vectors may hold deliberately malformed blobs; nothing to disassemble.
            continue;
        };
        let text = check_reassembly(&blob, isa);
        let again = assemble(&text, isa).unwrap().to_bytes();
        if Program::from_blob_bytes(&bytes, profile(isa)).is_ok() {
            assert_eq!(
                decoded(&again, isa),
                decoded(&bytes, isa),
                "{}:\n{text}",
                path.display()
            );
        }
        raw += usize::from(text.contains(".insn") || text.contains(".raw"));
        checked += 1;
    }
    eprintln!("{sub}: {checked} programs disassembled and reassembled ({raw} with raw bytes)");
    assert!(
        checked >= expected_at_least,
        "only {checked} programs in {sub}"
    );
}

#[test]
fn w3f_vectors_disassemble_and_reassemble() {
    run_vectors("pvm-v0.4/programs", IsaVariant::Jam07, 200);
}

#[test]
fn gas_draft_vectors_disassemble_and_reassemble() {
    run_vectors("gas-model-draft/tests/programs", IsaVariant::GasDraft, 300);
}

#[test]
fn odd_blobs_reassemble_exactly() {
    let isa = IsaVariant::Jam07;
    let cases = [
        // No instruction start at all.
        CodeBlob {
            jump_table: vec![],
            code: vec![1, 2, 3],
            mask: vec![0],
        },
        // Invalid opcode with operand bytes, then a 3-register op whose rd is read from the next
        // opcode, then a long gap.
        CodeBlob {
            jump_table: vec![0, 1, 7, 1000],
            code: [vec![0xFF, 9, 200, 0x21], vec![0; 30]].concat(),
            mask: vec![0b0000_0101, 0, 0, 0, 0],
        },
        // Register nibbles above 12, a non-minimal immediate, a branch to itself.
        CodeBlob {
            jump_table: vec![],
            code: vec![190, 0xFD, 0xF3, 51, 0x01, 0x05, 0x00, 40],
            mask: vec![0b1000_1001],
        },
        // A hand-built blob with a short mask and stray padding bits.
        CodeBlob {
            jump_table: vec![],
            code: vec![0; 12],
            mask: vec![0xFF],
        },
    ];
    for blob in &cases {
        let text = disassemble_blob(blob, isa);
        let again = match assemble(&text, isa) {
            Ok(Assembled::Blob(b)) => b,
            other => panic!("{other:?}\n{text}"),
        };
        assert_eq!(again.code, blob.code, "{text}");
        let mut mask = blob.mask.clone();
        mask.resize(blob.code.len().div_ceil(8), 0);
        if blob.code.len() % 8 != 0 {
            *mask.last_mut().unwrap() &= (1 << (blob.code.len() % 8)) - 1;
        }
        assert_eq!(again.mask, mask, "{text}");
    }
    assert_eq!(
        disassemble_blob(&cases[0], isa),
        "    .raw 01 02 03\n",
        "bytes before the first instruction"
    );
}

/// Branches whose offsets sit on a size boundary in a layout the assembler would not choose.
#[test]
fn non_minimal_layouts_fall_back_to_raw_branches() {
    let isa = IsaVariant::Jam07;
    let jump = isa.table().encode(crate::isa::Opcode::Jump).unwrap();
    // `jump` with a 2-byte offset 128 over 125 `fallthrough`s to a `trap`: every instruction is
    // minimal for this layout, but the assembler's iteration settles on a 1-byte offset of 127.
    let mut code = vec![jump, 128, 0];
    code.extend(std::iter::repeat_n(1u8, 125));
    code.push(0);
    let mut mask = vec![0xFFu8; code.len().div_ceil(8)];
    mask[0] &= !0b110;
    let len = code.len();
    if len % 8 != 0 {
        *mask.last_mut().unwrap() &= (1 << (len % 8)) - 1;
    }
    let blob = CodeBlob {
        jump_table: vec![],
        code,
        mask,
    };
    let text = check_reassembly(&blob, isa);
    assert!(
        text.starts_with("    .insn 28 80 00  # jump L128\n"),
        "{text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_blobs_reassemble_exactly(
        code in proptest::collection::vec(any::<u8>(), 0..120),
        mask_bits in proptest::collection::vec(any::<u8>(), 15),
        jump_table in proptest::collection::vec(0u32..200, 0..5),
        variant in 0usize..3,
    ) {
        let isa = IsaVariant::ALL[variant];
        let mut mask = mask_bits;
        mask.truncate(code.len().div_ceil(8));
        if code.len() % 8 != 0 {
            if let Some(last) = mask.last_mut() {
                *last &= (1 << (code.len() % 8)) - 1;
            }
        }
        let blob = CodeBlob { jump_table, code, mask };
        check_reassembly(&blob, isa);
    }

    #[test]
    fn assembler_never_panics(source in "[ -~\n\t]{0,200}") {
        for isa in IsaVariant::ALL {
            let _ = assemble(&source, isa);
        }
    }

    #[test]
    fn assembler_never_panics_on_near_miss_lines(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("add_64 r1, r2, r3".to_string()),
                Just("x: jump x".to_string()),
                Just(".jump_table x, @7".to_string()),
                Just("load_imm r1, &x".to_string()),
                Just(".ro_data".to_string()),
                Just(".code".to_string()),
                Just(".string \"é\\x4".to_string()),
                "[a-z_.@&:,\" 0-9x-]{0,30}",
                "\\PC{0,20}",
            ],
            0..12,
        )
    ) {
        let source = lines.join("\n");
        for isa in IsaVariant::ALL {
            if let Ok(a) = assemble(&source, isa) {
                let _ = a.to_bytes();
            }
        }
    }
}
