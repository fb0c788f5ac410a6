//! The genesis state: [`Genesis`] and its [`GenesisService`]s, where their code comes from, and
//! their checks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use kiln_pvm::StandardProgram;

use crate::error::SpecError;
use crate::json::CodeSource;
use crate::protocol::ProtocolParams;

/// The chain's state at its first slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// The slot of the genesis state (`τ`).
    pub slot: u32,
    /// The initial entropy accumulator (`η_0`); JSON: `"0x"` + 64 hex digits.
    pub entropy: [u8; 32],
    /// The services that exist at genesis, ids unique.
    pub services: Vec<GenesisService>,
}

/// A service account that exists at genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisService {
    /// The service id.
    pub id: u32,
    /// A human name (informational only).
    pub name: Option<String>,
    /// The service code preimage `E(↕metadata) ++ standard program`, whose hash becomes the
    /// account's code hash. JSON: a hex string, `{"file": path}` or `{"guest": name}` (see the
    /// crate docs); [`ChainSpec::to_json`](crate::ChainSpec::to_json) writes it as hex.
    pub code: Vec<u8>,
    /// The balance (`a_b`).
    pub balance: u64,
    /// The minimum gas per accumulated item (GP `a_g`).
    pub min_item_gas: u64,
    /// The minimum gas per transfer memo (GP `a_m`).
    pub min_memo_gas: u64,
    /// The storage offset below which no deposit is needed (GP `a_f`; JSON default 0).
    pub gratis_storage: u64,
    /// The initial storage; JSON: an object of hex keys to hex values (default empty).
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Service code `E(↕metadata) ++ program`: the GP natural-number (compact) length of
/// `metadata`, then `metadata`, then the standard program.
pub fn service_code(metadata: &[u8], program: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + metadata.len() + program.len());
    kiln_pvm::codec::write_natural(&mut out, metadata.len() as u64);
    out.extend_from_slice(metadata);
    out.extend_from_slice(program);
    out
}

/// The service code of built-in guest `name`: its standard program with metadata `kiln:<name>`.
pub(crate) fn guest_code(name: &str) -> Option<Vec<u8>> {
    let program = kiln_guests::program(name)?;
    Some(service_code(format!("kiln:{name}").as_bytes(), program))
}

/// Resolves a code source of `genesis.services[index]`; relative file paths are taken from
/// `base_dir` (or the current directory when there is none).
pub(crate) fn resolve_code(
    index: usize,
    source: CodeSource,
    base_dir: Option<&Path>,
) -> Result<Vec<u8>, SpecError> {
    match source {
        CodeSource::Hex(bytes) => Ok(bytes),
        CodeSource::File(file) => {
            let path = match base_dir {
                Some(dir) if Path::new(&file).is_relative() => dir.join(&file),
                _ => PathBuf::from(&file),
            };
            std::fs::read(&path).map_err(|e| {
                SpecError::at(
                    format!("genesis.services[{index}].code.file"),
                    format!("cannot read code file {}: {e}", path.display()),
                )
            })
        }
        CodeSource::Guest(name) => guest_code(&name).ok_or_else(|| {
            let known: Vec<&str> = kiln_guests::PROGRAMS.iter().map(|(n, _)| *n).collect();
            SpecError::at(
                format!("genesis.services[{index}].code.guest"),
                format!(
                    "unknown guest \"{name}\" (guests built into this binary: {})",
                    known.join(", ")
                ),
            )
        }),
    }
}

impl GenesisService {
    /// GP `a_i`: storage items, with the code preimage's lookup entry counted (`2·|a_l| + |a_s|`).
    pub fn items(&self) -> u64 {
        2 + self.storage.len() as u64
    }

    /// GP `a_o`: storage octets, with the code preimage counted (`81 + |code|` for the lookup
    /// entry, `34 + |key| + |value|` per storage item).
    pub fn octets(&self) -> u64 {
        let storage: u64 = self
            .storage
            .iter()
            .map(|(k, v)| 34 + k.len() as u64 + v.len() as u64)
            .sum();
        81 + self.code.len() as u64 + storage
    }

    /// GP `a_t = max(0, B_S + B_I·a_i + B_L·a_o − a_f)`, the balance the account must hold.
    pub fn min_balance(&self, protocol: &ProtocolParams) -> u64 {
        protocol.threshold_balance(self.items(), self.octets(), self.gratis_storage)
    }
}

impl Genesis {
    /// Checks the services against `protocol`; errors name the field as
    /// `genesis.services[i].<name>`.
    ///
    /// Ids are unique; names, if given, are not empty; code is at most `W_C` bytes and parses as
    /// `E(↕metadata) ++ standard program`; the balance covers the account's minimum balance.
    pub fn validate(&self, protocol: &ProtocolParams) -> Result<(), SpecError> {
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for (i, service) in self.services.iter().enumerate() {
            let at = |name: &str| format!("genesis.services[{i}].{name}");
            if let Some(&first) = seen.get(&service.id) {
                return Err(SpecError::at(
                    at("id"),
                    format!(
                        "duplicate service id {} (also genesis.services[{first}].id)",
                        service.id
                    ),
                ));
            }
            seen.insert(service.id, i);
            if service.name.as_deref() == Some("") {
                return Err(SpecError::at(
                    at("name"),
                    "must not be empty (omit it instead)",
                ));
            }
            let limit = protocol.max_service_code_size;
            if service.code.len() as u64 > u64::from(limit) {
                return Err(SpecError::at(
                    at("code"),
                    format!(
                        "{} bytes exceeds protocol.max_service_code_size ({limit} bytes, W_C)",
                        service.code.len()
                    ),
                ));
            }
            if let Err(e) = StandardProgram::parse_service_code(&service.code) {
                return Err(SpecError::at(
                    at("code"),
                    format!("not service code (E(↕metadata) ++ standard program): {e}"),
                ));
            }
            let min = service.min_balance(protocol);
            if service.balance < min {
                return Err(SpecError::at(
                    at("balance"),
                    format!(
                        "{} is below the account's minimum balance {min} (B_S + B_I·{} items + \
                         B_L·{} octets − gratis_storage, counting the code preimage)",
                        service.balance,
                        service.items(),
                        service.octets()
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_code_prefixes_the_compact_metadata_length() {
        assert_eq!(service_code(b"ab", &[9, 9]), vec![2, b'a', b'b', 9, 9]);
        let meta = vec![7u8; 200];
        let code = service_code(&meta, &[1]);
        assert_eq!(&code[..2], &[0x80, 200]);
        assert_eq!(code.len(), 2 + 200 + 1);
        assert_eq!(service_code(&[], &[]), vec![0]);
    }

    #[test]
    fn guest_code_parses_as_service_code_with_its_name() {
        let code = guest_code("fib").expect("fib is built in");
        let (metadata, _) = StandardProgram::parse_service_code(&code).unwrap();
        assert_eq!(metadata, b"kiln:fib");
        assert!(guest_code("no-such-guest").is_none());
    }

    #[test]
    fn min_balance_follows_the_gray_paper() {
        let service = GenesisService {
            id: 1,
            name: None,
            code: vec![0; 100],
            balance: 0,
            min_item_gas: 0,
            min_memo_gas: 0,
            gratis_storage: 0,
            storage: [(vec![1, 2], vec![3, 4, 5])].into_iter().collect(),
        };
        assert_eq!(service.items(), 3);
        assert_eq!(service.octets(), 81 + 100 + 34 + 2 + 3);
        // 100 + 10·3 + 1·220
        assert_eq!(service.min_balance(&ProtocolParams::TINY), 350);
        let gratis = GenesisService {
            gratis_storage: 1000,
            ..service
        };
        assert_eq!(gratis.min_balance(&ProtocolParams::TINY), 0);
    }
}
