//! The writes of one invocation (or of genesis): set or delete accounts, preimages and storage
//! items. Later writes to the same item replace earlier ones.

use std::collections::BTreeMap;

use crate::types::{Hash, ServiceAccount, ServiceId};

/// A set of writes, applied all at once or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Accounts set (`Some`) or removed (`None`).
    pub accounts: BTreeMap<ServiceId, Option<ServiceAccount>>,
    /// Preimages added or removed, by `(service, hash)`.
    pub preimages: BTreeMap<(ServiceId, Hash), Option<Vec<u8>>>,
    /// Storage items set or removed, by `(service, key)`.
    pub storage: BTreeMap<(ServiceId, Vec<u8>), Option<Vec<u8>>>,
}

impl Changes {
    /// Sets service `id`'s account.
    pub fn set_account(&mut self, id: ServiceId, account: ServiceAccount) {
        self.accounts.insert(id, Some(account));
    }

    /// Adds a preimage to service `id`'s preimages.
    pub fn set_preimage(&mut self, id: ServiceId, hash: Hash, data: Vec<u8>) {
        self.preimages.insert((id, hash), Some(data));
    }

    /// Sets service `id`'s storage item `key` (`None` removes it).
    pub fn set_storage(&mut self, id: ServiceId, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.storage.insert((id, key), value);
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.preimages.is_empty() && self.storage.is_empty()
    }
}
