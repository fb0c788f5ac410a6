//! `kiln-rpc`: the node's JSON-RPC API. Built by the node issue; this crate fixes the layout.

#![warn(missing_docs)]
