//! The node's Prometheus metrics (`kiln_` names): compiles, the code cache, executions, gas,
//! host calls. RPC metrics are `kiln_rpc::RpcMetrics`; both live in one registry.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln_pvm::host_calls::HostCall;
use kiln_pvm::HostCallNumbering;
use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, Opts, Registry,
};

use crate::code_cache::{CacheStats, CodeCache};
use crate::executor::Outcome;

/// The node's metrics.
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    compiles: IntCounter,
    compile_seconds: Histogram,
    compiled_bytes: IntCounter,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_evictions: IntCounter,
    cache_resident_bytes: IntGauge,
    cache_entries: IntGauge,
    executions: IntCounterVec,
    gas_used: HistogramVec,
    execution_seconds: HistogramVec,
    host_calls: IntCounterVec,
    /// The cache counters as last copied (the cache keeps its own).
    synced: Arc<Mutex<CacheStats>>,
    jit_lookups: IntCounterVec,
    jit_dropped: IntCounter,
    jit_compiles: IntCounterVec,
    jit_evictions: IntCounter,
    jit_resident_bytes: IntGauge,
    /// The JIT counters as last copied.
    jit_synced: Arc<Mutex<[u64; 8]>>,
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

impl NodeMetrics {
    /// Creates them and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let compile_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "kiln_compile_duration_seconds",
                "Time to prepare (decode and compile) a program",
            )
            .buckets(exponential_buckets(0.0001, 4.0, 9)?),
        )?;
        registry.register(Box::new(compile_seconds.clone()))?;
        let executions = IntCounterVec::new(
            Opts::new(
                "kiln_executions_total",
                "Service executions by kind (refine, accumulate), backend and status",
            ),
            &["kind", "backend", "status"],
        )?;
        registry.register(Box::new(executions.clone()))?;
        let gas_used = HistogramVec::new(
            HistogramOpts::new("kiln_execution_gas", "Gas used per execution, by kind")
                .buckets(exponential_buckets(100.0, 10.0, 9)?),
            &["kind"],
        )?;
        registry.register(Box::new(gas_used.clone()))?;
        let execution_seconds = HistogramVec::new(
            HistogramOpts::new(
                "kiln_execution_duration_seconds",
                "Wall-clock time per execution (code preparation included), by kind",
            )
            .buckets(exponential_buckets(0.00001, 4.0, 11)?),
            &["kind"],
        )?;
        registry.register(Box::new(execution_seconds.clone()))?;
        let host_calls = IntCounterVec::new(
            Opts::new("kiln_host_calls_total", "Host calls by id and name"),
            &["id", "name"],
        )?;
        registry.register(Box::new(host_calls.clone()))?;
        Ok(Self {
            compiles: counter(registry, "kiln_compiles_total", "Programs prepared")?,
            compile_seconds,
            compiled_bytes: counter(
                registry,
                "kiln_compiled_code_bytes_total",
                "Bytes held by prepared programs (decoded code, data, and machine code on the recompiler)",
            )?,
            cache_hits: counter(registry, "kiln_code_cache_hits_total", "Code cache hits")?,
            cache_misses: counter(
                registry,
                "kiln_code_cache_misses_total",
                "Code cache misses",
            )?,
            cache_evictions: counter(
                registry,
                "kiln_code_cache_evictions_total",
                "Programs evicted from the code cache",
            )?,
            cache_resident_bytes: gauge(
                registry,
                "kiln_code_cache_resident_bytes",
                "Bytes of code resident in the code cache",
            )?,
            cache_entries: gauge(
                registry,
                "kiln_code_cache_entries",
                "Programs resident in the code cache",
            )?,
            executions,
            gas_used,
            execution_seconds,
            host_calls,
            synced: Arc::default(),
            jit_lookups: counter_vec(
                registry,
                "kiln_jit_lookups_total",
                "JIT lookups by result (hit: compiled code ran; miss: the interpreter ran)",
                &["result"],
            )?,
            jit_dropped: counter(
                registry,
                "kiln_jit_events_dropped_total",
                "Observations dropped because the JIT's event queue was full",
            )?,
            jit_compiles: counter_vec(
                registry,
                "kiln_jit_compiles_total",
                "Background compiles by outcome (started, succeeded, failed, stale)",
                &["outcome"],
            )?,
            jit_evictions: counter(
                registry,
                "kiln_jit_evictions_total",
                "Compiled programs evicted from residency",
            )?,
            jit_resident_bytes: gauge(
                registry,
                "kiln_jit_resident_bytes",
                "Bytes of compiled code resident in the JIT",
            )?,
            jit_synced: Arc::default(),
        })
    }

    /// Brings the JIT figures up to date (before a scrape).
    pub fn sync_jit(&self, stats: &crate::jit::JitStats) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut last = self.jit_synced.lock().unwrap_or_else(|p| p.into_inner());
        let now = [
            stats.hits.load(Relaxed),
            stats.misses.load(Relaxed),
            stats.dropped.load(Relaxed),
            stats.compiles_started.load(Relaxed),
            stats.compiles_succeeded.load(Relaxed),
            stats.compiles_failed.load(Relaxed),
            stats.stale_results.load(Relaxed),
            stats.evictions.load(Relaxed),
        ];
        let delta = |i: usize| now[i].saturating_sub(last[i]);
        self.jit_lookups
            .with_label_values(&["hit"])
            .inc_by(delta(0));
        self.jit_lookups
            .with_label_values(&["miss"])
            .inc_by(delta(1));
        self.jit_dropped.inc_by(delta(2));
        for (i, outcome) in [
            (3, "started"),
            (4, "succeeded"),
            (5, "failed"),
            (6, "stale"),
        ] {
            self.jit_compiles
                .with_label_values(&[outcome])
                .inc_by(delta(i));
        }
        self.jit_evictions.inc_by(delta(7));
        self.jit_resident_bytes
            .set(stats.resident_bytes.load(Relaxed) as i64);
        *last = now;
    }

    /// Records one preparation.
    pub fn compiled(&self, duration: Duration, bytes: usize) {
        self.compiles.inc();
        self.compile_seconds.observe(duration.as_secs_f64());
        self.compiled_bytes.inc_by(bytes as u64);
    }

    /// Records one execution.
    pub fn executed(&self, kind: &str, outcome: &Outcome, numbering: HostCallNumbering) {
        self.executions
            .with_label_values(&[kind, outcome.backend.name(), outcome.status.name()])
            .inc();
        self.gas_used
            .with_label_values(&[kind])
            .observe(outcome.gas_used as f64);
        self.execution_seconds
            .with_label_values(&[kind])
            .observe(outcome.elapsed.as_secs_f64());
        for (&name, &count) in &outcome.host_calls {
            let id = HostCall::ALL
                .iter()
                .find(|c| c.name() == name)
                .and_then(|c| c.id(numbering))
                .map_or_else(|| "unknown".to_string(), |id| id.to_string());
            self.host_calls
                .with_label_values(&[&id, name])
                .inc_by(count);
        }
    }

    /// Brings the code-cache figures up to date (before a scrape).
    pub fn sync_cache(&self, cache: &CodeCache) {
        // Locked before reading, so that concurrent scrapes apply their snapshots in order.
        let mut last = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let now = cache.stats();
        self.cache_hits.inc_by(now.hits.saturating_sub(last.hits));
        self.cache_misses
            .inc_by(now.misses.saturating_sub(last.misses));
        self.cache_evictions
            .inc_by(now.evictions.saturating_sub(last.evictions));
        self.cache_resident_bytes.set(now.resident_bytes as i64);
        self.cache_entries.set(now.entries as i64);
        *last = now;
    }
}
