//! The JSON-RPC listener: Kiln's own accept loop in front of jsonrpsee's per-connection service,
//! so that every TCP connection counts against the connection limit (idle keep-alive ones
//! too), a client must send each request's headers within a deadline and its first request
//! within another, only HTTP/1.1 (and WebSocket upgrades) is spoken, accept errors (out of file
//! descriptors, say) back off instead of spinning, and stopping closes the listener at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Time a client has to send a request's headers once it starts one.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a new connection has to send its first request.
pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves connections from `listener` with services from `make` until `stop` turns true; at
/// most `max_connections` at once (more wait in the kernel's backlog).
pub(crate) async fn serve<F, S, B>(
    listener: TcpListener,
    make: F,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
) where
    F: Fn() -> S + Send + 'static,
    S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!("rpc: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = socket.set_nodelay(true);
        let inner = Arc::new(make());
        let mut stopped = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let seen = Arc::new(AtomicBool::new(false));
            let service = {
                let seen = seen.clone();
                hyper::service::service_fn(move |request| {
                    seen.store(true, Ordering::Relaxed);
                    inner.call(request)
                })
            };
            let mut http = Builder::new(TokioExecutor::new()).http1_only();
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true);
            let connection = http.serve_connection_with_upgrades(TokioIo::new(socket), service);
            tokio::pin!(connection);
            let first = tokio::time::sleep(FIRST_REQUEST_TIMEOUT);
            tokio::pin!(first);
            let mut waiting_for_first = true;
            loop {
                tokio::select! {
                    _ = &mut connection => break,
                    _ = stopped.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut connection).await;
                        break;
                    }
                    _ = &mut first, if waiting_for_first => {
                        waiting_for_first = false;
                        if !seen.load(Ordering::Relaxed) {
                            // Never started a request: close it.
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
}
