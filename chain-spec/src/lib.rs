//! `kiln-chain-spec`: chain specifications. Built by the service-execution issue; this crate
//! fixes the layout.

#![warn(missing_docs)]
