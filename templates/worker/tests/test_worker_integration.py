"""A real worker process on a real Redis: the path production takes, end to end.

Marked `redis`: runs only when the servers are configured (see tests/conftest.py).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from app.worker import celery_app

pytestmark = pytest.mark.redis

MAX_RETRIES = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], queue: str, heartbeat: Path, port: int):
        self.process, self.queue, self.heartbeat, self.metrics_port = (
            process,
            queue,
            heartbeat,
            port,
        )

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body.decode()


@contextmanager
def _start_worker(tmp_path: Path, pool: str) -> Iterator[Worker]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    heartbeat = tmp_path / "heartbeat"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        TASK_MAX_RETRIES=str(MAX_RETRIES),
        TASK_RETRY_BACKOFF_MAX="1",
        HEARTBEAT_FILE=str(heartbeat),
        HEARTBEAT_INTERVAL_SECONDS="1",
        METRICS_PORT=str(port),
    )
    command = [sys.executable, "-m", "celery", "-A", "app.worker", "worker", f"--pool={pool}",
               "--concurrency=1",
               "-I", "tests.failing_tasks", "-Q", queue, "-n", f"{queue}@%h",
               "--without-gossip", "--without-mingle", "--loglevel=INFO"]  # fmt: skip
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not heartbeat.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.1)
        yield Worker(process, queue, heartbeat, port)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    # The solo pool runs tasks in the worker process itself: quick to start, easy to stop.
    with _start_worker(tmp_path, "solo") as started:
        yield started


@pytest.fixture
def prefork_worker(tmp_path: Path) -> Iterator[Worker]:
    # Only a pool with child processes enforces the hard time limit (it kills the child).
    with _start_worker(tmp_path, "prefork") as started:
        yield started


def test_a_real_worker_runs_an_enqueued_task_once(worker: Worker) -> None:
    order_id = uuid.uuid4().hex
    first = celery_app.send_task("orders.process", args=[order_id, 500], queue=worker.queue)
    assert first.get(timeout=30)["status"] == "processed"
    again = celery_app.send_task("orders.process", args=[order_id, 500], queue=worker.queue)
    assert again.get(timeout=30)["status"] == "duplicate"
    assert first.state == "SUCCESS"


def test_a_failing_task_is_retried_then_recorded_as_failed(worker: Worker) -> None:
    attempts_key = f"test:attempts:{uuid.uuid4().hex}"
    result = celery_app.send_task("tests.always_transient", args=[attempts_key], queue=worker.queue)
    result.get(timeout=60, propagate=False)
    assert result.state == "FAILURE"
    assert "TransientError" in str(result.traceback or "")
    redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    try:
        assert redis.get(attempts_key) == str(MAX_RETRIES + 1)
        redis.delete(attempts_key)
    finally:
        redis.close()
    metrics = worker.metrics()
    retried = f'celery_tasks_total{{outcome="retried",task="tests.always_transient"}} {MAX_RETRIES}'
    assert retried in metrics
    assert 'celery_tasks_total{outcome="failed",task="tests.always_transient"} 1.0' in metrics


def test_sigterm_is_a_warm_shutdown(worker: Worker) -> None:
    probe = subprocess.run(  # the liveness command the probes run
        [sys.executable, "-m", "app.liveness"],
        env={**os.environ, "HEARTBEAT_FILE": str(worker.heartbeat)},
        check=False,
    )
    assert probe.returncode == 0
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=20) == 0
    assert not worker.heartbeat.exists()


def test_a_hard_time_limit_counts_one_failure(prefork_worker: Worker) -> None:
    result = celery_app.send_task("tests.past_hard_limit", queue=prefork_worker.queue)
    result.get(timeout=60, propagate=False)
    assert result.state == "FAILURE"
    assert "TimeLimitExceeded" in repr(result.result)
    # Celery reports a hard time limit twice (timeout handler, then the killed process).
    deadline = time.monotonic() + 10
    failed = 'celery_tasks_total{outcome="failed",task="tests.past_hard_limit"}'
    while failed not in prefork_worker.metrics() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the second report arrives after the first: give it time to be counted
    assert f"{failed} 1.0" in prefork_worker.metrics()
