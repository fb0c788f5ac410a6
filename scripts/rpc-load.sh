#!/usr/bin/env bash
# Load test: a release `kiln run` (dev chain, fresh state in a temp dir, ephemeral ports) and
# the `rpc_load` generator against it on 127.0.0.1. Arguments go to the generator, e.g.
#   bash scripts/rpc-load.sh --connections 8 --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p kiln-node --bin kiln
cargo build --release -p kiln-benches --example rpc_load
base=$(mktemp -d)
out=$(mktemp)
trap 'kill -TERM "$node" 2>/dev/null || true; wait "$node" 2>/dev/null || true; rm -rf "$base" "$out"' EXIT
RUST_LOG=warn ./target/release/kiln run --base-path "$base" \
    --rpc-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 >"$out" &
node=$!
for _ in $(seq 100); do grep -q '^rpc: ' "$out" && break; sleep 0.1; done
url=$(sed -n 's/^rpc: //p' "$out")
echo "node at $url (pid $node)"
./target/release/examples/rpc_load --url "$url" "$@"
