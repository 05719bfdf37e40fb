#!/usr/bin/env python3
"""End-to-end check of the `worker` template: generate, install, test, lint, audit, run.

For each broker (redis, rabbitmq) it generates a service with `svc new`, runs `svc audit`
(zero findings), `hadolint Dockerfile`, ruff and `mypy --strict`, installs the dependencies once
into a shared virtualenv from the generated lock (`pip install --require-hashes -r
requirements-dev.txt`), runs each service's own pytest (eager-mode unit tests plus the real-worker tests
against REDIS_URL, none skipped), then starts the worker the way the Dockerfile does (prefork
pool, PROMETHEUS_MULTIPROC_DIR) and checks: the liveness command passes, a task enqueued by an
OpenTelemetry-instrumented producer runs and its JSON log line carries the producer's trace id,
the task metrics of the pool processes are served by the main process, and SIGTERM is a warm
shutdown (exit 0, heartbeat removed).

Broker outage (issue 16, F-B4): a second prefork worker, on a broker of its own (a private
redis-server, or the RabbitMQ node's app), sees the broker stopped for OUTAGE_SECONDS, three
times its liveness window (HEARTBEAT_MAX_AGE_SECONDS, shortened from the 60 s default so the
check takes seconds, not minutes). The liveness command, polled throughout, must never fail,
the broker gauge must say 0 during the outage, and a task enqueued once the broker is back
must run.

The rabbitmq broker needs `rabbitmq-server` (Debian package): the script starts its own node
on 127.0.0.1 with a private epmd and stops both; without it those steps are SKIPped.

Usage:  REDIS_URL=redis://127.0.0.1:6379/0 tests/e2e/check_worker.py [--keep] [--broker redis]

Environment: SVC_BIN (default target/debug/svc), REDIS_URL (required), PIP_CACHE_DIR.
Prints PASS/FAIL/SKIP per step and ends with `N passed, M failed`; exits 1 on any failure.
Only 127.0.0.1 is contacted; every step has a timeout; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pythons  # noqa: E402
from check_container import PROCS, Report, free_port, run, tail, wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SERVICE = "e2e-worker"
# The liveness window of the outage check, and the outage: three times longer. CI runs this
# quick form; the production settings (the 60 s default window, a 2-minute broker stop) are
# `E2E_LIVENESS_WINDOW_SECONDS=60 E2E_OUTAGE_SECONDS=125 tests/e2e/check_worker.py`.
LIVENESS_WINDOW_SECONDS = int(os.environ.get("E2E_LIVENESS_WINDOW_SECONDS", "3"))
OUTAGE_SECONDS = int(os.environ.get("E2E_OUTAGE_SECONDS", str(3 * LIVENESS_WINDOW_SECONDS + 1)))
COMBOS = [("broker=redis", {"broker": "redis"}), ("broker=rabbitmq", {"broker": "rabbitmq"})]

# A producer service: instruments its Celery client, enqueues inside a span, prints the trace id.
PRODUCER = r"""
import json, sys
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider
trace.set_tracer_provider(TracerProvider())
CeleryInstrumentor().instrument()
from app.tasks import process_order
with trace.get_tracer("producer").start_as_current_span("enqueue") as span:
    result = process_order.apply_async(args=[sys.argv[1], 250], queue=sys.argv[2])
    trace_id = format(span.get_span_context().trace_id, "032x")
print(json.dumps({"trace_id": trace_id, "result": result.get(timeout=30)}))
"""


class RabbitMQ:
    """A throwaway RabbitMQ node on 127.0.0.1 with its own epmd; None when not installed."""

    def __init__(self, work: Path) -> None:
        self.base = work
        self.url = ""
        self.env: dict[str, str] = {}
        self.epmd: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None

    def start(self) -> bool | None:
        server, ctl, epmd = (shutil.which(n) for n in ("rabbitmq-server", "rabbitmqctl", "epmd"))
        if not (server and ctl and epmd):
            return None
        self.base.mkdir(mode=0o755)
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir()
        if os.geteuid() == 0:  # the Debian wrapper drops to the rabbitmq user
            for path in (self.base, self.base / "mnesia", self.base / "log"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        epmd_port = free_port()
        node_port = next(p for p in (free_port() for _ in range(50)) if p + 20000 < 65536)
        self.env = {
            **os.environ,
            "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node_port),
            "RABBITMQ_NODENAME": "svc-e2e@localhost",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
        }
        log = (self.base / "out.log").open("wb")
        self.epmd = PROCS.start([epmd, "-port", str(epmd_port), "-address", "127.0.0.1"],
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        time.sleep(0.3)
        self.server = PROCS.start([server], env=self.env, cwd=self.base, stdout=log,
                                  stderr=subprocess.STDOUT)  # fmt: skip
        self.url = f"amqp://127.0.0.1:{node_port}//"
        ok = wait_until(lambda: run([ctl, "-n", "svc-e2e@localhost", "await_startup"], env=self.env,
                                    timeout=20).returncode == 0, timeout=90, interval=1)  # fmt: skip
        return ok

    def stop(self) -> None:
        ctl = shutil.which("rabbitmqctl")
        if self.server is not None and ctl:
            run([ctl, "-n", "svc-e2e@localhost", "stop"], env=self.env, timeout=60)
            PROCS.stop(self.server, timeout=20)
        if self.epmd is not None:
            PROCS.stop(self.epmd, timeout=5)


class RedisServer:
    """A private redis-server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self, work: Path) -> None:
        self.dir = work
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        self.dir.mkdir(exist_ok=True)
        self.proc = PROCS.start(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
        return wait_until(lambda: run(["redis-cli", "-p", str(self.port), "ping"], timeout=5).stdout.strip()
                          == "PONG", timeout=10)  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            PROCS.stop(self.proc, timeout=10)
            self.proc = None


def _metric(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    return None


class WorkerCheck:
    def __init__(self, label: str, options: dict[str, str], work: Path, venv: Path, args) -> None:
        self.label, self.options, self.args = label, options, args
        self.service = work / label.replace("=", "-") / SERVICE
        self.venv = venv
        self.report: Report = args.report
        self.broker_env: dict[str, str] | None = {}

    def check(self, ok: bool | None, step: str, detail: str = "") -> bool:
        return self.report.record(ok, f"[{self.label}] {step}", detail)

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def generate(self) -> bool:
        self.service.parent.mkdir(parents=True, exist_ok=True)
        sets = [arg for name, value in self.options.items() for arg in ("--set", f"{name}={value}")]
        result = run(
            [self.args.svc, "new", SERVICE, "--variant", "worker", "--yes", "-o", str(self.service), *sets,
             *self.args.python.set_option()],  # fmt: skip
            timeout=60,
        )
        ok = result.returncode == 0 and (self.service / "app" / "worker.py").is_file()
        return self.check(ok, "svc new", "" if ok else tail(result.stderr + result.stdout))

    def audit(self) -> None:
        result = run([self.args.svc, "audit", "--format", "json", str(self.service)], timeout=120)
        try:
            findings = json.loads(result.stdout)["findings"]
        except (ValueError, KeyError):
            self.check(False, "svc audit", f"exit {result.returncode}: {tail(result.stderr)}")
            return
        summary = "; ".join(f"{f.get('code')} {f.get('name')}" for f in findings)
        self.check(result.returncode == 0 and not findings, "svc audit: zero findings", summary)

    def static(self) -> None:
        result = run([self.bin("hadolint"), "Dockerfile"], cwd=self.service, timeout=60)
        self.check(result.returncode == 0, "hadolint Dockerfile", tail(result.stdout + result.stderr))
        for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
            result = run([self.bin("ruff"), *args], cwd=self.service, timeout=120)
            self.check(result.returncode == 0, f"ruff {args[0]}", tail(result.stdout + result.stderr))
        result = run([self.bin("mypy")], cwd=self.service, timeout=300)
        self.check(result.returncode == 0, "mypy --strict (pyproject [tool.mypy])", tail(result.stdout + result.stderr))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "BROKER_URL")}
        return {**env, "REDIS_URL": self.args.redis_url, **(self.broker_env or {})}

    def pytest(self) -> None:
        if self.broker_env is None:
            result = run([self.bin("python"), "-m", "pytest", "-p", "no:cacheprovider", "-m", "not redis"],
                         cwd=self.service, env=self.env(), timeout=300)  # fmt: skip
            self.check(result.returncode == 0, "pytest (unit tests only: no RabbitMQ)", tail(result.stdout, 40))
            self.check(None, "pytest real-worker tests", "rabbitmq-server not installed")
            return
        result = run([self.bin("python"), "-m", "pytest", "-p", "no:cacheprovider"],
                     cwd=self.service, env=self.env(), timeout=300)  # fmt: skip
        summary = next((l.strip("= ") for l in reversed(result.stdout.splitlines()) if " in " in l), "")
        ok = result.returncode == 0 and "skipped" not in summary and "deselected" not in summary
        self.check(ok, "pytest (real worker on the broker, none skipped)", summary if ok else tail(result.stdout, 40))
        self.report.figures.append(f"{self.label}: pytest {summary}")

    def run_worker(self, work: Path) -> None:
        if self.broker_env is None:
            self.check(None, "prefork worker as in the Dockerfile", "rabbitmq-server not installed")
            return
        tmp = work / f"run-{self.options['broker']}"
        tmp.mkdir()
        queue, port = f"e2e-{uuid.uuid4().hex[:8]}", free_port()
        heartbeat = tmp / "heartbeat"
        env = {**self.env(), "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"), "METRICS_PORT": str(port),
               "HEARTBEAT_FILE": str(heartbeat), "HEARTBEAT_INTERVAL_SECONDS": "1",
               "WORKER_CONCURRENCY": "2", "SERVICE_NAME": f"e2e-{queue}"}  # fmt: skip
        # The Dockerfile's CMD, plus a private queue and node name.
        command = [self.bin("celery"), "-A", "app.worker", "worker", "--loglevel=INFO", "--without-gossip",
                   "--without-mingle", "-Q", queue, "-n", f"{queue}@%h"]  # fmt: skip
        log_path = tmp / "worker.log"
        with log_path.open("wb") as log:
            proc = PROCS.start(command, cwd=self.service, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                up = wait_until(heartbeat.exists, timeout=30)
                if not self.check(up, "prefork worker starts, heartbeat written", "" if up else tail(log_path.read_text())):
                    return
                probe = run([self.bin("python"), "-m", "app.liveness"], cwd=self.service, env=env, timeout=30)
                self.check(probe.returncode == 0, "liveness command (HEALTHCHECK / exec probe) passes",
                           tail(probe.stderr))  # fmt: skip
                order = uuid.uuid4().hex
                produced = run([self.bin("python"), "-c", PRODUCER, order, queue], cwd=self.service,
                               env=self.env(), timeout=60)  # fmt: skip
                out = (produced.stdout.strip().splitlines() or ["{}"])[-1]
                data = json.loads(out) if produced.returncode == 0 else {}
                self.check(data.get("result", {}).get("status") == "processed",
                           "task enqueued by a producer runs", tail(produced.stderr + out))  # fmt: skip
                time.sleep(0.5)
                lines = []
                for line in log_path.read_text().splitlines():
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        continue
                done = [l for l in lines if l.get("event") == "order_processed" and l.get("order_id") == order]
                self.check(bool(done) and done[0].get("trace_id") == data.get("trace_id") and bool(done[0].get("task_id")),
                           "JSON log line with task_id and the producer's trace_id",
                           f"{done[:1]} vs {data.get('trace_id')}")  # fmt: skip
                metrics = ""
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                        metrics = response.read().decode()
                except OSError as exc:
                    metrics = repr(exc)
                sample = 'celery_tasks_total{outcome="succeeded",task="orders.process"} 1.0'
                self.check(sample in metrics and "celery_task_duration_seconds_bucket" in metrics,
                           "pool processes' task metrics served on METRICS_PORT",
                           tail("\n".join(l for l in metrics.splitlines() if "celery_tasks" in l)))  # fmt: skip
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    code = None
                self.check(code == 0 and not heartbeat.exists(), "SIGTERM: warm shutdown, exit 0, heartbeat removed",
                           f"exit {code} after {time.monotonic() - started:.1f}s")  # fmt: skip
            finally:
                PROCS.stop(proc, timeout=20)

    def broker_outage(self, work: Path, rabbit: RabbitMQ) -> None:
        """The worker outlives a broker outage three times its liveness window (F-B4)."""
        step = f"broker stopped {OUTAGE_SECONDS}s (liveness window {LIVENESS_WINDOW_SECONDS}s)"
        if self.broker_env is None:
            self.check(None, step, "rabbitmq-server not installed")
            return
        tmp = work / f"outage-{self.options['broker']}"
        tmp.mkdir()
        redis = None
        env = self.env()
        if self.options["broker"] == "redis":
            # The shared Redis serves other checks: stop a private one instead.
            redis = RedisServer(tmp / "redis")
            if not self.check(redis.start(), "private redis-server for the outage"):
                return
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"

            def stop_broker() -> bool:
                redis.stop()
                return True

            start_broker = redis.start
        else:
            ctl = shutil.which("rabbitmqctl") or "rabbitmqctl"
            node = ["-n", "svc-e2e@localhost"]

            def stop_broker() -> bool:
                return run([ctl, *node, "stop_app"], env=rabbit.env, timeout=60).returncode == 0

            def start_broker() -> bool:
                return run([ctl, *node, "start_app"], env=rabbit.env, timeout=90).returncode == 0

        queue, port = f"e2e-{uuid.uuid4().hex[:8]}", free_port()
        heartbeat = tmp / "heartbeat"
        env.update({"PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"), "METRICS_PORT": str(port),
                    "HEARTBEAT_FILE": str(heartbeat), "HEARTBEAT_INTERVAL_SECONDS": "1",
                    "HEARTBEAT_MAX_AGE_SECONDS": str(LIVENESS_WINDOW_SECONDS), "WORKER_CONCURRENCY": "1",
                    "SERVICE_NAME": f"e2e-{queue}"})  # fmt: skip
        command = [self.bin("celery"), "-A", "app.worker", "worker", "--loglevel=INFO", "--without-gossip",
                   "--without-mingle", "-Q", queue, "-n", f"{queue}@%h"]  # fmt: skip
        log_path = tmp / "worker.log"
        produce = [self.bin("python"), "-c", PRODUCER]

        def task_runs(timeout: float) -> bool:
            order = uuid.uuid4().hex
            producer_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
            done = run([*produce, order, queue], cwd=self.service, env=producer_env, timeout=timeout)
            lines = done.stdout.strip().splitlines() or ["{}"]
            return done.returncode == 0 and json.loads(lines[-1]).get("result", {}).get("status") == "processed"

        with log_path.open("wb") as log:
            proc = PROCS.start(command, cwd=self.service, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                up = wait_until(heartbeat.exists, timeout=30)
                if not self.check(up and task_runs(60), "outage worker up, runs a task",
                                  "" if up else tail(log_path.read_text())):  # fmt: skip
                    return
                connected = _metric(port, "celery_worker_broker_connected")
                self.check(connected == 1.0, "celery_worker_broker_connected is 1 while connected", f"{connected}")
                if not self.check(stop_broker(), "broker stopped"):
                    return
                stopped, probes, failures, gauge = time.monotonic(), 0, [], []
                while time.monotonic() - stopped < OUTAGE_SECONDS:
                    probe = run([self.bin("python"), "-m", "app.liveness"], cwd=self.service, env=env, timeout=30)
                    probes += 1
                    if probe.returncode != 0:
                        age = time.time() - heartbeat.stat().st_mtime if heartbeat.exists() else None
                        failures.append(f"+{time.monotonic() - stopped:.1f}s (age {age})")
                    gauge.append(_metric(port, "celery_worker_broker_connected"))
                    time.sleep(0.3)
                outage = time.monotonic() - stopped
                self.check(not failures and proc.poll() is None, step,
                           f"{probes} probes over {outage:.1f}s, failed at {failures[:5]}, "
                           f"worker exit {proc.poll()}")  # fmt: skip
                self.check(0.0 in gauge, "celery_worker_broker_connected is 0 during the outage", f"{gauge[-5:]}")
                if not self.check(start_broker(), "broker started again"):
                    return
                back = time.monotonic()
                ok = task_runs(120)
                self.check(ok, "a task enqueued after the outage runs",
                           f"{time.monotonic() - back:.1f}s after the broker returned"
                           if ok else tail(log_path.read_text()))  # fmt: skip
                self.report.figures.append(f"{self.label}: outage {outage:.1f}s, {probes} liveness probes, "
                                           f"{len(failures)} failed; task ran {time.monotonic() - back:.1f}s "
                                           "after the broker returned")  # fmt: skip
            finally:
                PROCS.stop(proc, timeout=20)
                if redis is not None:
                    redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--broker", choices=[o["broker"] for _, o in COMBOS], help="check only this broker")
    args = parser.parse_args()
    args.report = report = Report()
    started = time.monotonic()
    args.svc = str(Path(os.environ.get("SVC_BIN", REPO / "target/debug/svc")).resolve())
    args.redis_url = os.environ.get("REDIS_URL", "")
    if not Path(args.svc).is_file():
        report.record(False, "precondition", f"svc binary at {args.svc}")
    if not args.redis_url.startswith("redis://127.0.0.1"):
        report.record(False, "precondition", "REDIS_URL=redis://127.0.0.1:PORT/DB")
    args.python = pythons.for_template(REPO / "templates" / "worker")
    if args.python is None:
        report.record(False, "precondition", pythons.missing(REPO / "templates" / "worker"))
    os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "svc-e2e" / "pip"))
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    work = Path(tempfile.mkdtemp(prefix="svc-e2e-worker-"))
    rabbit_dir = Path(tempfile.mkdtemp(prefix="svc-e2e-rabbitmq-"))
    rabbit = RabbitMQ(rabbit_dir / "node")
    os.chmod(rabbit_dir, 0o755)  # noqa: PTH101 - the rabbitmq user must reach its directory
    try:
        if report.failed == 0:
            combos = [(label, o) for label, o in COMBOS if args.broker in (None, o["broker"])]
            checks = [WorkerCheck(label, options, work, work / "venv", args) for label, options in combos]
            generated = [c for c in checks if c.generate()]
            for c in generated:
                c.audit()
            t0 = time.monotonic()
            rabbit_up = rabbit.start()
            if rabbit_up is None:
                report.record(None, "RabbitMQ node on 127.0.0.1", "rabbitmq-server not installed")
            else:
                report.record(rabbit_up, "RabbitMQ node on 127.0.0.1", f"{time.monotonic() - t0:.0f}s")
            for c in generated:
                if c.options["broker"] == "rabbitmq":
                    c.broker_env = {"BROKER_URL": rabbit.url} if rabbit_up else None
            if generated:
                # One venv for all: the dependencies do not depend on the broker.
                t0 = time.monotonic()
                steps = [
                    [args.python.path, "-m", "venv", str(work / "venv")],
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                    # The generated lock, every file checked against its hash; not the package
                    # itself: each service runs its own app/.
                    [str(work / "venv/bin/python"), "-m", "pip", "install", "-q", "--require-hashes",
                     "-r", str(generated[0].service / "requirements-dev.txt")],  # fmt: skip
                ]
                ok = True
                for step in steps:
                    result = run(step, timeout=900)
                    if result.returncode != 0:
                        ok = report.record(False, "shared venv + pip install --require-hashes -r requirements-dev.txt", tail(result.stderr))
                        break
                if ok and report.record(True, "shared venv + pip install --require-hashes -r requirements-dev.txt", f"{time.monotonic() - t0:.0f}s"):
                    for c in generated:
                        c.static()
                        c.pytest()
                        c.run_worker(work)
                        c.broker_outage(work, rabbit)
    except Exception as exc:  # noqa: BLE001 - a bug here is one failure, not a crash
        report.record(False, "check script", "".join(traceback.format_exception(exc)))
    finally:
        rabbit.stop()
        PROCS.stop_all()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(rabbit_dir, ignore_errors=True)
    print()
    for figure in report.figures:
        print(f"  {figure}")
    print(f"  total {time.monotonic() - started:.0f}s")
    for failure in report.failures:
        print(f"  failed: {failure.splitlines()[0]}")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
