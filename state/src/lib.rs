//! `kiln-state`: the node's state store on RocksDB.
//!
//! - [`types`]: service ids, hashes and service accounts (SCALE-encoded);
//! - [`schema`]: column families, key layouts and the schema version;
//! - [`changes`]: the writes of one invocation, committed as one batch;
//! - [`db`]: [`StateDb`], opening (checking schema version and chain), reads, atomic commits,
//!   consistent snapshots;
//! - [`overlay`]: [`Overlay`], a dry-run view whose reads see its own writes and whose writes
//!   never reach the disk.
//!
//! Every read goes through [`StateRead`], so executors run the same way on the database, on a
//! snapshot and on an overlay.

#![warn(missing_docs)]

pub mod changes;
pub mod db;
pub mod overlay;
pub mod schema;
pub mod types;

pub use changes::Changes;
pub use db::{Snapshot, StateDb, StateError};
pub use overlay::Overlay;
pub use types::{Hash, ServiceAccount, ServiceId};

/// Reading state: implemented by the database (latest committed), a snapshot and an overlay.
pub trait StateRead {
    /// The account of service `id`.
    fn account(&self, id: ServiceId) -> Result<Option<ServiceAccount>, StateError>;
    /// Service `id`'s preimage (its code blob, say) of `hash`.
    fn preimage(&self, id: ServiceId, hash: &Hash) -> Result<Option<Vec<u8>>, StateError>;
    /// Whether service `id` has the preimage of `hash` (without copying it where the store
    /// can avoid that).
    fn has_preimage(&self, id: ServiceId, hash: &Hash) -> Result<bool, StateError> {
        Ok(self.preimage(id, hash)?.is_some())
    }
    /// Service `id`'s storage value at `key`.
    fn storage(&self, id: ServiceId, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}
