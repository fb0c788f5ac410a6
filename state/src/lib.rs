//! `kiln-state`: the node's state store. Its RocksDB-backed implementation is built by the
//! service-execution issue; until then this crate only fixes the workspace layout.

#![warn(missing_docs)]
