//! [`StateDb`]: the RocksDB database. Opening checks the schema version and the chain; reads
//! decode with SCALE (a malformed value is an error, never a panic); a commit is one atomic,
//! synced write batch; snapshots give consistent reads while commits go on.

use std::path::Path;

use parity_scale_codec::{Decode, Encode};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};

use crate::changes::Changes;
use crate::schema::{self, ACCOUNTS, META, PREIMAGES, STORAGE};
use crate::types::{Hash, ServiceAccount, ServiceId};
use crate::StateRead;

/// Why the state store failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB reported an error (I/O, corruption, lock held by another process, …).
    #[error("state database: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored value does not decode.
    #[error("state database: malformed {what}: {error}")]
    Malformed {
        /// What was being read.
        what: String,
        /// The decoder's complaint.
        error: String,
    },
    /// The database was made by another schema version.
    #[error("state database has schema version {found}, this build reads version {expected}")]
    WrongSchema {
        /// This build's version.
        expected: u32,
        /// The database's.
        found: u32,
    },
    /// The database was made for another chain spec.
    #[error("state database belongs to chain spec {found}, not {expected}")]
    WrongChain {
        /// The chain spec's hash, hex.
        expected: String,
        /// The database's, hex.
        found: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode<T: Decode>(bytes: &[u8], what: impl Fn() -> String) -> Result<T, StateError> {
    let mut input = bytes;
    let value = T::decode(&mut input).map_err(|e| StateError::Malformed {
        what: what(),
        error: e.to_string(),
    })?;
    if !input.is_empty() {
        return Err(StateError::Malformed {
            what: what(),
            error: format!("{} trailing bytes", input.len()),
        });
    }
    Ok(value)
}

/// The state database.
pub struct StateDb {
    db: DB,
    /// Held by writers that read, compute and commit (see [`StateDb::write_lock`]).
    writer: std::sync::Mutex<()>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("path", &self.db.path())
            .finish()
    }
}

impl StateDb {
    /// Opens (or creates) the database at `path` for the chain whose spec hashes to
    /// `chain_spec`. A database of another schema version or chain is refused.
    pub fn open(path: &Path, chain_spec: &Hash) -> Result<Self, StateError> {
        let mut options = Options::default();
        // Column families are created only in a new database: an existing one is opened with
        // the families it has, so that one of another schema is refused without being changed.
        let existing = DB::list_cf(&options, path).ok();
        let families: Vec<String> = match &existing {
            None => {
                options.create_if_missing(true);
                options.create_missing_column_families(true);
                schema::COLUMN_FAMILIES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }
            Some(listed) => {
                let missing = schema::COLUMN_FAMILIES
                    .iter()
                    .find(|cf| !listed.iter().any(|l| l == *cf));
                match missing {
                    None => listed.clone(),
                    // Never stamped: a creation cut short (a crash at first start); finish it.
                    Some(_) if !Self::stamped(path, listed)? => {
                        options.create_missing_column_families(true);
                        let mut all = listed.clone();
                        all.extend(
                            schema::COLUMN_FAMILIES
                                .iter()
                                .filter(|cf| !listed.iter().any(|l| l == *cf))
                                .map(|cf| cf.to_string()),
                        );
                        all
                    }
                    Some(missing) => {
                        return Err(StateError::Malformed {
                            what: "database".into(),
                            error: format!("column family `{missing}` is missing: not Kiln state"),
                        })
                    }
                }
            }
        };
        let descriptors = families
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, descriptors)?;
        let state = Self {
            db,
            writer: std::sync::Mutex::new(()),
        };
        state.check_or_stamp(chain_spec)?;
        Ok(state)
    }

    /// Whether the database at `path` (with column families `listed`) records a schema
    /// version, i.e. its creation completed.
    fn stamped(path: &Path, listed: &[String]) -> Result<bool, StateError> {
        if !listed.iter().any(|l| l == META) {
            return Ok(false);
        }
        let db = DB::open_cf(&Options::default(), path, listed)?;
        let meta = db.cf_handle(META).expect("listed");
        Ok(db.get_cf(meta, schema::KEY_SCHEMA_VERSION)?.is_some())
    }

    /// Records schema version and chain in a new database; checks them in an existing one.
    fn check_or_stamp(&self, chain_spec: &Hash) -> Result<(), StateError> {
        let meta = self.cf(META);
        match self.db.get_cf(meta, schema::KEY_SCHEMA_VERSION)? {
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(
                    meta,
                    schema::KEY_SCHEMA_VERSION,
                    schema::SCHEMA_VERSION.to_be_bytes(),
                );
                batch.put_cf(meta, schema::KEY_CHAIN_SPEC, chain_spec);
                self.write(batch)?;
            }
            Some(version) => {
                let found = <[u8; 4]>::try_from(version.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StateError::Malformed {
                        what: "schema version".into(),
                        error: format!("{} bytes, not 4", version.len()),
                    })?;
                if found != schema::SCHEMA_VERSION {
                    return Err(StateError::WrongSchema {
                        expected: schema::SCHEMA_VERSION,
                        found,
                    });
                }
                let stored = self
                    .db
                    .get_cf(meta, schema::KEY_CHAIN_SPEC)?
                    .unwrap_or_default();
                if stored.as_slice() != chain_spec {
                    return Err(StateError::WrongChain {
                        expected: hex(chain_spec),
                        found: hex(&stored),
                    });
                }
            }
        }
        Ok(())
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        let mut options = WriteOptions::default();
        // Synced: a commit that returned survives a crash of the machine, not only of Kiln.
        options.set_sync(true);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    /// Applies `changes` atomically: all of them are visible afterwards, or (on error) none.
    pub fn commit(&self, changes: &Changes) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(self.batch(changes))
    }

    /// Whether the genesis state has been committed ([`StateDb::commit_genesis`]).
    pub fn genesis_applied(&self) -> Result<bool, StateError> {
        Ok(self
            .db
            .get_cf(self.cf(META), schema::KEY_GENESIS)?
            .is_some())
    }

    /// Commits the genesis state and marks it applied, in one batch: a crash leaves either
    /// no genesis (and the next start applies it again) or all of it.
    pub fn commit_genesis(&self, changes: &Changes) -> Result<(), StateError> {
        let mut batch = self.batch(changes);
        batch.put_cf(self.cf(META), schema::KEY_GENESIS, [1]);
        self.write(batch)
    }

    fn batch(&self, changes: &Changes) -> WriteBatch {
        let mut batch = WriteBatch::default();
        let (accounts, preimages, storage) =
            (self.cf(ACCOUNTS), self.cf(PREIMAGES), self.cf(STORAGE));
        for (id, account) in &changes.accounts {
            match account {
                Some(a) => batch.put_cf(accounts, schema::account_key(*id), a.encode()),
                None => batch.delete_cf(accounts, schema::account_key(*id)),
            }
        }
        for ((id, hash), data) in &changes.preimages {
            match data {
                Some(d) => batch.put_cf(preimages, schema::preimage_key(*id, hash), d),
                None => batch.delete_cf(preimages, schema::preimage_key(*id, hash)),
            }
        }
        for ((id, key), value) in &changes.storage {
            match value {
                Some(v) => batch.put_cf(storage, schema::storage_key(*id, key), v),
                None => batch.delete_cf(storage, schema::storage_key(*id, key)),
            }
        }
        batch
    }

    /// Writes every column family's memtable to disk (commits are durable without this: their
    /// log is synced; flushing makes the next open quick).
    pub fn flush(&self) -> Result<(), StateError> {
        for name in schema::COLUMN_FAMILIES {
            self.db.flush_cf(self.cf(name))?;
        }
        Ok(())
    }

    /// Serialises writers that read the state, compute writes from it and commit them, so
    /// that two never build on the same state and lose one's writes. Plain commits do not
    /// take it; every read-compute-commit sequence must.
    pub fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A consistent view of the state as committed now; later commits do not show in it.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            state: self,
            snapshot: self.db.snapshot(),
        }
    }
}

impl StateRead for StateDb {
    fn account(&self, id: ServiceId) -> Result<Option<ServiceAccount>, StateError> {
        self.db
            .get_cf(self.cf(ACCOUNTS), schema::account_key(id))?
            .map(|bytes| decode(&bytes, || format!("account of service {id}")))
            .transpose()
    }

    fn preimage(&self, id: ServiceId, hash: &Hash) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .db
            .get_cf(self.cf(PREIMAGES), schema::preimage_key(id, hash))?)
    }

    fn has_preimage(&self, id: ServiceId, hash: &Hash) -> Result<bool, StateError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(PREIMAGES), schema::preimage_key(id, hash))?
            .is_some())
    }

    fn storage(&self, id: ServiceId, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .db
            .get_cf(self.cf(STORAGE), schema::storage_key(id, key))?)
    }
}

/// A consistent, read-only view of the state at one point (see [`StateDb::snapshot`]).
pub struct Snapshot<'a> {
    state: &'a StateDb,
    snapshot: rocksdb::Snapshot<'a>,
}

impl StateRead for Snapshot<'_> {
    fn account(&self, id: ServiceId) -> Result<Option<ServiceAccount>, StateError> {
        self.snapshot
            .get_cf(self.state.cf(ACCOUNTS), schema::account_key(id))?
            .map(|bytes| decode(&bytes, || format!("account of service {id}")))
            .transpose()
    }

    fn preimage(&self, id: ServiceId, hash: &Hash) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .snapshot
            .get_cf(self.state.cf(PREIMAGES), schema::preimage_key(id, hash))?)
    }

    fn has_preimage(&self, id: ServiceId, hash: &Hash) -> Result<bool, StateError> {
        Ok(self
            .snapshot
            .get_pinned_cf(self.state.cf(PREIMAGES), schema::preimage_key(id, hash))?
            .is_some())
    }

    fn storage(&self, id: ServiceId, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .snapshot
            .get_cf(self.state.cf(STORAGE), schema::storage_key(id, key))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_values_and_other_schema_versions_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let chain = [3; 32];
        {
            let state = StateDb::open(dir.path(), &chain).unwrap();
            state
                .db
                .put_cf(state.cf(ACCOUNTS), schema::account_key(5), [1, 2, 3])
                .unwrap();
            let error = state.account(5).unwrap_err();
            assert!(
                matches!(&error, StateError::Malformed { what, .. } if what.contains("service 5")),
                "{error}"
            );
            state
                .db
                .put_cf(
                    state.cf(META),
                    schema::KEY_SCHEMA_VERSION,
                    99u32.to_be_bytes(),
                )
                .unwrap();
        }
        let error = StateDb::open(dir.path(), &chain).unwrap_err();
        assert!(
            matches!(
                error,
                StateError::WrongSchema {
                    expected: schema::SCHEMA_VERSION,
                    found: 99
                }
            ),
            "{error}"
        );
    }
}
