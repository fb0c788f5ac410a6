//! Bad input: each error names the field and says what is wrong.

mod common;

use common::{base, expect_error, fib_code, hex, parse, service};
use kiln_chain_spec::ChainSpec;
use serde_json::json;

#[test]
fn the_base_spec_is_valid() {
    let spec = parse(&base()).unwrap();
    assert_eq!(spec.genesis.services[0].id, 7);
}

#[test]
fn unknown_fields() {
    let mut v = base();
    v["protocol"]["num_corez"] = json!(2);
    expect_error(&v, "protocol.num_corez", &["unknown field `num_corez`"]);

    let mut v = base();
    v["genesis"]["services"][0]["balanse"] = json!(1);
    expect_error(
        &v,
        "genesis.services[0].balanse",
        &["unknown field `balanse`"],
    );

    let mut v = base();
    v["extra"] = json!(true);
    expect_error(&v, "extra", &["unknown field `extra`"]);
}

#[test]
fn missing_fields() {
    let mut v = base();
    v["protocol"].as_object_mut().unwrap().remove("max_exports");
    expect_error(&v, "protocol", &["missing field `max_exports`"]);
}

#[test]
fn wrong_types_and_ranges() {
    let mut v = base();
    v["protocol"]["num_cores"] = json!("2");
    expect_error(&v, "protocol.num_cores", &["invalid type: string \"2\""]);

    let mut v = base();
    v["protocol"]["num_cores"] = json!(70_000);
    expect_error(&v, "protocol.num_cores", &["invalid value", "u16"]);

    let mut v = base();
    v["genesis"]["services"][0]["balance"] = json!(-1);
    expect_error(&v, "genesis.services[0].balance", &["invalid value"]);

    let mut v = base();
    v["dev_rpc"] = json!("yes");
    expect_error(&v, "dev_rpc", &["invalid type"]);

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!(12);
    expect_error(
        &v,
        "genesis.services[0].code",
        &["invalid type", "hex string"],
    );
}

#[test]
fn bad_hex() {
    let mut v = base();
    v["genesis"]["entropy"] = json!(format!("0x{}", "zz".repeat(32)));
    expect_error(
        &v,
        "genesis.entropy",
        &["invalid hex digit 'z' at position 0"],
    );

    let mut v = base();
    v["genesis"]["entropy"] = json!("00".repeat(32));
    expect_error(&v, "genesis.entropy", &["0x"]);

    let mut v = base();
    v["genesis"]["entropy"] = json!("0x0102");
    expect_error(&v, "genesis.entropy", &["expected 32 bytes", "got 2"]);

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!("0x12g4");
    expect_error(&v, "genesis.services[0].code", &["invalid hex digit 'g'"]);

    let mut v = base();
    v["genesis"]["services"][0]["storage"] = json!({"0x01": "0xnope"});
    expect_error(&v, "genesis.services[0].storage.0x01", &["0x"]);

    let mut v = base();
    v["genesis"]["services"][0]["storage"] = json!({"0xAB": "0x", "0xab": "0x01"});
    expect_error(&v, "genesis.services[0].storage", &["duplicate key 0xab"]);
}

#[test]
fn odd_length_hex() {
    let mut v = base();
    let code = hex(&fib_code(b"x"));
    v["genesis"]["services"][0]["code"] = json!(&code[..code.len() - 1]);
    expect_error(
        &v,
        "genesis.services[0].code",
        &["odd number of hex digits"],
    );

    let mut v = base();
    v["genesis"]["entropy"] = json!(format!("0x{}", "0".repeat(63)));
    expect_error(&v, "genesis.entropy", &["odd number of hex digits (63)"]);
}

#[test]
fn missing_code_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"file": "nope.bin"});
    let text = serde_json::to_string(&v).unwrap();
    let err = ChainSpec::from_json(&text, Some(dir.path())).unwrap_err();
    common::check_error(
        &err,
        "genesis.services[0].code.file",
        &[
            "cannot read code file",
            &dir.path().join("nope.bin").display().to_string(),
        ],
    );
}

#[test]
fn bad_code_source_objects() {
    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"guest": "no_such_guest"});
    expect_error(
        &v,
        "genesis.services[0].code.guest",
        &["unknown guest \"no_such_guest\"", "fib"],
    );

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"url": "x"});
    expect_error(
        &v,
        "genesis.services[0].code",
        &["unknown field `url`", "file", "guest"],
    );

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"guest": "fib", "file": "x"});
    expect_error(&v, "genesis.services[0].code", &["exactly one of"]);

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({});
    expect_error(&v, "genesis.services[0].code", &["empty object"]);

    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!({"file": 5});
    expect_error(&v, "genesis.services[0].code.file", &["invalid type"]);
}

#[test]
fn duplicate_service_id() {
    let mut v = base();
    let code = json!({"guest": "fib"});
    v["genesis"]["services"] = json!([service(7, code.clone()), service(7, code)]);
    expect_error(
        &v,
        "genesis.services[1].id",
        &["duplicate service id 7", "genesis.services[0].id"],
    );
}

#[test]
fn oversize_code() {
    let mut v = base();
    v["protocol"]["max_service_code_size"] = json!(100);
    expect_error(
        &v,
        "genesis.services[0].code",
        &["exceeds protocol.max_service_code_size (100 bytes"],
    );
    // Exactly at the limit is fine.
    let code = fib_code(b"test");
    v["protocol"]["max_service_code_size"] = json!(code.len());
    parse(&v).unwrap();
}

#[test]
fn code_that_is_not_service_code() {
    let mut v = base();
    v["genesis"]["services"][0]["code"] = json!("0x0501");
    expect_error(&v, "genesis.services[0].code", &["not service code"]);
}

#[test]
fn unknown_profile_name() {
    let mut v = base();
    v["pvm"]["profile"] = json!("jam-0.9");
    expect_error(
        &v,
        "pvm.profile",
        &["unknown PVM profile \"jam-0.9\"", "jam-0.7"],
    );

    // Known names with a gas-model suffix are accepted and kept.
    let mut v = base();
    v["pvm"]["profile"] = json!("jam-0.7+pipeline");
    let spec = parse(&v).unwrap();
    assert_eq!(spec.pvm.profile.name(), "jam-0.7+pipeline");
    assert_eq!(ChainSpec::from_json(&spec.to_json(), None).unwrap(), spec);
}

#[test]
fn zero_counts() {
    for field in [
        "num_validators",
        "num_cores",
        "epoch_length",
        "max_refine_gas",
    ] {
        let mut v = base();
        v["protocol"][field] = json!(0);
        expect_error(&v, &format!("protocol.{field}"), &["must be at least 1"]);
    }
}

#[test]
fn protocol_relations() {
    let mut v = base();
    v["protocol"]["max_block_gas"] = json!(1);
    expect_error(&v, "protocol.max_block_gas", &["max_accumulate_gas"]);

    let mut v = base();
    v["protocol"]["contest_duration"] = json!(12);
    expect_error(&v, "protocol.contest_duration", &["epoch_length (12)"]);
}

#[test]
fn balance_below_the_minimum() {
    let mut v = base();
    v["genesis"]["services"][0]["balance"] = json!(100);
    expect_error(
        &v,
        "genesis.services[0].balance",
        &["below the account's minimum balance"],
    );
    // gratis_storage can make up the difference.
    v["genesis"]["services"][0]["gratis_storage"] = json!(1_000_000_000u64);
    parse(&v).unwrap();
}

#[test]
fn bad_name_and_id() {
    let mut v = base();
    v["name"] = json!(" ");
    expect_error(&v, "name", &["must not be empty"]);

    let mut v = base();
    v["id"] = json!("my chain");
    expect_error(&v, "id", &["ASCII letters"]);

    let mut v = base();
    v["genesis"]["services"][0]["name"] = json!("");
    expect_error(&v, "genesis.services[0].name", &["must not be empty"]);
}

#[test]
fn truncated_json() {
    let text = serde_json::to_string_pretty(&base()).unwrap();
    let cut = text.find("\"services\"").unwrap() + 40;
    let err = ChainSpec::from_json(&text[..cut], None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("EOF while parsing"), "{msg}");
    assert!(
        msg.contains("genesis.services"),
        "names where it stopped: {msg}"
    );

    let err = ChainSpec::from_json("", None).unwrap_err();
    assert_eq!(err.field(), Some("(document)"), "{err}");

    let err = ChainSpec::from_json(&format!("{text} {{}}"), None).unwrap_err();
    assert_eq!(err.field(), Some("(document)"), "{err}");
    assert!(err.to_string().contains("trailing characters"), "{err}");
}
