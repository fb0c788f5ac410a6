//! Genesis service code from hex, a file and a guest; `load` by id and by path.

mod common;

use std::path::Path;

use common::{base, check_error, fib_code, hex, parse, service};
use kiln_chain_spec::{service_code, ChainSpec, SpecError};
use serde_json::{json, Value};

#[test]
fn code_from_hex() {
    let code = fib_code(b"from hex");
    let mut v = base();
    v["genesis"]["services"] = json!([service(3, json!(hex(&code)))]);
    let spec = parse(&v).unwrap();
    assert_eq!(spec.genesis.services[0].code, code);
    assert_eq!(spec.genesis.services[0].id, 3);
    // Upper-case digits are accepted and written back in lower case.
    v["genesis"]["services"][0]["code"] = json!(hex(&code).to_uppercase().replacen("0X", "0x", 1));
    assert_eq!(parse(&v).unwrap(), spec);
}

#[test]
fn code_from_a_guest() {
    let mut v = base();
    v["genesis"]["services"] = json!([service(3, json!({"guest": "fib"}))]);
    let spec = parse(&v).unwrap();
    assert_eq!(spec.genesis.services[0].code, fib_code(b"kiln:fib"));
}

#[test]
fn code_from_a_file_relative_to_the_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    let code = fib_code(b"from a file");
    std::fs::create_dir(dir.path().join("code")).unwrap();
    std::fs::write(dir.path().join("code/fib.bin"), &code).unwrap();
    let mut v = base();
    v["genesis"]["services"] = json!([service(3, json!({"file": "code/fib.bin"}))]);
    let text = serde_json::to_string(&v).unwrap();

    let spec = ChainSpec::from_json(&text, Some(dir.path())).unwrap();
    assert_eq!(spec.genesis.services[0].code, code);

    // load() takes relative paths from the spec file's directory.
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, &text).unwrap();
    let loaded = ChainSpec::load(spec_path.to_str().unwrap()).unwrap();
    assert_eq!(loaded, spec);

    // An absolute path ignores the base directory.
    let absolute = dir.path().join("code/fib.bin");
    v["genesis"]["services"][0]["code"] = json!({"file": absolute.to_str().unwrap()});
    let text = serde_json::to_string(&v).unwrap();
    let elsewhere = ChainSpec::from_json(&text, Some(Path::new("/nonexistent"))).unwrap();
    assert_eq!(elsewhere.genesis.services[0].code, code);

    // Without a base directory a relative path is not found here.
    let mut relative = v.clone();
    relative["genesis"]["services"][0]["code"] = json!({"file": "code/fib.bin"});
    assert!(parse(&relative).is_err());
}

#[test]
fn to_json_writes_code_as_hex_and_round_trips() {
    let mut v = base();
    v["genesis"]["services"] = json!([
        service(3, json!({"guest": "fib"})),
        service(4, json!(hex(&fib_code(b"")))),
    ]);
    v["genesis"]["services"][1]["name"] = json!("second");
    v["genesis"]["services"][1]["gratis_storage"] = json!(5);
    v["genesis"]["services"][1]["storage"] = json!({"0x01": "0x", "0xABCD": "0x0102"});
    let spec = parse(&v).unwrap();
    let out: Value = serde_json::from_str(&spec.to_json()).unwrap();
    let services = &out["genesis"]["services"];
    assert_eq!(services[0]["code"], json!(hex(&fib_code(b"kiln:fib"))));
    assert!(
        services[0].get("name").is_none(),
        "no name is written as none"
    );
    assert_eq!(
        services[1]["storage"],
        json!({"0x01": "0x", "0xabcd": "0x0102"})
    );
    let storage = &spec.genesis.services[1].storage;
    assert_eq!(storage.get([0xab, 0xcd].as_slice()), Some(&vec![1, 2]));
    assert_eq!(storage.get([0x01].as_slice()), Some(&vec![]));
    let back = ChainSpec::from_json(&spec.to_json(), None).unwrap();
    assert_eq!(back, spec);
    assert_eq!(back.hash(), spec.hash());
}

#[test]
fn load_by_id_and_by_path() {
    assert_eq!(ChainSpec::load("dev").unwrap(), ChainSpec::dev());
    assert_eq!(ChainSpec::load("full").unwrap(), ChainSpec::full());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.json");
    std::fs::write(&path, ChainSpec::tiny().to_json()).unwrap();
    assert_eq!(
        ChainSpec::load(path.to_str().unwrap()).unwrap(),
        ChainSpec::tiny()
    );

    let err = ChainSpec::load("nonexistent").unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("`nonexistent`"), "{msg}");
    assert!(msg.contains("dev, tiny, full"), "{msg}");
    assert_eq!(err.field(), None);
}

#[test]
fn errors_from_a_file_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    let mut v = base();
    v["protocol"]["num_cores"] = json!(0);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let err = ChainSpec::load(path.to_str().unwrap()).unwrap_err();
    let msg = check_error(&err, "protocol.num_cores", &["at least 1"]);
    assert!(msg.starts_with(&format!("{}: ", path.display())), "{msg}");

    // A missing code file names the field and the resolved path.
    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"file": "missing.bin"});
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let err = ChainSpec::load(path.to_str().unwrap()).unwrap_err();
    let missing = dir.path().join("missing.bin");
    check_error(
        &err,
        "genesis.services[0].code.file",
        &[&missing.display().to_string(), "broken.json"],
    );
}

#[test]
fn service_code_matches_the_pvm_parser() {
    let program = kiln_guests::program("fib").unwrap();
    for meta_len in [0usize, 1, 127, 128, 300, 20_000] {
        let meta = vec![0x5a; meta_len];
        let code = service_code(&meta, program);
        let (parsed_meta, parsed) = kiln_pvm::StandardProgram::parse_service_code(&code).unwrap();
        assert_eq!(parsed_meta, meta);
        assert_eq!(parsed.to_bytes(), program);
    }
}
