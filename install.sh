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
# Say up front what is coming: a first build compiles some 150 crates, silent for minutes
# with --quiet. Cargo's own progress (a bar on a terminal, one line per crate otherwise) goes
# to stderr as it builds. The release profile keeps cargo's defaults (Cargo.toml); the
# fat-LTO `dist` profile is for release artefacts only.
cores="$(nproc 2>/dev/null || echo '?')"
echo "install.sh: building svc from source (cargo install, release profile)." >&2
# Measured: 6 CPU-minutes of compiling; 13.5 minutes of wall time on 2 cores shared with other
# builds (load average 11), so about 5 on 2 idle ones.
echo "A first build takes about 5 minutes on an idle 2-core machine, up to 15 on a busy one" >&2
echo "($cores cores here); a later run rebuilds only what changed." >&2
cargo install --path . --locked --force
bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/svc"
echo "installed: $bin ($("$bin" --version))"
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "note: add $(dirname "$bin") to your PATH to run svc" >&2 ;;
esac
