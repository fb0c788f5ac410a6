//! Helpers shared by the integration tests.

#![allow(dead_code)]

use kiln_chain_spec::{service_code, ChainSpec, SpecError};
use serde_json::{json, Value};

/// Service code built from the `fib` guest with metadata `meta`.
pub fn fib_code(meta: &[u8]) -> Vec<u8> {
    service_code(
        meta,
        kiln_guests::program("fib").expect("the fib guest is built in"),
    )
}

/// Lowercase `0x` hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A valid service entry with `code` as given.
pub fn service(id: u32, code: Value) -> Value {
    json!({
        "id": id,
        "code": code,
        "balance": 1_000_000_000u64,
        "min_item_gas": 100,
        "min_memo_gas": 100
    })
}

/// The tiny spec as a JSON value, with one service (id 7, hex `fib` code).
pub fn base() -> Value {
    let mut v: Value = serde_json::from_str(&ChainSpec::tiny().to_json()).unwrap();
    v["id"] = json!("test");
    v["genesis"]["services"] = json!([service(7, json!(hex(&fib_code(b"test"))))]);
    v
}

/// Parses `v` (with no base directory).
pub fn parse(v: &Value) -> Result<ChainSpec, SpecError> {
    ChainSpec::from_json(&serde_json::to_string_pretty(v).unwrap(), None)
}

/// Parses `v`, expecting an error whose field is `field` and whose message contains every
/// string in `needles`; returns the message.
pub fn expect_error(v: &Value, field: &str, needles: &[&str]) -> String {
    let err = parse(v).expect_err("the spec should be rejected");
    check_error(&err, field, needles)
}

/// Checks an error's field and message.
pub fn check_error(err: &SpecError, field: &str, needles: &[&str]) -> String {
    let msg = err.to_string();
    assert_eq!(err.field(), Some(field), "wrong field in: {msg}");
    assert!(msg.contains(field), "message does not name {field}: {msg}");
    for needle in needles {
        assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
    }
    msg
}
