//! RPC metrics (requests by method and status, their duration) and the middleware that records
//! them. Method names the server does not know are counted as `unknown`, so that a client
//! cannot grow the label set.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use jsonrpsee::core::middleware::{Batch, Notification, RpcServiceT};
use jsonrpsee::types::Request;
use jsonrpsee::MethodResponse;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The RPC metrics.
#[derive(Clone, Debug)]
pub struct RpcMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: prometheus::IntGauge,
}

impl RpcMetrics {
    /// Creates them and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "kiln_rpc_requests_total",
                "JSON-RPC calls by method and status (ok or the error code)",
            ),
            &["method", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "kiln_rpc_request_duration_seconds",
                "Time to answer a JSON-RPC call, by method",
            )
            .buckets(prometheus::exponential_buckets(0.00005, 4.0, 11)?),
            &["method"],
        )?;
        let in_flight = prometheus::IntGauge::new(
            "kiln_rpc_executions_in_flight",
            "Executions queued or running on the execution pool",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self {
            requests,
            duration,
            in_flight,
        })
    }

    /// The gauge of executions queued or running.
    pub fn in_flight(&self) -> prometheus::IntGauge {
        self.in_flight.clone()
    }

    fn observe(&self, method: &str, error: Option<i32>, started: Instant) {
        let status = error.map_or_else(|| "ok".to_string(), |code| code.to_string());
        self.requests.with_label_values(&[method, &status]).inc();
        self.duration
            .with_label_values(&[method])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The middleware: records each call's method, status and duration.
#[derive(Clone)]
pub struct MetricsService<S> {
    service: S,
    metrics: RpcMetrics,
    known: Arc<Vec<String>>,
}

impl<S> MetricsService<S> {
    /// Wraps `service`.
    pub fn new(service: S, metrics: RpcMetrics, known: Arc<Vec<String>>) -> Self {
        Self {
            service,
            metrics,
            known,
        }
    }

    fn label(&self, method: &str) -> String {
        if self.known.iter().any(|k| k == method) {
            method.to_string()
        } else {
            "unknown".to_string()
        }
    }
}

impl<S> RpcServiceT for MetricsService<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let method = self.label(request.method_name());
        let (service, metrics) = (self.service.clone(), self.metrics.clone());
        let started = Instant::now();
        async move {
            let response = service.call(request).await;
            metrics.observe(&method, response.as_error_code(), started);
            response
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let (service, metrics) = (self.service.clone(), self.metrics.clone());
        let started = Instant::now();
        async move {
            let response = service.batch(batch).await;
            metrics.observe("batch", response.as_error_code(), started);
            response
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(n)
    }
}
