//! Turns the `suite` bench's criterion results into the table of `docs/benchmarks.md`:
//! per workload and gas model, Kiln's recompiler against PolkaVM's best backend and against
//! native, with the geometric mean of the ratios.
//!
//! ```text
//! cargo bench -p kiln-benches --bench suite
//! cargo run -p kiln-benches --example suite_report [-- --write docs/benchmarks.md]
//! ```
//! With `--write`, the table replaces what stands between `<!-- suite:begin -->` and
//! `<!-- suite:end -->` in that file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const WORKLOADS: [&str; 8] = [
    "fib",
    "hostcall",
    "sort",
    "sieve",
    "blake2b",
    "keccak",
    "ed25519",
    "ecrecover",
];

/// Mean time in ns of `group/function`, if measured.
fn mean(root: &Path, group: &str, function: &str) -> Option<f64> {
    let path = root.join(group).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "–".into(),
        Some(ns) if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        Some(ns) => format!("{:.1} µs", ns / 1e3),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> (String, Option<f64>) {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => (format!("{:.2}×", a / b), Some(a / b)),
        _ => ("–".into(), None),
    }
}

fn geomean(values: &[f64]) -> Option<f64> {
    (!values.is_empty())
        .then(|| (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

fn table(root: &Path, gas: &str, mode: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Workload | Kiln recompiler | PolkaVM best | PolkaVM ÷ Kiln | Kiln interpreter | native | Kiln ÷ native |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let (mut vs_polkavm, mut vs_native) = (Vec::new(), Vec::new());
    for w in WORKLOADS {
        let group = format!("suite-{gas}-{mode}-{w}");
        let kiln = mean(root, &group, "kiln-recompiler");
        let interp = mean(root, &group, "kiln-interpreter");
        let native = mean(root, &group, "native");
        let best = ["polkavm-compiler", "polkavm-interpreter"]
            .iter()
            .filter_map(|f| mean(root, &group, f).map(|t| (t, *f)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let (speedup, s) = ratio(best.map(|b| b.0), kiln);
        let (to_native, n) = ratio(kiln, native);
        vs_polkavm.extend(s);
        vs_native.extend(n);
        let best_name = best.map_or("", |b| b.1.trim_start_matches("polkavm-"));
        let _ = writeln!(
            out,
            "| {w} | {} | {} ({best_name}) | {speedup} | {} | {} | {to_native} |",
            time(kiln),
            time(best.map(|b| b.0)),
            time(interp),
            time(native),
        );
    }
    let _ = writeln!(
        out,
        "| **geometric mean** | | | **{}** | | | **{}** |",
        geomean(&vs_polkavm).map_or("–".into(), |g| format!("{g:.2}×")),
        geomean(&vs_native).map_or("–".into(), |g| format!("{g:.2}×")),
    );
    out
}

fn main() {
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| PathBuf::from("target"), PathBuf::from);
    let root = target.join("criterion");
    let mut report = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let _ = writeln!(
        report,
        "Machine: {cpu}, {cores} cores; {date}; `cargo bench -p kiln-benches --bench suite`."
    );
    for (gas, mode, title) in [
        (
            "pipeline",
            "compile",
            "compile + execute, pipeline gas (the target's basis)",
        ),
        ("pipeline", "execute", "execute only, pipeline gas"),
        (
            "per-instruction",
            "compile",
            "compile + execute, one gas per instruction",
        ),
        (
            "per-instruction",
            "execute",
            "execute only, one gas per instruction",
        ),
    ] {
        let _ = writeln!(report, "\n**{title}**\n\n{}", table(&root, gas, mode));
    }
    let fr = |f| mean(&root, "suite-fib_recur", f);
    let _ = writeln!(
        report,
        "\n**fib_recur(20)** through the kernel (21,891 child VMs): recompiler {}, interpreter {}, native {} ({} of native).",
        time(fr("kiln-recompiler")),
        time(fr("kiln-interpreter")),
        time(fr("native")),
        ratio(fr("kiln-recompiler"), fr("native")).0,
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, file] if flag == "--write" => {
            let text = std::fs::read_to_string(file).expect("the report file");
            let (begin, end) = ("<!-- suite:begin -->", "<!-- suite:end -->");
            let (Some(b), Some(e)) = (text.find(begin), text.find(end)) else {
                panic!("{file} has no {begin} … {end} markers");
            };
            let updated = format!("{}{begin}\n{report}\n{}", &text[..b], &text[e..]);
            std::fs::write(file, updated).expect("writes the report");
            println!("wrote the suite table into {file}");
        }
        _ => print!("{report}"),
    }
}
