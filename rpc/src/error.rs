//! The API's errors and their stable JSON-RPC codes (documented in `docs/rpc.md`).

use jsonrpsee::types::ErrorObjectOwned;

/// Invalid method parameter(s) (JSON-RPC's own code).
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error (JSON-RPC's own code): the state store failed.
pub const INTERNAL: i32 = -32603;
/// The service does not exist.
pub const UNKNOWN_SERVICE: i32 = 1001;
/// The method is not allowed on this chain (uploads and applied accumulates: dev chains only).
pub const NOT_ALLOWED: i32 = 1002;
/// The execution did not finish within the node's wall-clock limit.
pub const TIMEOUT: i32 = 1003;
/// Every execution slot is busy and the queue is full: retry later.
pub const BUSY: i32 = 1004;
/// The node is shutting down.
pub const STOPPING: i32 = 1005;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A parameter is wrong; the message names it.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// No such service.
    #[error("service {0} does not exist")]
    UnknownService(u32),
    /// Not on this chain.
    #[error("{0}")]
    NotAllowed(String),
    /// Over the wall-clock limit.
    #[error("the execution did not finish within {0} ms")]
    Timeout(u64),
    /// Over capacity.
    #[error("the node is busy: every execution slot is taken; retry later")]
    Busy,
    /// Shutting down.
    #[error("the node is shutting down")]
    Stopping,
    /// The node failed (its state store, say).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> i32 {
        match self {
            ApiError::InvalidParams(_) => INVALID_PARAMS,
            ApiError::UnknownService(_) => UNKNOWN_SERVICE,
            ApiError::NotAllowed(_) => NOT_ALLOWED,
            ApiError::Timeout(_) => TIMEOUT,
            ApiError::Busy => BUSY,
            ApiError::Stopping => STOPPING,
            ApiError::Internal(_) => INTERNAL,
        }
    }
}

impl From<ApiError> for ErrorObjectOwned {
    fn from(e: ApiError) -> Self {
        ErrorObjectOwned::owned(e.code(), e.to_string(), None::<()>)
    }
}
