//! `kiln-node`: the Kiln node library and the `kiln` command-line tool.

pub mod cli;
pub mod conformance;
