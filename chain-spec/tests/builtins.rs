//! The built-in specs: they parse, validate, round-trip, hash stably and carry the published
//! parameters.

mod common;

use std::collections::HashSet;

use kiln_chain_spec::{
    service_code, ChainSpec, ProtocolParams, BUILTIN_IDS, ENCODED_CONSTANTS_LEN,
};
use kiln_pvm::Profile;
use serde_json::Value;

fn builtins() -> Vec<ChainSpec> {
    vec![ChainSpec::dev(), ChainSpec::tiny(), ChainSpec::full()]
}

#[test]
fn each_builtin_validates_and_round_trips_with_the_same_hash() {
    for spec in builtins() {
        spec.validate().unwrap();
        let text = spec.to_json();
        let back = ChainSpec::from_json(&text, None)
            .unwrap_or_else(|e| panic!("{} does not re-parse: {e}", spec.id));
        assert_eq!(back, spec, "{}", spec.id);
        assert_eq!(back.hash(), spec.hash(), "{}", spec.id);
        assert_eq!(
            back.to_json(),
            text,
            "{}: to_json is a fixed point",
            spec.id
        );
    }
}

#[test]
fn builtin_lookup_by_id() {
    assert_eq!(BUILTIN_IDS, ["dev", "tiny", "full"]);
    for id in BUILTIN_IDS {
        let spec = ChainSpec::builtin(id).unwrap();
        assert_eq!(spec.id, id);
        assert_eq!(ChainSpec::load(id).unwrap(), spec);
    }
    assert_eq!(ChainSpec::builtin("dev"), Some(ChainSpec::dev()));
    assert_eq!(ChainSpec::default(), ChainSpec::dev());
    assert!(ChainSpec::builtin("Dev").is_none());
    assert!(ChainSpec::builtin("").is_none());
    let ids: HashSet<[u8; 32]> = builtins().iter().map(ChainSpec::hash).collect();
    assert_eq!(ids.len(), 3, "the built-ins hash differently");
}

#[test]
fn tiny_has_the_published_w3f_values() {
    let spec = ChainSpec::tiny();
    let p = spec.protocol;
    assert_eq!(p, ProtocolParams::TINY);
    assert_eq!(
        (
            p.num_validators,
            p.num_cores,
            p.preimage_expunge_period,
            p.slot_duration,
            p.epoch_length,
            p.contest_duration,
            p.tickets_per_validator,
            p.max_tickets_per_extrinsic,
            p.rotation_period,
            p.pieces_per_segment,
            p.max_block_gas,
            p.max_refine_gas
        ),
        (
            6,
            2,
            32,
            6,
            12,
            10,
            3,
            3,
            4,
            1026,
            20_000_000,
            1_000_000_000
        )
    );
    assert_eq!(p.erasure_piece_size, 4);
    assert_eq!(p.max_lookup_anchor_age, 24);
    assert_eq!(spec.pvm.profile, Profile::JAM_07);
    assert_eq!(spec.pvm.profile.name(), "jam-0.7");
    assert_eq!((spec.pvm.host_call_gas, spec.pvm.log_gas), (10, 0));
    assert!(!spec.dev_rpc);
    assert!(spec.genesis.services.is_empty());
}

#[test]
fn full_has_the_published_gray_paper_values() {
    let spec = ChainSpec::full();
    let p = spec.protocol;
    assert_eq!(p, ProtocolParams::FULL);
    assert_eq!(
        (
            p.num_validators,
            p.num_cores,
            p.preimage_expunge_period,
            p.slot_duration,
            p.epoch_length,
            p.contest_duration,
            p.tickets_per_validator,
            p.max_tickets_per_extrinsic,
            p.rotation_period,
            p.pieces_per_segment,
            p.max_block_gas,
            p.max_refine_gas
        ),
        (
            1023,
            341,
            19200,
            6,
            600,
            500,
            2,
            16,
            10,
            6,
            3_500_000_000,
            5_000_000_000
        )
    );
    assert_eq!(
        (p.item_deposit, p.byte_deposit, p.base_deposit),
        (10, 1, 100)
    );
    assert_eq!(
        (p.max_accumulate_gas, p.max_is_authorized_gas),
        (10_000_000, 50_000_000)
    );
    assert_eq!(p.max_service_code_size, 4_000_000);
    assert_eq!(p.max_package_size, 13_794_305);
    assert_eq!(p.erasure_piece_size, 684);
    assert_eq!(p.max_report_output, 49_152);
    assert_eq!(spec.pvm.profile.name(), "jam-0.7");
    assert_eq!((spec.pvm.host_call_gas, spec.pvm.log_gas), (10, 0));
    assert!(!spec.dev_rpc);
    assert!(spec.genesis.services.is_empty());
}

#[test]
fn dev_is_tiny_with_the_counter_service() {
    let spec = ChainSpec::dev();
    assert_eq!(spec.id, "dev");
    assert_eq!(spec.protocol, ProtocolParams::TINY);
    assert_eq!(spec.pvm.profile.name(), "jam-0.7");
    assert_eq!(
        (spec.pvm.host_call_gas, spec.pvm.log_gas),
        (10, 10),
        "JIP-1: log costs the base gas"
    );
    assert!(spec.dev_rpc);
    assert_eq!(spec.genesis.slot, 0);
    assert_eq!(spec.genesis.entropy, [0; 32]);
    let [service] = spec.genesis.services.as_slice() else {
        panic!("dev has one genesis service");
    };
    assert_eq!(service.id, 1);
    assert_eq!(service.name.as_deref(), Some("counter"));
    let program = kiln_guests::program("dev_service").expect("the dev_service guest is built in");
    assert_eq!(service.code, service_code(b"kiln:dev_service", program));
    assert!(service.balance >= 1_000_000_000);
    assert!(service.balance >= 100 * service.min_balance(&spec.protocol));
    assert_eq!((service.min_item_gas, service.min_memo_gas), (1000, 1000));
    assert_eq!(service.gratis_storage, 0);
    assert!(service.storage.is_empty());
}

#[test]
fn encode_constants_has_the_gp_length_and_layout() {
    let tiny = ChainSpec::tiny().protocol.encode_constants();
    assert_eq!(tiny.len(), ENCODED_CONSTANTS_LEN);
    assert_eq!(ENCODED_CONSTANTS_LEN, 134);
    // E_8(B_I = 10) ++ E_8(B_L = 1) ++ E_8(B_S = 100) ++ E_2(C = 2) ++ E_4(D = 32) ++ E_4(E = 12)
    let mut start = vec![
        10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0,
    ];
    start.extend([2, 0, 32, 0, 0, 0, 12, 0, 0, 0]);
    assert_eq!(&tiny[..start.len()], start.as_slice());
    // ... ++ E_2(V = 6) at 92 ... ++ E_4(Y = 10) last.
    assert_eq!(&tiny[92..94], &[6, 0]);
    assert_eq!(&tiny[130..], &[10, 0, 0, 0]);
    let full = ChainSpec::full().protocol.encode_constants();
    assert_eq!(full.len(), ENCODED_CONSTANTS_LEN);
    assert_eq!(&full[24..26], &341u16.to_le_bytes());
    assert_eq!(&full[92..94], &1023u16.to_le_bytes());
    assert_eq!(&full[130..], &500u32.to_le_bytes());
}

#[test]
fn hash_is_stable_across_runs() {
    // Pinned: the canonical form of tiny and full must not change by accident (dev depends on
    // the guest build, so it is only checked for determinism).
    let hex = common::hex;
    assert_eq!(hex(&ChainSpec::tiny().hash()), TINY_HASH);
    assert_eq!(hex(&ChainSpec::full().hash()), FULL_HASH);
    assert_eq!(ChainSpec::dev().hash(), ChainSpec::dev().hash());
    let reparsed = ChainSpec::from_json(&ChainSpec::dev().to_json(), None).unwrap();
    assert_eq!(reparsed.hash(), ChainSpec::dev().hash());
}

/// BLAKE2b-256 of `specs/tiny.json` and `specs/full.json` re-serialized without whitespace
/// (computed outside Rust, with Python's `json` and `hashlib`).
const TINY_HASH: &str = "0x9c05909ca0fcec903caa020863298ba269a07c4c512dada1019b2682adb96e6a";
const FULL_HASH: &str = "0x76ba55efc8f33975bc0c30b3e513d12fa5c28dd9ffca464f7060ab18d528ee1e";

/// Every field of the spec, changed one at a time, changes the hash.
#[test]
fn hash_changes_when_any_field_changes() {
    let base = ChainSpec::dev();
    let mut variants: Vec<(String, ChainSpec)> = Vec::new();
    let mut push = |what: &str, f: &dyn Fn(&mut ChainSpec)| {
        let mut spec = base.clone();
        f(&mut spec);
        assert_ne!(spec, base, "{what} changed nothing");
        variants.push((what.to_string(), spec));
    };
    push("name", &|s| s.name.push('!'));
    push("id", &|s| s.id.push('2'));
    push("pvm.profile", &|s| s.pvm.profile = Profile::JAM_08);
    push("pvm.host_call_gas", &|s| s.pvm.host_call_gas += 1);
    push("pvm.log_gas", &|s| s.pvm.log_gas += 1);
    push("dev_rpc", &|s| s.dev_rpc = !s.dev_rpc);
    push("genesis.slot", &|s| s.genesis.slot += 1);
    push("genesis.entropy", &|s| s.genesis.entropy[31] ^= 1);
    push("services", &|s| s.genesis.services.clear());
    push("service.id", &|s| s.genesis.services[0].id += 1);
    push("service.name", &|s| s.genesis.services[0].name = None);
    push("service.code", &|s| s.genesis.services[0].code.push(0));
    push("service.balance", &|s| s.genesis.services[0].balance += 1);
    push("service.min_item_gas", &|s| {
        s.genesis.services[0].min_item_gas += 1
    });
    push("service.min_memo_gas", &|s| {
        s.genesis.services[0].min_memo_gas += 1
    });
    push("service.gratis_storage", &|s| {
        s.genesis.services[0].gratis_storage += 1
    });
    push("service.storage", &|s| {
        s.genesis.services[0].storage.insert(vec![1], vec![2]);
    });
    // Every protocol parameter, through its JSON form.
    let protocol = serde_json::to_value(base.protocol).unwrap();
    let Value::Object(fields) = &protocol else {
        panic!("protocol is an object")
    };
    assert_eq!(fields.len(), 33, "one field per fetch constant");
    for (key, value) in fields {
        let mut changed = protocol.clone();
        changed[key] = Value::from(value.as_u64().unwrap() ^ 1);
        let mut spec = base.clone();
        spec.protocol = serde_json::from_value(changed).unwrap();
        variants.push((format!("protocol.{key}"), spec));
    }
    let mut seen = HashSet::from([base.hash()]);
    for (what, spec) in &variants {
        assert!(
            seen.insert(spec.hash()),
            "changing {what} left the hash as before"
        );
    }
}
