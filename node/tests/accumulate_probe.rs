//! A first probe of issue 10: the w3f accumulate vector `process_one_immediate_report-1`
//! (one report, no dependencies) through Kiln's executor on the tiny chain: the service's
//! storage writes and its gas are the vector's, on both backends. (This vector pinned down
//! `sbrk`: its Rust service asks the break with `sbrk(0)` and grows it only when needed; a
//! heap that starts at the read-write data's start costs it 4 more gas.)

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_chain_spec::{ChainSpec, GenesisService};
use kiln_node::executor::{
    AccumulateOperand, AccumulateRequest, ExecutorConfig, ExitStatus, Mode, ServiceExecutor,
    WorkResult,
};
use kiln_node::genesis::open_state;
use kiln_pvm::Backend;

fn hex(v: &serde_json::Value) -> Vec<u8> {
    let s = v.as_str().unwrap().trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash(v: &serde_json::Value) -> [u8; 32] {
    hex(v).try_into().unwrap()
}

#[test]
fn one_immediate_report_accumulates_with_the_vectors_writes_and_gas() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/accumulate-0.7.0/tiny/process_one_immediate_report-1.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let account = &v["pre_state"]["accounts"][0];
    let id = account["id"].as_u64().unwrap() as u32;
    let service = &account["data"]["service"];
    let code = hex(&account["data"]["preimages"][0]["blob"]);
    let mut spec = ChainSpec::tiny();
    spec.genesis.services.push(GenesisService {
        id,
        name: None,
        code,
        balance: service["balance"].as_u64().unwrap(),
        min_item_gas: service["min_item_gas"].as_u64().unwrap(),
        min_memo_gas: service["min_memo_gas"].as_u64().unwrap(),
        gratis_storage: 0,
        storage: BTreeMap::new(),
    });
    let report = &v["input"]["reports"][0];
    let result = &report["results"][0];
    let operand = AccumulateOperand {
        package_hash: hash(&report["package_spec"]["hash"]),
        exports_root: hash(&report["package_spec"]["exports_root"]),
        authorizer_hash: hash(&report["authorizer_hash"]),
        payload_hash: hash(&result["payload_hash"]),
        gas_limit: result["accumulate_gas"].as_u64().unwrap(),
        result: WorkResult::Ok(hex(&result["result"]["ok"])),
        auth_output: hex(&report["auth_output"]),
    };
    let expected_gas = v["post_state"]["statistics"][0]["record"]["accumulate_gas_used"]
        .as_u64()
        .unwrap();
    let expected_storage: Vec<(Vec<u8>, Vec<u8>)> = v["post_state"]["accounts"][0]["data"]
        ["storage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (hex(&kv["key"]), hex(&kv["value"])))
        .collect();
    for &backend in Backend::available() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_state(dir.path(), &spec).unwrap();
        let config = ExecutorConfig {
            backend,
            ..ExecutorConfig::default()
        };
        let ex = ServiceExecutor::new(Arc::new(db), Arc::new(spec.clone()), config);
        let request = AccumulateRequest {
            service: id,
            slot: v["input"]["slot"].as_u64().unwrap() as u32,
            gas: operand.gas_limit,
            operands: vec![operand.clone()],
            entropy: hash(&v["pre_state"]["entropy"]),
        };
        let outcome = ex.accumulate(&request, Mode::DryRun).unwrap();
        assert_eq!(outcome.status, ExitStatus::Halt);
        let written: Vec<(Vec<u8>, Vec<u8>)> = outcome
            .writes
            .storage
            .iter()
            .filter_map(|((_, k), v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        assert_eq!(written, expected_storage, "{backend:?}");
        assert_eq!(outcome.gas_used, expected_gas, "{backend:?}");
    }
}
