#!/usr/bin/env bash
# The test command (README "Tests"): installs what the tests need when it is missing,
# then runs formatting and lint checks, the Rust test suite, and the end-to-end checks of
# generated services against a real redis-server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# svc's allocator (jemalloc) is built from C.
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The worker variant's end-to-end check also runs against a real RabbitMQ broker.
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || need_apt+=(rabbitmq-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
# The real pre-commit, for the hook test (tests/it/ci.rs finds it in this venv).
if [ ! -x target/pre-commit-venv/bin/pre-commit ]; then
  python3 -m venv target/pre-commit-venv
  target/pre-commit-venv/bin/pip install -q pre-commit
fi
# maturin, for the wheel check (tests/e2e/check_wheel.py builds svc as a Python wheel with it).
if [ ! -x target/maturin-venv/bin/maturin ]; then
  python3 -m venv target/maturin-venv
  target/maturin-venv/bin/pip install -q maturin
fi
# The AWS SAM CLI, for `sam build` of the lambda variant (tests/e2e/check_lambda.py finds it in
# this venv; its Python builder needs no Docker).
if [ ! -x target/sam-venv/bin/sam ]; then
  python3 -m venv target/sam-venv
  target/sam-venv/bin/pip install -q aws-sam-cli
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo nextest"
cargo nextest run --no-fail-fast
cargo build --quiet

# The real-world corpus (bench/realworld): every rule change shows its effect on real code as
# a change of the committed finding counts. The archives are cached outside the clone, so only
# a machine's first run downloads them (pip, PyPI).
status=0
echo "== realworld corpus (bench/realworld)"
export SVC_REALWORLD_CACHE="${SVC_REALWORLD_CACHE:-$HOME/.cache/svc/realworld}"
if python3 bench/realworld/fetch.py; then
  python3 bench/realworld/score.py --svc target/debug/svc --check-snapshot || status=1
else
  echo "realworld corpus: FETCH FAILED (no network to PyPI?), so the snapshot was not checked" >&2
  status=1
fi

# A real Redis for the generated services' own tests, stopped whatever happens.
REDIS_PORT="${REDIS_PORT:-6399}"
redis_dir="$(mktemp -d)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$redis_dir" --daemonize yes --pidfile "$redis_dir/redis.pid" >/dev/null
stop_redis() {
  if [ -f "$redis_dir/redis.pid" ]; then kill "$(cat "$redis_dir/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$redis_dir"
}
trap stop_redis EXIT
for _ in $(seq 1 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export SVC_BIN="$PWD/target/debug/svc"

# Each generated variant, end to end (generate, fresh venv, its own tests, ruff, hadolint,
# svc audit, live HTTP checks). Every script ends with an "N passed, M failed" line.
for check in tests/e2e/check_*.py; do
  [ -e "$check" ] || continue
  echo "== $check"
  python3 "$check" || status=1
done
exit $status
