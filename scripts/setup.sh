#!/usr/bin/env bash
# Installs what Kiln needs beyond a Rust toolchain (cargo with rustfmt and clippy).
# Idempotent: safe to run on every CI run and on a developer machine.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# RocksDB (kiln-state) is built from source: a C++ compiler (build-essential) and libclang for
# its bindings.
ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' || need_apt+=(libclang-dev)
# The guest toolchain (guests/build.rs): LLVM's linker for RISC-V ELFs with relocations kept.
command -v ld.lld-19 >/dev/null 2>&1 || need_apt+=(lld-19)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)

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
