//! The tier-up timeline (issue 9): the dev chain's service refined over and over through a
//! tiered executor (fresh state in a temporary directory); each call's backend and time.
//!
//! ```text
//! cargo run --release -p kiln-benches --example tier_up [-- calls]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_chain_spec::ChainSpec;
use kiln_node::executor::{ExecutorConfig, RefineRequest, ServiceExecutor};
use kiln_node::genesis::open_state;
use kiln_node::jit::{Jit, JitConfig};

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map_or(12, |n| n.parse().expect("a number of calls"));
    let dir = std::env::temp_dir().join(format!("kiln-tier-up-{}", std::process::id()));
    let spec = ChainSpec::dev();
    let db = open_state(&dir, &spec).expect("the state");
    let jit = Arc::new(Jit::start(JitConfig::default()).expect("the JIT"));
    let executor = ServiceExecutor::new(Arc::new(db), Arc::new(spec), ExecutorConfig::default())
        .with_jit(jit.clone());
    let request = RefineRequest {
        service: 1,
        payload: b"hello, kiln".to_vec(),
        gas: 1_000_000,
        core: 0,
        item_index: 0,
        package_hash: [0; 32],
    };
    println!("| call | backend | gas | µs |\n|---|---|---|---|");
    let started = Instant::now();
    for call in 1..=calls {
        let t = Instant::now();
        let outcome = executor.refine(&request).expect("a refine");
        let micros = t.elapsed().as_secs_f64() * 1e6;
        println!(
            "| {call} | {} | {} | {micros:.1} |",
            outcome.backend.name(),
            outcome.gas_used
        );
        // Calls spaced like a node's (the compile runs in the background meanwhile).
        std::thread::sleep(Duration::from_millis(5));
    }
    println!(
        "\n{calls} calls in {:?}; compiles {}",
        started.elapsed(),
        jit.stats()
            .compiles_succeeded
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    drop(executor);
    let _ = std::fs::remove_dir_all(&dir);
}
