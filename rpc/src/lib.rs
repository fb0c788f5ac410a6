//! `kiln-rpc`: the node's JSON-RPC API (methods in the `kiln_` namespace, `docs/rpc.md`) and its
//! Prometheus endpoint.
//!
//! - [`types`]: parameters and results (camelCase JSON, hex bytes);
//! - [`api`]: the jsonrpsee server/client traits and [`NodeApi`], what the node implements;
//! - [`error`]: [`ApiError`] and the stable error codes;
//! - [`server`]: [`RpcServer`]: limits, timeouts, draining;
//! - [`pool`]: the execution pool (a thread per core, one bounded queue);
//! - [`metrics`]: RPC request metrics and the middleware recording them;
//! - [`metrics_server`]: `GET /metrics`.

#![warn(missing_docs)]

mod accept;
pub mod api;
pub mod error;
pub mod metrics;
pub mod metrics_server;
pub mod pool;
pub mod server;
pub mod types;

pub use api::{KilnApiClient, KilnApiServer, NodeApi};
pub use error::ApiError;
pub use metrics::RpcMetrics;
pub use metrics_server::MetricsServer;
pub use server::{RpcServer, ServerConfig};
