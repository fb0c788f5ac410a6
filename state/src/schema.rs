//! How state is laid out in RocksDB: one column family per kind of value, big-endian service
//! ids in keys (so a service's storage is one key range), and a schema version in `meta`.

use crate::types::{Hash, ServiceId};

/// The schema this code reads and writes. Opening a database of another version fails.
pub const SCHEMA_VERSION: u32 = 2;

/// Column family of metadata: schema version, chain-spec hash.
pub const META: &str = "meta";
/// Service accounts, by big-endian service id.
pub const ACCOUNTS: &str = "accounts";
/// Preimages (code blobs among them), by big-endian service id followed by the hash.
pub const PREIMAGES: &str = "preimages";
/// Service storage, by big-endian service id followed by the key.
pub const STORAGE: &str = "storage";
/// Compiled artifacts: reserved for the JIT coordinator (created, not yet read or written).
pub const ARTIFACTS: &str = "artifacts";

/// Every column family.
pub const COLUMN_FAMILIES: [&str; 5] = [META, ACCOUNTS, PREIMAGES, STORAGE, ARTIFACTS];

/// `meta` key of the schema version (a big-endian u32).
pub const KEY_SCHEMA_VERSION: &[u8] = b"schema_version";
/// `meta` key present once the genesis state has been committed (with it, in one batch).
pub const KEY_GENESIS: &[u8] = b"genesis_applied";
/// `meta` key of the chain-spec hash (32 bytes).
pub const KEY_CHAIN_SPEC: &[u8] = b"chain_spec_hash";

/// The `accounts` key of service `id`.
pub fn account_key(id: ServiceId) -> [u8; 4] {
    id.to_be_bytes()
}

/// The `storage` key of `key` in service `id`'s storage.
pub fn storage_key(id: ServiceId, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(key);
    out
}

/// The `preimages` key of `hash` among service `id`'s preimages.
pub fn preimage_key(id: ServiceId, hash: &Hash) -> [u8; 36] {
    let mut out = [0; 36];
    out[..4].copy_from_slice(&id.to_be_bytes());
    out[4..].copy_from_slice(hash);
    out
}
