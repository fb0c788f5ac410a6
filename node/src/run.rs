//! `kiln run`: the node process. Opens (or initialises from the chain spec's genesis) the state
//! under the base path, serves JSON-RPC and `/metrics`, and on SIGINT or SIGTERM stops
//! accepting calls, lets running ones finish within a timeout, flushes the state and exits 0.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kiln_chain_spec::ChainSpec;
use kiln_pvm::Backend;
use kiln_rpc::{MetricsServer, RpcMetrics, RpcServer, ServerConfig};
use prometheus::Registry;

use crate::executor::{ExecutorConfig, ServiceExecutor};
use crate::genesis::open_state;
use crate::jit::{Jit, JitConfig};
use crate::metrics::NodeMetrics;
use crate::rpc_api::NodeService;

/// The backend service code runs on.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RunBackend {
    /// The recompiler where it can compile the code, else the interpreter.
    Auto,
    /// The reference interpreter.
    Interpreter,
    /// The x86-64 recompiler.
    Recompiler,
}

/// `kiln run` options.
#[derive(Args, Debug, Clone)]
pub struct RunOptions {
    /// Chain: `dev`, `tiny`, `full` or a chain-spec JSON file.
    #[arg(long, default_value = "dev")]
    pub chain: String,
    /// Directory for the node's data; the state is at `<base-path>/chains/<chain id>/db`.
    #[arg(long, default_value = "kiln-data")]
    pub base_path: PathBuf,
    /// JSON-RPC address (HTTP and WebSocket); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9944")]
    pub rpc_addr: SocketAddr,
    /// Prometheus address (`/metrics`); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9615")]
    pub metrics_addr: SocketAddr,
    /// Backend for service code.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: RunBackend,
    /// Largest JSON-RPC request body, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    pub rpc_max_request_bytes: u32,
    /// JSON-RPC connections served at once.
    #[arg(long, default_value_t = 256)]
    pub rpc_max_connections: u32,
    /// Executions waiting for a free core before calls are refused as busy.
    #[arg(long, default_value_t = 1024)]
    pub rpc_queue: usize,
    /// Wall-clock limit of one call, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub call_timeout_ms: u64,
    /// Time running calls get to finish at shutdown, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,
    /// Compiled-code cache budget, MiB.
    #[arg(long, default_value_t = 256)]
    pub code_cache_mib: usize,
    /// Calls a program needs before it is compiled in the background (with `--backend auto`).
    #[arg(long, default_value_t = 2)]
    pub jit_threshold: u32,
    /// Background compiler threads.
    #[arg(long, default_value_t = 1)]
    pub jit_workers: usize,
    /// Resident compiled code, MiB.
    #[arg(long, default_value_t = 256)]
    pub jit_budget_mib: usize,
    /// With `--backend auto`, compile every program on its first call instead of tiering.
    #[arg(long)]
    pub no_jit: bool,
}

/// Runs the node until SIGINT or SIGTERM. The addresses it listens on are written to `out`
/// (`rpc: …`, `metrics: …`), once the servers are up.
pub fn run_node(options: RunOptions, out: &mut dyn Write) -> Result<()> {
    raise_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kiln-rpc")
        .build()
        .context("starting the async runtime")?;
    // Watched from the very start: a signal during start-up stops the node as soon as it is
    // up (cleanly), instead of killing it half-open.
    let mut signals = runtime.block_on(async { Signals::new() })?;
    let spec = ChainSpec::load(&options.chain).context("loading the chain spec")?;
    let db_path = options.base_path.join("chains").join(&spec.id).join("db");
    std::fs::create_dir_all(&db_path).with_context(|| format!("creating {}", db_path.display()))?;
    let state = Arc::new(
        open_state(&db_path, &spec)
            .with_context(|| format!("opening the state at {}", db_path.display()))?,
    );
    let backend = match options.backend {
        RunBackend::Auto => Backend::Auto,
        RunBackend::Interpreter => Backend::Interpreter,
        RunBackend::Recompiler if !Backend::RECOMPILER_AVAILABLE => {
            anyhow::bail!("this build has no recompiler (it needs x86-64 Linux)")
        }
        RunBackend::Recompiler => Backend::Recompiler,
    };
    let registry = Registry::new();
    // process_open_fds, process_resident_memory_bytes, … (Linux).
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    let node_metrics = NodeMetrics::register(&registry)?;
    let rpc_metrics = RpcMetrics::register(&registry)?;
    let config = ExecutorConfig {
        backend,
        code_cache_bytes: options.code_cache_mib.saturating_mul(1 << 20),
        // A run the caller stopped waiting for ends at its next host call.
        time_limit: Some(Duration::from_millis(options.call_timeout_ms)),
        ..ExecutorConfig::default()
    };
    let chain = spec.id.clone();
    let mut executor = ServiceExecutor::new(state.clone(), Arc::new(spec), config);
    if matches!(options.backend, RunBackend::Auto)
        && !options.no_jit
        && Backend::RECOMPILER_AVAILABLE
    {
        let recorder = node_metrics.clone();
        let jit = Jit::start(JitConfig {
            threshold: options.jit_threshold.max(1),
            workers: options.jit_workers.max(1),
            budget_bytes: options.jit_budget_mib.saturating_mul(1 << 20),
            on_compiled: Some(Arc::new(move |took, bytes| recorder.compiled(took, bytes))),
            ..JitConfig::default()
        })
        .context("starting the JIT coordinator")?;
        executor = executor.with_jit(Arc::new(jit));
    }
    let executor = Arc::new(executor);
    let recorder = node_metrics.clone();
    executor
        .cache()
        .on_prepared(Box::new(move |took, bytes| recorder.compiled(took, bytes)));
    let service = Arc::new(NodeService::new(executor.clone(), node_metrics.clone()));
    let server_config = ServerConfig {
        addr: options.rpc_addr,
        max_request_bytes: options.rpc_max_request_bytes,
        max_connections: options.rpc_max_connections,
        queue: options.rpc_queue,
        call_timeout: Duration::from_millis(options.call_timeout_ms),
        ..ServerConfig::default()
    };
    let drained = runtime.block_on(async {
        // Metrics first: if its port is taken, the node stops before serving any call.
        let cache = executor.cache().clone();
        let jit = executor.jit().cloned();
        let scrape_metrics = node_metrics.clone();
        let metrics = MetricsServer::start(
            options.metrics_addr,
            registry,
            Arc::new(move || {
                scrape_metrics.sync_cache(&cache);
                if let Some(jit) = &jit {
                    scrape_metrics.sync_jit(jit.stats());
                }
            }),
        )
        .await
        .with_context(|| format!("serving metrics on {}", options.metrics_addr))?;
        let rpc = RpcServer::start(server_config, service, rpc_metrics)
            .await
            .with_context(|| format!("serving JSON-RPC on {}", options.rpc_addr))?;
        tracing::info!(
            chain,
            state = %db_path.display(),
            rpc = %rpc.local_addr(),
            metrics = %metrics.local_addr(),
            "kiln node started"
        );
        writeln!(out, "rpc: http://{}", rpc.local_addr())?;
        writeln!(out, "metrics: http://{}/metrics", metrics.local_addr())?;
        out.flush()?;
        signals.next().await;
        tracing::info!(
            "stopping: no new calls; letting running ones finish (a second signal exits at once)"
        );
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!("second signal: exiting without waiting (commits are synced)");
            std::process::exit(130);
        });
        let drained = rpc
            .shutdown(Duration::from_millis(options.shutdown_timeout_ms))
            .await;
        metrics.stop().await;
        anyhow::Ok(drained)
    })?;
    if !drained {
        tracing::warn!("calls still running at the shutdown timeout were abandoned");
    }
    // Executions still running hold the state; their commits are synced either way.
    runtime.shutdown_timeout(Duration::from_secs(1));
    state.flush().context("flushing the state")?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT and SIGTERM, watched from creation on (a signal that arrives before `next` is
/// awaited is not lost).
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("watching SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("watching SIGINT")?,
        })
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Raises the soft limit on open files to the hard limit: connections, RocksDB's files and the
/// kernel's memfds all need descriptors, and running out makes accepting fail.
fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
