//! Opening the node's state: the RocksDB for a chain spec, with the spec's genesis services
//! committed in one batch the first time (a crash before that batch lands leaves no genesis,
//! and the next start applies it again).

use std::path::Path;

use kiln_chain_spec::{blake2b_256, ChainSpec};
use kiln_state::{Changes, ServiceAccount, StateDb, StateError};

/// GP's footprint of one preimage-lookup entry: two items …
pub const LOOKUP_ITEMS: u32 = 2;
/// … and 81 bytes plus the preimage.
pub const LOOKUP_BYTES: u64 = 81;

/// Opens (or creates) the state at `path` for `spec`, applying its genesis if it has not been.
/// A database of another chain or schema is refused.
pub fn open_state(path: &Path, spec: &ChainSpec) -> Result<StateDb, StateError> {
    let db = StateDb::open(path, &spec.hash())?;
    if !db.genesis_applied()? {
        db.commit_genesis(&genesis_changes(spec))?;
    }
    Ok(db)
}

/// The writes that create `spec`'s genesis services: accounts (with their storage
/// footprint), code preimages and storage.
pub fn genesis_changes(spec: &ChainSpec) -> Changes {
    let mut changes = Changes::default();
    for service in &spec.genesis.services {
        let code_hash = blake2b_256(&service.code);
        // The footprint counts the code's lookup entry and every storage item (GP's a_i, a_o).
        let account = ServiceAccount {
            code_hash,
            balance: service.balance,
            min_item_gas: service.min_item_gas,
            min_memo_gas: service.min_memo_gas,
            storage_bytes: service.octets(),
            storage_items: u32::try_from(service.items()).unwrap_or(u32::MAX),
            gratis_storage: service.gratis_storage,
            created_slot: spec.genesis.slot,
            last_accumulation_slot: 0,
            parent: 0,
        };
        changes.set_account(service.id, account);
        changes.set_preimage(service.id, code_hash, service.code.clone());
        for (key, value) in &service.storage {
            changes.set_storage(service.id, key.clone(), Some(value.clone()));
        }
    }
    changes
}
