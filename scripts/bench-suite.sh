#!/usr/bin/env bash
# The guest benchmark suite (Kiln recompiler and interpreter, PolkaVM 0.37, native) in one run,
# then its table written into docs/benchmarks.md. About 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p kiln-benches --bench suite
cargo run --release -p kiln-benches --example suite_report -- --write docs/benchmarks.md
