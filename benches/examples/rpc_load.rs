//! A load generator for a running `kiln run` node: `--connections` clients on loopback, each
//! calling `kiln_dryRunRefine` of a small cached service in a loop for `--seconds`; prints
//! dry-runs per second and latency percentiles. `scripts/rpc-load.sh` starts a release node
//! and runs this against it.
//!
//! ```text
//! rpc_load [--url http://127.0.0.1:9944] [--connections 8] [--seconds 10] [--service 1]
//! ```

use std::time::{Duration, Instant};

use jsonrpsee::http_client::HttpClientBuilder;
use kiln_rpc::types::{Bytes, RefineParams};
use kiln_rpc::KilnApiClient;

struct Options {
    url: String,
    connections: usize,
    seconds: u64,
    service: u32,
}

fn options() -> Options {
    let mut o = Options {
        url: "http://127.0.0.1:9944".into(),
        connections: 8,
        seconds: 10,
        service: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--url" => o.url = value,
            "--connections" => o.connections = value.parse().expect("a number"),
            "--seconds" => o.seconds = value.parse().expect("a number"),
            "--service" => o.service = value.parse().expect("a number"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let o = options();
    let request = RefineParams {
        service: o.service,
        payload: Bytes(b"hello, kiln".to_vec()),
        gas: 1_000_000,
        core: 0,
        item_index: 0,
        package_hash: Default::default(),
        profile: false,
    };
    // Warm the code cache once.
    let warm = HttpClientBuilder::default()
        .build(&o.url)
        .expect("a client");
    let first = warm
        .dry_run_refine(request.clone())
        .await
        .expect("the node answers");
    assert_eq!(first.status, "halt", "{first:?}");
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..o.connections)
        .map(|_| {
            let (url, request) = (o.url.clone(), request.clone());
            tokio::spawn(async move {
                let client = HttpClientBuilder::default().build(&url).expect("a client");
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match client.dry_run_refine(request.clone()).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, e) = task.await.expect("a load task");
        all.extend(latencies);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "dry-runs: {} in {elapsed:.1} s = {:.0}/s over {} connections; errors {errors}",
        all.len(),
        all.len() as f64 / elapsed,
        o.connections
    );
    println!(
        "latency: p50 {:?}  p90 {:?}  p99 {:?}  max {:?}",
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or_default()
    );
}
