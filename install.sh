#!/usr/bin/env bash
# Install the `svc` binary from this checkout into cargo's bin directory.
# Idempotent: running it again rebuilds only what changed and replaces the binary.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is not installed or not on PATH." >&2
  echo "Install Rust (1.95 or newer) with rustup, then run ./install.sh again." >&2
  exit 2
fi
# The allocator (jemalloc) is C, built with the system's C compiler and make.
for tool in cc make; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install.sh: \`$tool\` is not installed; svc's allocator (jemalloc) is built with it." >&2
    echo "On Debian or Ubuntu: sudo apt-get install build-essential; then run ./install.sh again." >&2
    exit 2
  fi
done
cargo install --path . --locked --force --quiet
bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/svc"
echo "installed: $bin ($("$bin" --version))"
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "note: add $(dirname "$bin") to your PATH to run svc" >&2 ;;
esac
