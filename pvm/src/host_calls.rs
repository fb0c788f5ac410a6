//! Host-call identifiers and result codes (GP §B, JIP-1 `log`), per numbering.

use crate::profile::HostCallNumbering;

/// Host-call return codes placed in ω₇.
pub mod codes {
    /// The item does not exist.
    pub const NONE: u64 = u64::MAX;
    /// Name unknown.
    pub const WHAT: u64 = u64::MAX - 1;
    /// Memory index not accessible.
    pub const OOB: u64 = u64::MAX - 2;
    /// Index unknown.
    pub const WHO: u64 = u64::MAX - 3;
    /// Storage full.
    pub const FULL: u64 = u64::MAX - 4;
    /// Core index unknown.
    pub const CORE: u64 = u64::MAX - 5;
    /// Insufficient funds.
    pub const CASH: u64 = u64::MAX - 6;
    /// Gas limit too low.
    pub const LOW: u64 = u64::MAX - 7;
    /// Already solicited or cannot be forgotten.
    pub const HUH: u64 = u64::MAX - 8;
    /// Success.
    pub const OK: u64 = 0;
}

/// Base gas of a host call (`transfer` adds its gas limit on success).
pub const BASE_GAS: u64 = 10;

macro_rules! host_calls {
    ($( $variant:ident = $name:literal, $gp07:expr, $gp08:expr; )*) => {
        /// A host function known to Kiln.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum HostCall { $( $variant, )* }

        impl HostCall {
            /// Every host call.
            pub const ALL: &'static [HostCall] = &[ $( HostCall::$variant, )* ];

            /// The Gray Paper name.
            pub fn name(self) -> &'static str {
                match self { $( HostCall::$variant => $name, )* }
            }

            /// The id under a numbering, if the call exists there.
            pub fn id(self, numbering: HostCallNumbering) -> Option<u32> {
                match (self, numbering) {
                    $(
                        (HostCall::$variant, HostCallNumbering::Gp07) => $gp07,
                        (HostCall::$variant, HostCallNumbering::Gp08Draft) => $gp08,
                    )*
                }
            }
        }
    };
}

host_calls! {
    Gas = "gas", Some(0), Some(0);
    GrowHeap = "grow_heap", None, Some(1);
    Fetch = "fetch", Some(1), Some(2);
    Lookup = "lookup", Some(2), Some(3);
    Read = "read", Some(3), Some(4);
    Write = "write", Some(4), Some(5);
    Info = "info", Some(5), Some(6);
    HistoricalLookup = "historical_lookup", Some(6), Some(7);
    Export = "export", Some(7), Some(8);
    Machine = "machine", Some(8), Some(9);
    Peek = "peek", Some(9), Some(10);
    Poke = "poke", Some(10), Some(11);
    Pages = "pages", Some(11), Some(12);
    Invoke = "invoke", Some(12), Some(13);
    Expunge = "expunge", Some(13), Some(14);
    Bless = "bless", Some(14), Some(15);
    Assign = "assign", Some(15), Some(16);
    Designate = "designate", Some(16), Some(17);
    Checkpoint = "checkpoint", Some(17), Some(18);
    New = "new", Some(18), Some(19);
    Upgrade = "upgrade", Some(19), Some(20);
    Transfer = "transfer", Some(20), Some(21);
    Eject = "eject", Some(21), Some(22);
    Query = "query", Some(22), Some(23);
    Solicit = "solicit", Some(23), Some(24);
    Forget = "forget", Some(24), Some(25);
    Yield = "yield", Some(25), Some(26);
    Provide = "provide", Some(26), Some(27);
    Log = "log", Some(100), Some(100);
}

impl HostCall {
    /// The host call with `id` under `numbering`.
    pub fn from_id(id: u32, numbering: HostCallNumbering) -> Option<HostCall> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.id(numbering) == Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_per_numbering() {
        for n in [HostCallNumbering::Gp07, HostCallNumbering::Gp08Draft] {
            for c in HostCall::ALL {
                if let Some(id) = c.id(n) {
                    assert_eq!(HostCall::from_id(id, n), Some(*c));
                }
            }
        }
        assert_eq!(
            HostCall::from_id(1, HostCallNumbering::Gp07),
            Some(HostCall::Fetch)
        );
        assert_eq!(
            HostCall::from_id(1, HostCallNumbering::Gp08Draft),
            Some(HostCall::GrowHeap)
        );
    }
}
