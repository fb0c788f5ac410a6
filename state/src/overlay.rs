//! [`Overlay`]: writes kept in memory on top of a read view. Reads see the overlay's own
//! writes first; nothing reaches the database unless the caller commits [`Overlay::changes`].
//! A dry-run is an overlay that is dropped.

use crate::changes::Changes;
use crate::types::{Hash, ServiceAccount, ServiceId};
use crate::{StateError, StateRead};

/// Pending writes over a base view.
pub struct Overlay<'a> {
    base: &'a dyn StateRead,
    changes: Changes,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a dyn StateRead) -> Self {
        Self {
            base,
            changes: Changes::default(),
        }
    }

    /// Sets service `id`'s account.
    pub fn set_account(&mut self, id: ServiceId, account: ServiceAccount) {
        self.changes.set_account(id, account);
    }

    /// Sets (or with `None` removes) a storage item.
    pub fn set_storage(&mut self, id: ServiceId, key: &[u8], value: Option<Vec<u8>>) {
        self.changes.set_storage(id, key.to_vec(), value);
    }

    /// Adds a preimage to service `id`'s preimages.
    pub fn set_preimage(&mut self, id: ServiceId, hash: Hash, data: Vec<u8>) {
        self.changes.set_preimage(id, hash, data);
    }

    /// The writes, for committing.
    pub fn into_changes(self) -> Changes {
        self.changes
    }
}

impl StateRead for Overlay<'_> {
    fn account(&self, id: ServiceId) -> Result<Option<ServiceAccount>, StateError> {
        match self.changes.accounts.get(&id) {
            Some(written) => Ok(written.clone()),
            None => self.base.account(id),
        }
    }

    fn preimage(&self, id: ServiceId, hash: &Hash) -> Result<Option<Vec<u8>>, StateError> {
        match self.changes.preimages.get(&(id, *hash)) {
            Some(written) => Ok(written.clone()),
            None => self.base.preimage(id, hash),
        }
    }

    fn has_preimage(&self, id: ServiceId, hash: &Hash) -> Result<bool, StateError> {
        match self.changes.preimages.get(&(id, *hash)) {
            Some(written) => Ok(written.is_some()),
            None => self.base.has_preimage(id, hash),
        }
    }

    fn storage(&self, id: ServiceId, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.changes.storage.get(&(id, key.to_vec())) {
            Some(written) => Ok(written.clone()),
            None => self.base.storage(id, key),
        }
    }
}
