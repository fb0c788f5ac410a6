//! The values the store keeps, SCALE-encoded (parity-scale-codec).

use parity_scale_codec::{Decode, Encode};

/// A service's id.
pub type ServiceId = u32;

/// A 32-byte hash (of code or a preimage).
pub type Hash = [u8; 32];

/// A service account (the fields of GP's service account that execution needs).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Default)]
pub struct ServiceAccount {
    /// Hash of the service's code (its preimage is the code blob).
    pub code_hash: Hash,
    /// Balance.
    pub balance: u64,
    /// Minimum gas per accumulated item (`g` in GP).
    pub accumulate_gas: u64,
    /// Minimum gas per transfer memo (`m` in GP).
    pub on_transfer_gas: u64,
    /// Bytes of storage used (`o`).
    pub storage_bytes: u64,
    /// Storage items (`i`).
    pub storage_items: u32,
}
