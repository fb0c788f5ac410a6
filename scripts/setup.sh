#!/usr/bin/env bash
# Installs what Kiln needs beyond a Rust toolchain (cargo with rustfmt and clippy).
# Idempotent: safe to run on every CI run and on a developer machine.
set -euo pipefail

need_apt=()
# A C/C++ toolchain and pkg-config; RocksDB (kiln-state) links Debian's librocksdb-dev and needs
# libclang for its bindings; the guest toolchain (guests/build.rs) needs LLVM's linker for RISC-V
# ELFs with relocations kept, and pip for the pinned Zig.
for package in build-essential pkg-config libclang-dev librocksdb-dev lld-19 python3 python3-pip; do
  dpkg -s "$package" >/dev/null 2>&1 || need_apt+=("$package")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Zig, pinned, from the Python package index: compiles the guests for RV64E.
ZIG_VERSION=0.17.1
if [ "$(python3 -m ziglang version 2>/dev/null)" != "$ZIG_VERSION" ]; then
  echo "setup: installing ziglang==$ZIG_VERSION (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "ziglang==$ZIG_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
echo "setup: ok ($(cargo --version), zig $(python3 -m ziglang version), $(ld.lld-19 --version | head -1))"
