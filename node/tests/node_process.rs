//! The real `kiln run` binary on ephemeral loopback ports: every JSON-RPC method through a
//! jsonrpsee client (HTTP and WebSocket), `/metrics` scraped over HTTP with the counters
//! moving, 10,000 malformed requests that leave the node up and its database intact, and a
//! clean shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::ws_client::WsClientBuilder;
use kiln_chain_spec::ChainSpec;
use kiln_node::genesis::open_state;
use kiln_pvm::asm::{assemble, Assembled};
use kiln_pvm::IsaVariant;
use kiln_rpc::types::{AccumulateParams, Bytes, RefineParams, UploadCodeParams};
use kiln_rpc::KilnApiClient;
use kiln_state::StateRead;

/// A running node.
struct Node {
    child: Child,
    rpc: SocketAddr,
    metrics: SocketAddr,
}

impl Node {
    fn start(base: &Path, extra: &[&str]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["run", "--base-path"])
            .arg(base)
            .args(["--rpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the kiln binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut address = |prefix: &str| -> SocketAddr {
            let line = lines
                .next()
                .expect("the node prints its addresses")
                .unwrap();
            let rest = line
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{line}"));
            rest.trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .parse()
                .unwrap()
        };
        let rpc = address("rpc: ");
        let metrics = address("metrics: ");
        Node {
            child,
            rpc,
            metrics,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.rpc)
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().unwrap();
        panic!("the node did not stop within 15 s of SIGTERM");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange on `stream` (kept alive): status and body.
fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    stream.write_all(request)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, body))
}

fn post(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: kiln\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// `GET /metrics`, parsed into `name{labels} value` lines.
fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let (status, body) = exchange(
        &mut stream,
        b"GET /metrics HTTP/1.1\r\nHost: kiln\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(status, 200);
    String::from_utf8(body).unwrap()
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {prefix}"))
}

/// A service whose refine spins until out of gas.
fn spinning_service() -> Vec<u8> {
    let src = ".stack_size 4096\n.code\n.wide\njump spin\n.wide\njump spin\nspin: jump spin\n";
    let Assembled::Standard(p) = assemble(src, IsaVariant::Jam07).unwrap() else {
        panic!("a standard program")
    };
    p.to_service_code(b"spin")
}

fn refine(service: u32, payload: &[u8], gas: u64) -> RefineParams {
    RefineParams {
        service,
        payload: Bytes(payload.to_vec()),
        gas,
        core: 0,
        item_index: 0,
        package_hash: Default::default(),
        profile: false,
    }
}

fn accumulate(service: u32) -> AccumulateParams {
    AccumulateParams {
        service,
        gas: 1_000_000,
        slot: 1,
        operands: Vec::new(),
        entropy: Default::default(),
        profile: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_works_metrics_move_and_the_node_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let client = HttpClientBuilder::default().build(node.url()).unwrap();

    let before = scrape(node.metrics);
    let health = client.health().await.unwrap();
    assert_eq!(
        (health.status.as_str(), health.chain.as_str()),
        ("ok", "dev")
    );
    let version = client.version().await.unwrap();
    assert_eq!(version.chain, "dev");
    assert_eq!(version.chain_spec_hash.0, ChainSpec::dev().hash());

    let out = client
        .dry_run_refine(refine(1, b"hello", 1_000_000))
        .await
        .unwrap();
    assert_eq!(
        (out.status.as_str(), out.output.0.as_slice()),
        ("halt", &b"HELLO"[..])
    );
    let mut profiled = refine(1, b"hi", 1_000_000);
    profiled.profile = true;
    let out = client.dry_run_refine(profiled).await.unwrap();
    let blocks = out.block_profile.expect("a profile was asked for");
    assert_eq!(blocks.iter().map(|b| b.gas).sum::<u64>(), out.gas_used);

    let dry = client.dry_run_accumulate(accumulate(1)).await.unwrap();
    assert!(!dry.committed && dry.writes.len() == 1);
    assert_eq!(
        client.storage(1, Bytes(b"counter".to_vec())).await.unwrap(),
        None
    );
    for n in 1..=3u64 {
        let applied = client.apply_accumulate(accumulate(1)).await.unwrap();
        assert!(applied.committed, "{applied:?}");
        assert_eq!(applied.logs[0].message, format!("counter = {n}"));
    }
    let counter = client.storage(1, Bytes(b"counter".to_vec())).await.unwrap();
    assert_eq!(counter, Some(Bytes(3u64.to_le_bytes().to_vec())));

    let info = client.service_info(1).await.unwrap().unwrap();
    assert_eq!(info.storage_items, 3);
    assert_eq!(client.service_info(77).await.unwrap(), None);
    let code = client.code(1).await.unwrap().unwrap();
    let hash = client.code_hash(1).await.unwrap().unwrap();
    assert_eq!(kiln_chain_spec::blake2b_256(&code.0), hash.0);
    assert_eq!(info.code_hash, hash);

    let uploaded = client
        .upload_code(UploadCodeParams {
            service: 9,
            code: Bytes(spinning_service()),
            balance: None,
        })
        .await
        .unwrap();
    assert!(uploaded.created);
    let spun = client
        .dry_run_refine(refine(9, b"", 100_000))
        .await
        .unwrap();
    assert_eq!(
        (spun.status.as_str(), spun.gas_used),
        ("out-of-gas", 100_000)
    );

    // Errors carry stable codes and say what is wrong.
    let err = client
        .dry_run_refine(refine(1, b"", u64::MAX))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_refine_gas"), "{err}");
    let err = client
        .dry_run_refine(refine(404, b"", 1000))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("service 404 does not exist"),
        "{err}"
    );
    let mut profiled_big = refine(1, b"", 200_000_000);
    profiled_big.profile = true;
    let err = client.dry_run_refine(profiled_big).await.unwrap_err();
    assert!(err.to_string().contains("profiled run"), "{err}");
    let mut many = accumulate(1);
    many.operands = vec![
        kiln_rpc::types::OperandParam {
            package_hash: Default::default(),
            exports_root: Default::default(),
            authorizer_hash: Default::default(),
            payload_hash: Default::default(),
            gas_limit: 0,
            result: kiln_rpc::types::WorkResultParam::Ok(Bytes(vec![])),
            auth_output: Bytes(vec![]),
        };
        33
    ];
    let err = client.dry_run_accumulate(many).await.unwrap_err();
    assert!(err.to_string().contains("at most 32"), "{err}");
    let methods: serde_json::Value = client
        .request("rpc_methods", jsonrpsee::rpc_params![])
        .await
        .unwrap();
    assert_eq!(methods["methods"].as_array().unwrap().len(), 11);

    // The same over WebSocket, on the same port.
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc))
        .await
        .unwrap();
    let out = ws
        .dry_run_refine(refine(1, b"ws", 1_000_000))
        .await
        .unwrap();
    assert_eq!(out.output.0, b"WS");

    let after = scrape(node.metrics);
    // Tiered: the first calls of a program run interpreted, later ones compiled.
    let accumulated: f64 = ["interpreter", "recompiler"]
        .iter()
        .map(|b| {
            let prefix = format!(
                "kiln_executions_total{{backend=\"{b}\",kind=\"accumulate\",status=\"halt\"}}"
            );
            after
                .lines()
                .find(|l| l.starts_with(&prefix))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0.0)
        })
        .sum();
    assert!(accumulated >= 4.0, "{after}");
    for (metric, at_least) in [
        (
            "kiln_executions_total{backend=\"interpreter\",kind=\"refine\",status=\"halt\"}",
            1.0,
        ),
        ("kiln_jit_lookups_total{result=\"miss\"}", 1.0),
        ("kiln_jit_compiles_total{outcome=\"started\"}", 1.0),
        ("kiln_host_calls_total{id=\"4\",name=\"write\"}", 4.0),
        (
            "kiln_rpc_requests_total{method=\"kiln_applyAccumulate\",status=\"ok\"}",
            3.0,
        ),
        (
            "kiln_rpc_requests_total{method=\"kiln_dryRunRefine\",status=\"-32602\"}",
            1.0,
        ),
        ("kiln_compiles_total", 2.0),
        ("kiln_code_cache_hits_total", 1.0),
        ("kiln_execution_gas_count{kind=\"refine\"}", 4.0),
    ] {
        assert!(sample(&after, metric) >= at_least, "{metric}:\n{after}");
    }
    assert!(
        !before.contains("kiln_executions_total{"),
        "nothing ran before"
    );
    assert!(sample(&after, "kiln_code_cache_resident_bytes") > 0.0);

    drop((client, ws));
    let status = tokio::task::spawn_blocking(move || node.stop())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}");
    let db = open_state(&dir.path().join("chains/dev/db"), &ChainSpec::dev()).unwrap();
    assert_eq!(
        db.storage(1, b"counter").unwrap(),
        Some(3u64.to_le_bytes().to_vec()),
        "commits survive the shutdown"
    );
}

#[test]
fn ten_thousand_malformed_requests_leave_the_node_up_and_its_state_intact() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--rpc-max-request-bytes", "1048576"]);
    let mut good = TcpStream::connect(node.rpc).unwrap();
    let apply = br#"{"jsonrpc":"2.0","id":1,"method":"kiln_applyAccumulate","params":[{"service":1,"gas":1000000}]}"#;
    let (status, _) = exchange(&mut good, &post(apply)).unwrap();
    assert_eq!(status, 200);

    let bad: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"not json at all".to_vec(),
        b"[]".to_vec(),
        b"[1, 2, 3]".to_vec(),
        br#"{"jsonrpc":"2.0","id":1}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_nope","params":[]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":"x"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{"service":"one","gas":1}]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{"service":1,"gas":-5}]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{"service":1,"gas":10,"payload":"0xzz"}]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_storage","params":[1,"0x123"]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_storage","params":[4294967296,"0x"]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_uploadCode","params":[{"service":1,"code":"0x00"}]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunAccumulate","params":[{"service":1,"gas":1,"operands":[{"result":{"error":"bogus"}}]}]}"#.to_vec(),
        vec![0xFF; 64],
        format!("[{}]", vec!["{}"; 500].join(",")).into_bytes(),
    ];
    let mut stream = TcpStream::connect(node.rpc).unwrap();
    let mut answered = 0;
    for i in 0..10_000 {
        let body = &bad[i % bad.len()];
        match exchange(&mut stream, &post(body)) {
            Ok((status, reply)) => {
                assert!(status == 200 || status == 400 || status == 413, "{status}");
                if status == 200 {
                    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
                    let error = if reply.is_array() {
                        &reply[0]["error"]
                    } else {
                        &reply["error"]
                    };
                    assert!(error["code"].is_i64(), "{reply}");
                }
                answered += 1;
            }
            // The server may close a connection after a bad request: open another.
            Err(_) => stream = TcpStream::connect(node.rpc).unwrap(),
        }
        if i % 1000 == 500 {
            // Oversized bodies, a request cut off mid-body, and a client that leaves
            // during a long call.
            let mut huge = TcpStream::connect(node.rpc).unwrap();
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{{"service":1,"gas":1000,"payload":"0x{}"}}]}}"#,
                "00".repeat(600_000)
            );
            let (status, _) = exchange(&mut huge, &post(body.as_bytes())).unwrap_or((413, vec![]));
            assert_eq!(status, 413);
            let mut cut = TcpStream::connect(node.rpc).unwrap();
            let request = post(br#"{"jsonrpc":"2.0","id":1,"method":"kiln_health","params":[]}"#);
            cut.write_all(&request[..request.len() - 10]).unwrap();
            drop(cut);
            let mut leaver = TcpStream::connect(node.rpc).unwrap();
            let spin = br#"{"jsonrpc":"2.0","id":1,"method":"kiln_dryRunRefine","params":[{"service":1,"gas":1000000000,"payload":"0x00"}]}"#;
            leaver.write_all(&post(spin)).unwrap();
            drop(leaver);
        }
    }
    assert!(answered > 9_000, "{answered} of 10,000 answered");

    // Still up, answering, and with its state as before.
    let health = br#"{"jsonrpc":"2.0","id":2,"method":"kiln_health","params":[]}"#;
    let (status, reply) = exchange(&mut good, &post(health)).unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&reply).contains("\"ok\""));
    let storage =
        br#"{"jsonrpc":"2.0","id":3,"method":"kiln_storage","params":[1,"0x636f756e746572"]}"#;
    let (_, reply) = exchange(&mut good, &post(storage)).unwrap();
    assert!(String::from_utf8_lossy(&reply).contains("0x0100000000000000"));
    let metrics = scrape(node.metrics);
    assert!(sample(&metrics, "kiln_rpc_requests_total{method=\"unknown\"") >= 600.0);
    let status = node.stop();
    assert!(status.success(), "exit {status:?}");
    let db = open_state(&dir.path().join("chains/dev/db"), &ChainSpec::dev()).unwrap();
    assert_eq!(
        db.storage(1, b"counter").unwrap(),
        Some(1u64.to_le_bytes().to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_are_safe_and_overload_is_refused_not_queued_forever() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &["--call-timeout-ms", "400", "--rpc-queue", "1"],
    );
    let client = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(node.url())
        .unwrap();

    // Concurrent commits never lose one another's writes.
    let applies: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.apply_accumulate(accumulate(1)).await })
        })
        .collect();
    let mut committed = 0;
    for apply in applies {
        match apply.await.unwrap() {
            Ok(result) => committed += u64::from(result.committed),
            // With a queue of one, some are refused as busy: that is the point of it.
            Err(e) => assert!(e.to_string().contains("busy"), "{e}"),
        }
    }
    assert!(committed >= 1);
    let counter = client.storage(1, Bytes(b"counter".to_vec())).await.unwrap();
    assert_eq!(counter, Some(Bytes(committed.to_le_bytes().to_vec())));

    // Runs longer than the call timeout: callers get 1003 (timeout) or 1004 (busy), never a
    // hang, and the node keeps answering.
    client
        .upload_code(UploadCodeParams {
            service: 9,
            code: Bytes(spinning_service()),
            balance: None,
        })
        .await
        .unwrap();
    // More calls than workers plus the queue on any machine this runs on.
    let spins: Vec<_> = (0..24)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.dry_run_refine(refine(9, b"", 1_000_000_000)).await })
        })
        .collect();
    let (mut timeouts, mut busy) = (0, 0);
    for spin in spins {
        let error = spin.await.unwrap().unwrap_err().to_string();
        if error.contains("did not finish within 400 ms") {
            timeouts += 1;
        } else if error.contains("busy") {
            busy += 1;
        } else {
            panic!("{error}");
        }
    }
    assert!(
        timeouts >= 1 && busy >= 1,
        "{timeouts} timeouts, {busy} busy"
    );
    let health = client.health().await.unwrap();
    assert_eq!(health.status, "ok");
    let status = tokio::task::spawn_blocking(move || node.stop())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}");
}

#[test]
fn a_signal_during_start_up_stops_the_node_cleanly_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["run", "--base-path"])
        .arg(dir.path())
        .args(["--rpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // As soon as the node catches SIGTERM (its first act), which is before the state is open
    // and the servers are up.
    let caught = |pid: u32| -> bool {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
    };
    let started = std::time::Instant::now();
    while !caught(child.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never caught SIGTERM"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    let db = open_state(&dir.path().join("chains/dev/db"), &ChainSpec::dev()).unwrap();
    assert!(db.genesis_applied().unwrap());
    drop(db);
    // A second start after that works.
    let node = Node::start(dir.path(), &[]);
    assert!(node.stop().success());
}

#[test]
fn idle_and_slow_connections_cannot_hold_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--rpc-max-connections", "4"]);
    // Every connection slot taken: two connections that never send anything, two that start
    // a request and never finish its headers.
    let mut hogs = Vec::new();
    for i in 0..4 {
        let mut s = TcpStream::connect(node.rpc).unwrap();
        if i % 2 == 1 {
            s.write_all(b"POST / HTTP/1.1\r\nHost: kiln\r\nContent-")
                .unwrap();
        }
        hogs.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    // A real client still gets an answer: the hogs are closed after the first-request
    // timeout (10 s) and its connection is accepted then.
    let started = std::time::Instant::now();
    let mut client = TcpStream::connect(node.rpc).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let health = br#"{"jsonrpc":"2.0","id":1,"method":"kiln_health","params":[]}"#;
    let (status, reply) = exchange(&mut client, &post(health)).unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&reply).contains("\"ok\""));
    assert!(started.elapsed() < Duration::from_secs(25));
    // The hogs were closed by the node.
    for mut hog in hogs {
        hog.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        // Whatever the node says first (a 408, say), the connection then ends; a read that
        // times out means it is still open.
        loop {
            match hog.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("a hog connection is still open")
                }
                Err(_) => break, // reset by the node
            }
        }
    }
    assert!(node.stop().success());
}
