//! A load generator for a running `kiln run` node: `--connections` threads on loopback, each
//! with one kept-alive HTTP/1.1 connection, posting the same `kiln_dryRunRefine` of a small
//! cached service for `--seconds`; prints dry-runs per second and latency percentiles.
//! `scripts/rpc-load.sh` starts a release node and runs this against it.
//!
//! The generator shares the machine with the node, so it is kept lean: the request is encoded
//! once, and each answer is checked (HTTP 200, a `halt` status) without a JSON parser.
//!
//! ```text
//! rpc_load [--url http://127.0.0.1:9944] [--connections 8] [--seconds 10] [--service 1]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Options {
    addr: String,
    connections: usize,
    seconds: u64,
    service: u32,
}

fn options() -> Options {
    let mut o = Options {
        addr: "127.0.0.1:9944".into(),
        connections: 8,
        seconds: 10,
        service: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--url" => {
                o.addr = value
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .into()
            }
            "--connections" => o.connections = value.parse().expect("a number"),
            "--seconds" => o.seconds = value.parse().expect("a number"),
            "--service" => o.service = value.parse().expect("a number"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

/// One exchange on a kept-alive connection: the body of a 200 answer.
fn call(reader: &mut BufReader<TcpStream>, request: &[u8]) -> std::io::Result<Vec<u8>> {
    reader.get_mut().write_all(request)?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("answer {line:?}")));
    }
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let o = options();
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{{"service":{},"payload":"0x68656c6c6f2c206b696c6e","gas":1000000}}]}}"#,
        o.service
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: kiln\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let connect = || {
        let stream = TcpStream::connect(&o.addr).expect("the node listens");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        BufReader::new(stream)
    };
    // Warm the code cache once, and check the answer.
    let first = call(&mut connect(), &request).expect("the node answers");
    let first = String::from_utf8_lossy(&first);
    assert!(first.contains(r#""status":"halt""#), "{first}");
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..o.connections)
        .map(|_| {
            let (mut reader, request) = (connect(), request.clone());
            std::thread::spawn(move || {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match call(&mut reader, &request) {
                        Ok(body) if body.windows(15).any(|w| w == br#""status":"halt""#) => {
                            latencies.push(t.elapsed())
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for thread in threads {
        let (latencies, e) = thread.join().expect("a load thread");
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
