//! `kiln-chain-spec`: chain specifications. A [`ChainSpec`] is a JSON document fixing the JAM
//! protocol parameters ([`ProtocolParams`]), the PVM profile and host-call gas ([`PvmSettings`]),
//! and the genesis services ([`Genesis`]).
//!
//! Three specs are built in: `dev` (the default: tiny parameters, the RPC development calls
//! enabled, one genesis service running the `dev_service` guest), `tiny` and `full` (the w3f
//! parameter sets, no genesis services). [`ChainSpec::load`] takes one of their ids or a file.
//!
//! # JSON
//!
//! ```json
//! {
//!   "name": "Kiln development chain",
//!   "id": "dev",
//!   "protocol": { "item_deposit": 10, "byte_deposit": 1, ..., "contest_duration": 10 },
//!   "pvm": { "profile": "jam-0.7", "host_call_gas": 10, "log_gas": 0 },
//!   "dev_rpc": true,
//!   "genesis": {
//!     "slot": 0,
//!     "entropy": "0x0000…0000",
//!     "services": [{
//!       "id": 1, "name": "counter", "code": {"guest": "dev_service"},
//!       "balance": 1000000000, "min_item_gas": 1000, "min_memo_gas": 1000,
//!       "gratis_storage": 0, "storage": { "0x6b6579": "0x76616c7565" }
//!     }]
//!   }
//! }
//! ```
//!
//! Every `protocol` field is required (see [`ProtocolParams`] for the list); `dev_rpc` defaults
//! to false, `genesis.services` to none, a service's `name` to none, `gratis_storage` to 0 and
//! `storage` to empty. Unknown fields are errors. A service's `code` is one of:
//!
//! - `"0x…"`: the service code preimage `E(↕metadata) ++ standard program`;
//! - `{"file": "path"}`: the same, read from a file; a relative path is taken from the spec
//!   file's directory;
//! - `{"guest": "name"}`: a guest built into this binary by `kiln-guests`, with metadata
//!   `kiln:<name>` (see [`service_code`]).
//!
//! Errors name the file and the field, e.g. `my.json: protocol.num_cores: invalid type: string
//! "2", expected u16 at line 5 column 21` or `genesis.services[1].id: duplicate service id 7
//! (also genesis.services[0].id)`.

#![warn(missing_docs)]

mod error;
mod genesis;
mod json;
mod protocol;

use std::path::Path;
use std::sync::OnceLock;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

pub use error::SpecError;
pub use genesis::{service_code, Genesis, GenesisService};
pub use protocol::{ProtocolParams, ENCODED_CONSTANTS_LEN, SEGMENT_SIZE};

use json::{CodeSource, RawGenesis, RawPvm, RawService, RawSpec};

/// The ids of the built-in specs, the default first.
pub const BUILTIN_IDS: [&str; 3] = ["dev", "tiny", "full"];

const DEV_JSON: &str = include_str!("../specs/dev.json");
const TINY_JSON: &str = include_str!("../specs/tiny.json");
const FULL_JSON: &str = include_str!("../specs/full.json");

/// A chain specification: protocol parameters, PVM settings and genesis state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// A human name, e.g. "Kiln development chain".
    pub name: String,
    /// A short identifier (`dev`, `tiny`, `full` or the user's): ASCII letters, digits, `-`,
    /// `_` and `.`, so that it can name a directory.
    pub id: String,
    /// The JAM protocol parameters.
    pub protocol: ProtocolParams,
    /// How services' PVM code runs.
    pub pvm: PvmSettings,
    /// Whether the RPC server accepts the development calls (uploading code, applying
    /// accumulate); true only on `dev`.
    pub dev_rpc: bool,
    /// The genesis state.
    pub genesis: Genesis,
}

/// How services' PVM code runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvmSettings {
    /// ISA variant, gas model and host-call numbering; JSON: its name (`"jam-0.7"`, see
    /// [`kiln_pvm::Profile::from_name`]).
    pub profile: kiln_pvm::Profile,
    /// The base gas of a host call (10 in GP 0.7).
    pub host_call_gas: u64,
    /// The gas of the JIP-1 `log` host call (0 in the w3f accumulate vectors and in every
    /// built-in spec).
    pub log_gas: u64,
}

/// JAM's hash `H`: BLAKE2b with a 256-bit digest.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(data);
    hasher.finalize().into()
}

impl ChainSpec {
    /// The built-in `dev` spec (the default).
    pub fn dev() -> ChainSpec {
        static SPEC: OnceLock<ChainSpec> = OnceLock::new();
        SPEC.get_or_init(|| parse_builtin("dev", DEV_JSON)).clone()
    }

    /// The built-in `tiny` spec: the w3f tiny parameters, no genesis services.
    pub fn tiny() -> ChainSpec {
        static SPEC: OnceLock<ChainSpec> = OnceLock::new();
        SPEC.get_or_init(|| parse_builtin("tiny", TINY_JSON))
            .clone()
    }

    /// The built-in `full` spec: the Gray Paper parameters, no genesis services.
    pub fn full() -> ChainSpec {
        static SPEC: OnceLock<ChainSpec> = OnceLock::new();
        SPEC.get_or_init(|| parse_builtin("full", FULL_JSON))
            .clone()
    }

    /// The built-in spec with this id (one of [`BUILTIN_IDS`]), if any.
    pub fn builtin(id: &str) -> Option<ChainSpec> {
        match id {
            "dev" => Some(Self::dev()),
            "tiny" => Some(Self::tiny()),
            "full" => Some(Self::full()),
            _ => None,
        }
    }

    /// A built-in spec by id, or else a spec file by path (built-in ids win: write `./dev` for
    /// a file named `dev`). Errors from a file name it.
    pub fn load(name_or_path: &str) -> Result<ChainSpec, SpecError> {
        if let Some(spec) = Self::builtin(name_or_path) {
            return Ok(spec);
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path.parent()).map_err(|e| e.in_file(path))
    }

    /// Parses and validates a spec. `base_dir` is where relative `{"file": …}` code paths are
    /// taken from (the spec file's directory); without it they are taken from the current
    /// directory.
    pub fn from_json(text: &str, base_dir: Option<&Path>) -> Result<ChainSpec, SpecError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawSpec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." {
                "(document)".to_string()
            } else {
                field
            };
            SpecError::at(field, e.into_inner().to_string())
        })?;
        de.end()
            .map_err(|e| SpecError::at("(document)", e.to_string()))?;
        let spec = Self::from_raw(raw, base_dir)?;
        spec.validate()?;
        Ok(spec)
    }

    /// The spec as pretty-printed JSON, self-contained (code written as hex), such that
    /// `from_json(&spec.to_json(), None)` gives `spec` back.
    pub fn to_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.to_raw()).expect("a chain spec serializes");
        text.push('\n');
        text
    }

    /// BLAKE2b-256 of the canonical form: [`ChainSpec::to_json`] without whitespace (fields in
    /// declaration order, storage keys sorted, hex in lowercase).
    pub fn hash(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(&self.to_raw()).expect("a chain spec serializes");
        blake2b_256(&bytes)
    }

    /// Checks the whole spec (also done by [`ChainSpec::from_json`]); errors name the field.
    ///
    /// `name` must not be empty, `id` must be a non-empty run of ASCII letters, digits, `-`,
    /// `_` and `.`; then [`ProtocolParams::validate`] and [`Genesis::validate`].
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.name.trim().is_empty() {
            return Err(SpecError::at("name", "must not be empty"));
        }
        let id_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if self.id.is_empty() || !self.id.chars().all(id_ok) {
            return Err(SpecError::at(
                "id",
                format!(
                    "\"{}\" must be non-empty and use only ASCII letters, digits, '-', '_' and '.'",
                    self.id.escape_debug()
                ),
            ));
        }
        self.protocol.validate()?;
        self.genesis.validate(&self.protocol)
    }

    fn from_raw(raw: RawSpec, base_dir: Option<&Path>) -> Result<ChainSpec, SpecError> {
        let services = raw
            .genesis
            .services
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(GenesisService {
                    id: s.id,
                    name: s.name,
                    code: genesis::resolve_code(i, s.code, base_dir)?,
                    balance: s.balance,
                    min_item_gas: s.min_item_gas,
                    min_memo_gas: s.min_memo_gas,
                    gratis_storage: s.gratis_storage,
                    storage: s.storage,
                })
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        Ok(ChainSpec {
            name: raw.name,
            id: raw.id,
            protocol: raw.protocol,
            pvm: PvmSettings {
                profile: raw.pvm.profile,
                host_call_gas: raw.pvm.host_call_gas,
                log_gas: raw.pvm.log_gas,
            },
            dev_rpc: raw.dev_rpc,
            genesis: Genesis {
                slot: raw.genesis.slot,
                entropy: raw.genesis.entropy,
                services,
            },
        })
    }

    fn to_raw(&self) -> RawSpec {
        RawSpec {
            name: self.name.clone(),
            id: self.id.clone(),
            protocol: self.protocol,
            pvm: RawPvm {
                profile: self.pvm.profile,
                host_call_gas: self.pvm.host_call_gas,
                log_gas: self.pvm.log_gas,
            },
            dev_rpc: self.dev_rpc,
            genesis: RawGenesis {
                slot: self.genesis.slot,
                entropy: self.genesis.entropy,
                services: self
                    .genesis
                    .services
                    .iter()
                    .map(|s| RawService {
                        id: s.id,
                        name: s.name.clone(),
                        code: CodeSource::Hex(s.code.clone()),
                        balance: s.balance,
                        min_item_gas: s.min_item_gas,
                        min_memo_gas: s.min_memo_gas,
                        gratis_storage: s.gratis_storage,
                        storage: s.storage.clone(),
                    })
                    .collect(),
            },
        }
    }
}

impl Default for ChainSpec {
    /// The `dev` spec.
    fn default() -> Self {
        ChainSpec::dev()
    }
}

fn parse_builtin(id: &str, text: &str) -> ChainSpec {
    ChainSpec::from_json(text, None)
        .unwrap_or_else(|e| panic!("built-in chain spec `{id}` is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blake2b_256_matches_known_digests() {
        let hex = |d: [u8; 32]| json::encode_hex(&d);
        assert_eq!(
            hex(blake2b_256(b"")),
            "0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );
        assert_eq!(
            hex(blake2b_256(b"abc")),
            "0xbddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }
}
