//! The `kiln_` JSON-RPC methods (the jsonrpsee server and client traits) and [`NodeApi`], what
//! the node provides behind them.

use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use crate::error::ApiError;
use crate::types::{
    AccumulateParams, Bytes, ExecutionResult, Hash32, Health, RefineParams, ServiceInfo,
    UploadCodeParams, UploadResult, Version,
};

/// The node's JSON-RPC API.
#[rpc(server, client, namespace = "kiln")]
pub trait KilnApi {
    /// Runs a service's refine on the current state; nothing is written.
    #[method(name = "dryRunRefine")]
    async fn dry_run_refine(&self, request: RefineParams) -> RpcResult<ExecutionResult>;

    /// Runs a service's accumulate on the current state and returns its writes, uncommitted.
    #[method(name = "dryRunAccumulate")]
    async fn dry_run_accumulate(&self, request: AccumulateParams) -> RpcResult<ExecutionResult>;

    /// Runs accumulate and commits its writes if it halts (chains that allow it).
    #[method(name = "applyAccumulate")]
    async fn apply_accumulate(&self, request: AccumulateParams) -> RpcResult<ExecutionResult>;

    /// A service's account, or `null`.
    #[method(name = "serviceInfo")]
    async fn service_info(&self, service: u32) -> RpcResult<Option<ServiceInfo>>;

    /// A service's storage value, or `null`.
    #[method(name = "storage")]
    async fn storage(&self, service: u32, key: Bytes) -> RpcResult<Option<Bytes>>;

    /// A service's code blob, or `null`.
    #[method(name = "code")]
    async fn code(&self, service: u32) -> RpcResult<Option<Bytes>>;

    /// A service's code hash, or `null`.
    #[method(name = "codeHash")]
    async fn code_hash(&self, service: u32) -> RpcResult<Option<Hash32>>;

    /// Creates a service or replaces its code (chains that allow it).
    #[method(name = "uploadCode")]
    async fn upload_code(&self, request: UploadCodeParams) -> RpcResult<UploadResult>;

    /// Whether the node is up.
    #[method(name = "health")]
    async fn health(&self) -> RpcResult<Health>;

    /// Kiln's version, the chain and the PVM profile.
    #[method(name = "version")]
    async fn version(&self) -> RpcResult<Version>;
}

/// What the node does for each method. Calls that execute code may block for as long as the
/// code runs; the server runs them off the async runtime.
pub trait NodeApi: Send + Sync + 'static {
    /// `kiln_dryRunRefine`.
    fn dry_run_refine(&self, request: RefineParams) -> Result<ExecutionResult, ApiError>;
    /// `kiln_dryRunAccumulate`.
    fn dry_run_accumulate(&self, request: AccumulateParams) -> Result<ExecutionResult, ApiError>;
    /// `kiln_applyAccumulate`.
    fn apply_accumulate(&self, request: AccumulateParams) -> Result<ExecutionResult, ApiError>;
    /// `kiln_serviceInfo`.
    fn service_info(&self, service: u32) -> Result<Option<ServiceInfo>, ApiError>;
    /// `kiln_storage`.
    fn storage(&self, service: u32, key: Vec<u8>) -> Result<Option<Vec<u8>>, ApiError>;
    /// `kiln_code`.
    fn code(&self, service: u32) -> Result<Option<Vec<u8>>, ApiError>;
    /// `kiln_codeHash`.
    fn code_hash(&self, service: u32) -> Result<Option<[u8; 32]>, ApiError>;
    /// `kiln_uploadCode`.
    fn upload_code(&self, request: UploadCodeParams) -> Result<UploadResult, ApiError>;
    /// `kiln_health` (without the server's own figures).
    fn health(&self) -> Health;
    /// `kiln_version`.
    fn version(&self) -> Version;
    /// Whether this chain allows `kiln_uploadCode` and `kiln_applyAccumulate`; when it does
    /// not, the error names the chain.
    fn dev_methods(&self) -> Result<(), ApiError>;
}
