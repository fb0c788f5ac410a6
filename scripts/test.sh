#!/usr/bin/env bash
# Kiln's whole test suite: formatting, lints, and every test of every crate
# (unit, integration, property tests, and the conformance vectors in ../shared when present).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
