//! The JSON-RPC server: jsonrpsee over HTTP and WebSocket on one port, request and connection
//! limits, executions on a bounded pool of blocking threads with a wall-clock limit per call,
//! `rpc_methods`, and draining on shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpsee::core::{async_trait, RpcResult};
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::RpcModule;

use crate::api::{KilnApiServer, NodeApi};
use crate::error::ApiError;
use crate::metrics::{MetricsService, RpcMetrics};
use crate::pool::{ExecPool, Refused};
use crate::types::{
    AccumulateParams, Bytes, ExecutionResult, Hash32, Health, RefineParams, ServiceInfo,
    UploadCodeParams, UploadResult, Version,
};

/// State reads (`kiln_storage`, `kiln_code`, …) running at once; more wait for a slot.
const READ_SLOTS: usize = 16;

/// Input bytes queued and running calls may hold in all (one call alone is always admitted
/// when nothing else is held).
const QUEUED_BYTES: u64 = 256 << 20;

/// Calls in one JSON-RPC batch.
const MAX_BATCH: u32 = 64;

/// The server's limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0: any free port).
    pub addr: SocketAddr,
    /// Largest request body, bytes.
    pub max_request_bytes: u32,
    /// Largest response body, bytes.
    pub max_response_bytes: u32,
    /// Connections served at once.
    pub max_connections: u32,
    /// Executions running at once (the node's cores).
    pub execution_slots: usize,
    /// Executions that may wait for a worker; more are refused as busy.
    pub queue: usize,
    /// Wall-clock limit of one call, waiting for a slot included.
    pub call_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9944)),
            max_request_bytes: 16 << 20,
            max_response_bytes: 32 << 20,
            max_connections: 256,
            execution_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 1024,
            call_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared by the method handlers.
struct Shared {
    api: Arc<dyn NodeApi>,
    pool: Arc<ExecPool>,
    /// State reads running at once.
    reads: Arc<tokio::sync::Semaphore>,
    in_flight: Arc<AtomicU64>,
    in_flight_gauge: prometheus::IntGauge,
    /// Input bytes held by queued and running calls.
    queued_bytes: Arc<AtomicU64>,
    stopping: AtomicBool,
    config: ServerConfig,
}

/// Counts an execution in flight while alive.
struct InFlight(Arc<AtomicU64>, prometheus::IntGauge);

impl InFlight {
    fn new(counter: &Arc<AtomicU64>, gauge: &prometheus::IntGauge) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        gauge.inc();
        Self(counter.clone(), gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        self.1.dec();
    }
}

/// Bytes of input held by queued and running calls, released when the call ends.
struct QueuedBytes(Arc<AtomicU64>, u64);

impl QueuedBytes {
    /// Admits `bytes` more unless that passes `QUEUED_BYTES`.
    fn admit(total: &Arc<AtomicU64>, bytes: usize) -> Option<Self> {
        let bytes = bytes as u64;
        let before = total.fetch_add(bytes, Ordering::SeqCst);
        if before.saturating_add(bytes) > QUEUED_BYTES && before > 0 {
            total.fetch_sub(bytes, Ordering::SeqCst);
            return None;
        }
        Some(Self(total.clone(), bytes))
    }
}

impl Drop for QueuedBytes {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::SeqCst);
    }
}

/// Input bytes of an accumulate's operands.
fn operand_bytes(request: &AccumulateParams) -> usize {
    request
        .operands
        .iter()
        .map(|o| {
            let ok = match &o.result {
                crate::types::WorkResultParam::Ok(bytes) => bytes.0.len(),
                crate::types::WorkResultParam::Error(e) => e.len(),
            };
            160 + ok + o.auth_output.0.len()
        })
        .sum()
}

#[derive(Clone)]
struct Handlers(Arc<Shared>);

impl Handlers {
    /// Runs `f` on the execution pool, waiting at most the call timeout.
    async fn execute<T: Send + 'static>(
        &self,
        bytes: usize,
        f: impl FnOnce(&dyn NodeApi) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let shared = &self.0;
        // Counted before the check, so that a shutdown that sees no call in flight sees this
        // one refused.
        let in_flight = InFlight::new(&shared.in_flight, &shared.in_flight_gauge);
        if shared.stopping.load(Ordering::SeqCst) {
            return Err(ApiError::Stopping);
        }
        // Queued and running calls hold their inputs: admit them against a byte budget too.
        let held = QueuedBytes::admit(&shared.queued_bytes, bytes).ok_or(ApiError::Busy)?;
        let in_flight = (in_flight, held);
        let limit = shared.config.call_timeout;
        let api = shared.api.clone();
        // The run keeps its worker until it ends, also when the caller stops waiting: gas
        // and the executor's time limit bound it.
        let done = shared
            .pool
            .submit(move || {
                let _counted = in_flight;
                f(&*api)
            })
            .map_err(|refused| match refused {
                Refused::Busy => ApiError::Busy,
                Refused::Stopped => ApiError::Stopping,
            })?;
        match tokio::time::timeout(limit, done).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ApiError::Internal(
                "the execution failed unexpectedly".into(),
            )),
            Err(_) => Err(ApiError::Timeout(limit.as_millis() as u64)),
        }
    }

    /// Runs a state read on a blocking thread, at most `READ_SLOTS` at once (more wait).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn NodeApi) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(
            self.0.config.call_timeout,
            self.0.reads.clone().acquire_owned(),
        )
        .await
        .map_err(|_| ApiError::Busy)?
        .map_err(|_| ApiError::Stopping)?;
        let api = self.0.api.clone();
        tokio::task::spawn_blocking(move || {
            let _held = permit;
            f(&*api)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("the read failed: {e}")))?
    }
}

#[async_trait]
impl KilnApiServer for Handlers {
    async fn dry_run_refine(&self, request: RefineParams) -> RpcResult<ExecutionResult> {
        let bytes = request.payload.0.len();
        Ok(self
            .execute(bytes, move |api| api.dry_run_refine(request))
            .await?)
    }

    async fn dry_run_accumulate(&self, request: AccumulateParams) -> RpcResult<ExecutionResult> {
        Ok(self
            .execute(operand_bytes(&request), move |api| {
                api.dry_run_accumulate(request)
            })
            .await?)
    }

    async fn apply_accumulate(&self, request: AccumulateParams) -> RpcResult<ExecutionResult> {
        self.0.api.dev_methods()?;
        Ok(self
            .execute(operand_bytes(&request), move |api| {
                api.apply_accumulate(request)
            })
            .await?)
    }

    async fn service_info(&self, service: u32) -> RpcResult<Option<ServiceInfo>> {
        Ok(self.read(move |api| api.service_info(service)).await?)
    }

    async fn storage(&self, service: u32, key: Bytes) -> RpcResult<Option<Bytes>> {
        let value = self.read(move |api| api.storage(service, key.0)).await?;
        Ok(value.map(Bytes))
    }

    async fn code(&self, service: u32) -> RpcResult<Option<Bytes>> {
        Ok(self.read(move |api| api.code(service)).await?.map(Bytes))
    }

    async fn code_hash(&self, service: u32) -> RpcResult<Option<Hash32>> {
        Ok(self
            .read(move |api| api.code_hash(service))
            .await?
            .map(Hash32))
    }

    async fn upload_code(&self, request: UploadCodeParams) -> RpcResult<UploadResult> {
        self.0.api.dev_methods()?;
        let bytes = request.code.0.len();
        Ok(self
            .execute(bytes, move |api| api.upload_code(request))
            .await?)
    }

    async fn health(&self) -> RpcResult<Health> {
        let mut health = self.0.api.health();
        health.executions_in_flight = self.0.in_flight.load(Ordering::SeqCst);
        if self.0.stopping.load(Ordering::SeqCst) {
            health.status = "stopping".into();
        }
        Ok(health)
    }

    async fn version(&self) -> RpcResult<Version> {
        Ok(self.0.api.version())
    }
}

/// A running server.
pub struct RpcServer {
    handle: ServerHandle,
    /// Tells the accept loop and every connection to stop.
    stop: tokio::sync::watch::Sender<bool>,
    accepting: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// The method names the server answers (besides `rpc_methods` itself).
fn module(handlers: Handlers) -> Result<RpcModule<Handlers>, std::io::Error> {
    let mut module = handlers.into_rpc();
    let mut names: Vec<String> = module.method_names().map(str::to_string).collect();
    names.push("rpc_methods".into());
    names.sort();
    module
        .register_method(
            "rpc_methods",
            move |_, _, _| serde_json::json!({ "version": 1, "methods": names }),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(module)
}

impl RpcServer {
    /// Starts serving `api` (must run inside a tokio runtime).
    pub async fn start(
        config: ServerConfig,
        api: Arc<dyn NodeApi>,
        metrics: RpcMetrics,
    ) -> Result<Self, std::io::Error> {
        let shared = Arc::new(Shared {
            api,
            pool: ExecPool::new(config.execution_slots, config.queue)?,
            reads: Arc::new(tokio::sync::Semaphore::new(READ_SLOTS)),
            in_flight: Arc::new(AtomicU64::new(0)),
            in_flight_gauge: metrics.in_flight(),
            queued_bytes: Arc::new(AtomicU64::new(0)),
            stopping: AtomicBool::new(false),
            config: config.clone(),
        });
        let module = module(Handlers(shared.clone()))?;
        let known: Arc<Vec<String>> = Arc::new(module.method_names().map(str::to_string).collect());
        let middleware = RpcServiceBuilder::new()
            .layer_fn(move |service| MetricsService::new(service, metrics.clone(), known.clone()));
        let limits = jsonrpsee::server::ServerConfig::builder()
            .max_request_body_size(config.max_request_bytes)
            .max_response_body_size(config.max_response_bytes)
            .max_connections(config.max_connections)
            .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Limit(MAX_BATCH))
            // Few buffered replies per WebSocket connection: a client that does not read its
            // replies is held back instead of piling them up.
            .set_message_buffer_capacity(16)
            .enable_ws_ping(jsonrpsee::server::PingConfig::new())
            .build();
        let builder = Server::builder()
            .set_config(limits)
            .set_rpc_middleware(middleware)
            .to_service_builder();
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (stop_handle, handle) = jsonrpsee::server::stop_channel();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let methods: jsonrpsee::Methods = module.into();
        let make = move || {
            hyper_util::service::TowerToHyperService::new(
                builder.clone().build(methods.clone(), stop_handle.clone()),
            )
        };
        let accepting = tokio::spawn(crate::accept::serve(
            listener,
            make,
            config.max_connections as usize,
            stopped,
        ));
        Ok(Self {
            handle,
            addr,
            shared,
            stop,
            accepting,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Executions running now.
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Stops: new executions are refused at once, running ones get up to `drain` to finish,
    /// then the server closes. Returns whether everything finished in time.
    pub async fn shutdown(self, drain: Duration) -> bool {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // No new connections; open ones finish the request they are answering and close.
        let _ = self.stop.send(true);
        let deadline = Instant::now() + drain;
        while self.in_flight() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let drained = self.in_flight() == 0;
        let _ = self.handle.stop();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.accepting).await;
        drained
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_bytes_are_admitted_within_the_budget_and_released() {
        let total = Arc::new(AtomicU64::new(0));
        // One call alone is admitted whatever its size.
        let big = QueuedBytes::admit(&total, (QUEUED_BYTES + 1) as usize).unwrap();
        assert!(QueuedBytes::admit(&total, 1).is_none(), "over the budget");
        drop(big);
        assert_eq!(total.load(Ordering::SeqCst), 0);
        let half = QueuedBytes::admit(&total, (QUEUED_BYTES / 2) as usize).unwrap();
        let other = QueuedBytes::admit(&total, (QUEUED_BYTES / 2) as usize).unwrap();
        assert!(QueuedBytes::admit(&total, 1).is_none());
        drop((half, other));
        assert!(QueuedBytes::admit(&total, 1).is_some());
    }
}
