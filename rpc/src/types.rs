//! Parameters and results of the `kiln_` methods (camelCase JSON; bytes and hashes as
//! `0x`-prefixed hex).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes as `0x`-prefixed hex (either case read, lower case written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// A 32-byte hash as `0x` and 64 hex digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hash32(pub [u8; 32]);

fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push(char::from_digit(u32::from(b >> 4), 16).expect("a nibble"));
        s.push(char::from_digit(u32::from(b & 15), 16).expect("a nibble"));
    }
    s
}

/// Parses `0x`-prefixed hex.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| "hex must start with 0x".to_string())?;
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .as_bytes()
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let high = (pair[0] as char).to_digit(16);
            let low = (pair[1] as char).to_digit(16);
            match (high, low) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(format!("not a hex digit at position {}", 2 + 2 * i)),
            }
        })
        .collect()
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        from_hex(&text).map(Bytes).map_err(D::Error::custom)
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Bytes::deserialize(d)?.0;
        let len = bytes.len();
        bytes
            .try_into()
            .map(Hash32)
            .map_err(|_| D::Error::custom(format!("a hash is 32 bytes, not {len}")))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

/// `kiln_dryRunRefine`: run a service's refine on the current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefineParams {
    /// Service id.
    pub service: u32,
    /// The work item's payload.
    #[serde(default)]
    pub payload: Bytes,
    /// Gas limit (at most the chain's `max_refine_gas`).
    pub gas: u64,
    /// Core index.
    #[serde(default)]
    pub core: u16,
    /// Index of the work item in its package.
    #[serde(default)]
    pub item_index: u32,
    /// Hash of the work package.
    #[serde(default)]
    pub package_hash: Hash32,
    /// Also return the gas spent per basic block.
    #[serde(default)]
    pub profile: bool,
}

/// A work result given to accumulate: `{"ok": "0x…"}` or `{"error": "panic"}` (or
/// `out-of-gas`, `bad-exports`, `oversize`, `bad-code`, `code-too-big`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum WorkResultParam {
    /// Refine's output.
    Ok(Bytes),
    /// Why there is none.
    Error(String),
}

/// One accumulate operand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperandParam {
    /// Work-package hash.
    #[serde(default)]
    pub package_hash: Hash32,
    /// Exports root.
    #[serde(default)]
    pub exports_root: Hash32,
    /// Authorizer hash.
    #[serde(default)]
    pub authorizer_hash: Hash32,
    /// Payload hash.
    #[serde(default)]
    pub payload_hash: Hash32,
    /// Accumulate gas limit of the item.
    #[serde(default)]
    pub gas_limit: u64,
    /// The refine result.
    pub result: WorkResultParam,
    /// Authorizer output.
    #[serde(default)]
    pub auth_output: Bytes,
}

/// `kiln_dryRunAccumulate` and `kiln_applyAccumulate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccumulateParams {
    /// Service id.
    pub service: u32,
    /// Gas limit (at most the chain's `max_block_gas`).
    pub gas: u64,
    /// Timeslot.
    #[serde(default)]
    pub slot: u32,
    /// Operands (work results).
    #[serde(default)]
    pub operands: Vec<OperandParam>,
    /// Entropy `η'₀`.
    #[serde(default)]
    pub entropy: Hash32,
    /// Also return the gas spent per basic block.
    #[serde(default)]
    pub profile: bool,
}

/// One storage write of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageWrite {
    /// Service id.
    pub service: u32,
    /// Key.
    pub key: Bytes,
    /// New value; `null` removes the item.
    pub value: Option<Bytes>,
}

/// One guest log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// 0 error … 4 trace.
    pub level: u64,
    /// Target.
    pub target: String,
    /// Message.
    pub message: String,
}

/// Gas spent in one basic block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockGas {
    /// pc of the block's first instruction.
    pub pc: u32,
    /// Times the block was entered.
    pub entries: u64,
    /// Gas charged for it in all.
    pub gas: u64,
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    /// `halt`, `panic`, `page-fault`, `out-of-gas`, `bad-code`, `code-too-big`, `oversize`,
    /// `time-limit`, `host-failure`.
    pub status: String,
    /// More about the status (the fault address, why the code is bad).
    pub detail: Option<String>,
    /// The output (after a halt).
    pub output: Bytes,
    /// Gas used.
    pub gas_used: u64,
    /// Host calls made, by name.
    pub host_calls: BTreeMap<String, u64>,
    /// Storage writes (those of a halted accumulate).
    pub writes: Vec<StorageWrite>,
    /// Services whose accounts the writes change.
    pub accounts_changed: Vec<u32>,
    /// Whether the writes were committed.
    pub committed: bool,
    /// Guest log lines.
    pub logs: Vec<LogEntry>,
    /// The backend that ran the code.
    pub backend: String,
    /// Wall-clock microseconds.
    pub elapsed_micros: u64,
    /// Gas per basic block, when asked for (the interpreter then runs the code).
    pub block_profile: Option<Vec<BlockGas>>,
}

/// `kiln_serviceInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// Service id.
    pub service: u32,
    /// Hash of its code.
    pub code_hash: Hash32,
    /// Balance.
    pub balance: u64,
    /// Minimum gas per accumulated item.
    pub min_item_gas: u64,
    /// Minimum gas per transfer memo.
    pub min_memo_gas: u64,
    /// Storage footprint in bytes.
    pub storage_bytes: u64,
    /// Storage footprint in items.
    pub storage_items: u32,
    /// Storage offset free of deposit.
    pub gratis_storage: u64,
    /// Slot created.
    pub created_slot: u32,
    /// Slot last accumulated.
    pub last_accumulation_slot: u32,
    /// Parent service.
    pub parent: u32,
}

/// `kiln_uploadCode` (chains that allow it): create or replace a service's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadCodeParams {
    /// Service id.
    pub service: u32,
    /// Service code: `E(↕metadata) ++ standard program`.
    pub code: Bytes,
    /// Balance of a new service (default: enough for its code and 1 MiB of storage).
    #[serde(default)]
    pub balance: Option<u64>,
}

/// The result of `kiln_uploadCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    /// Service id.
    pub service: u32,
    /// Hash of the code.
    pub code_hash: Hash32,
    /// Whether the service was created (else its code was replaced).
    pub created: bool,
}

/// `kiln_health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`, or `stopping` during shutdown.
    pub status: String,
    /// Chain id.
    pub chain: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Executions running now.
    pub executions_in_flight: u64,
}

/// `kiln_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// Kiln's version.
    pub version: String,
    /// Chain id.
    pub chain: String,
    /// Chain-spec hash.
    pub chain_spec_hash: Hash32,
    /// PVM profile.
    pub profile: String,
    /// Backend service code runs on (`auto`, `interpreter`, `recompiler`).
    pub backend: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let b: Bytes = serde_json::from_str("\"0x00fFa1\"").unwrap();
        assert_eq!(b.0, vec![0, 255, 0xa1]);
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"0x00ffa1\"");
        for bad in ["\"00\"", "\"0x0\"", "\"0xzz\"", "12"] {
            assert!(serde_json::from_str::<Bytes>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<Hash32>("\"0x00\"").unwrap_err();
        assert!(e.to_string().contains("32 bytes"), "{e}");
        let e =
            serde_json::from_str::<RefineParams>(r#"{"service":1,"gas":1,"extra":0}"#).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        let p: AccumulateParams = serde_json::from_str(
            r#"{"service":1,"gas":5,"operands":[{"result":{"ok":"0x01"}},{"result":{"error":"panic"}}]}"#,
        )
        .unwrap();
        assert_eq!(p.operands[0].result, WorkResultParam::Ok(Bytes(vec![1])));
        assert_eq!(p.operands[1].result, WorkResultParam::Error("panic".into()));
    }
}
