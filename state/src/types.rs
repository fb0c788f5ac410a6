//! The values the store keeps, SCALE-encoded (parity-scale-codec).

use parity_scale_codec::{Decode, Encode};

/// A service's id.
pub type ServiceId = u32;

/// A 32-byte hash (of code or a preimage).
pub type Hash = [u8; 32];

/// A service account: GP 0.7's service account fields other than its storage and preimages,
/// which have column families of their own.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Default)]
pub struct ServiceAccount {
    /// Hash of the service's code (its preimage is the code blob), `c`.
    pub code_hash: Hash,
    /// Balance, `b`.
    pub balance: u64,
    /// Minimum gas per accumulated item, `g`.
    pub min_item_gas: u64,
    /// Minimum gas per transfer memo, `m`.
    pub min_memo_gas: u64,
    /// Storage footprint in octets, `o` (items count 34 + key + value bytes each).
    pub storage_bytes: u64,
    /// Storage footprint in items, `i`.
    pub storage_items: u32,
    /// Storage offset below which no deposit is needed ("gratis"), `f`.
    pub gratis_storage: u64,
    /// Slot the service was created in, `r`.
    pub created_slot: u32,
    /// Slot of its most recent accumulation, `a`.
    pub last_accumulation_slot: u32,
    /// The service that created it, `p`.
    pub parent: u32,
}
