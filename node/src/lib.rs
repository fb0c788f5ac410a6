//! `kiln-node`: the Kiln node library and the `kiln` command-line tool.

#![warn(missing_docs)]

pub mod cli;
pub mod code_cache;
pub mod conformance;
pub mod executor;
pub mod genesis;
pub mod jit;
pub mod metrics;
pub mod rpc_api;
pub mod run;
