"""Prometheus task metrics, recorded from Celery signals and served by the worker itself.

With the default prefork pool, tasks run in child processes: set PROMETHEUS_MULTIPROC_DIR (the
Dockerfile does, to a directory under /tmp) and the parent serves the children's samples
aggregated. Without it (solo or threads pool, tests) the process serves its own registry.
"""

import os
import shutil
import time
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

from celery import Task
from celery.exceptions import TimeLimitExceeded
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

TASKS = Counter(
    "celery_tasks_total",
    "Tasks by outcome: started, succeeded, failed, retried",
    ["task", "outcome"],
)
DURATION = Histogram(
    "celery_task_duration_seconds",
    "Wall time of one task attempt, from prerun to postrun",
    ["task", "state"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

_STARTED_AT = "svc_started_at"


class _HardLimitFailures:
    """Task ids already counted as failed by a hard time limit, the most recent ones only.

    Celery sends task_failure twice for one hard time limit: from the timeout handler and
    again when the pool reports the killed process. Both run in the main worker process.
    """

    def __init__(self, keep: int = 1024) -> None:
        self.keep = keep
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, task_id: str) -> bool:
        if task_id in self._ids:
            return False
        self._ids[task_id] = None
        while len(self._ids) > self.keep:
            self._ids.popitem(last=False)
        return True


_HARD_LIMITS = _HardLimitFailures()


def _multiproc_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def serve_metrics(port: int) -> None:
    """Start the /metrics endpoint in this (the main worker) process; port 0 turns it off."""
    if port == 0:
        return
    directory = _multiproc_dir()
    if directory is None:
        start_http_server(port, registry=REGISTRY)
        return
    # Samples of a previous run's processes would be counted again: start from empty.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry()
    # prometheus_client leaves these two untyped.
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, registry=registry)


def pool_process_exited(pid: int) -> None:
    if _multiproc_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def task_started(task: Task[Any, Any]) -> None:
    setattr(task.request, _STARTED_AT, time.perf_counter())
    TASKS.labels(task.name, "started").inc()


def task_finished(task: Task[Any, Any], state: str | None) -> None:
    started = getattr(task.request, _STARTED_AT, None)
    if started is not None:
        DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)


def task_outcome(sender: Any, outcome: str) -> None:
    name = getattr(sender, "name", None) or str(sender)
    TASKS.labels(name, outcome).inc()


def task_failed(sender: Any, task_id: str | None, exception: BaseException | None) -> None:
    hard_limit = isinstance(exception, TimeLimitExceeded) and task_id is not None
    if hard_limit and not _HARD_LIMITS.first_time(str(task_id)):
        return
    task_outcome(sender, "failed")


@cache
def _broker_gauge() -> Gauge:
    # Created on first use, in the main process once serve_metrics has prepared the multiprocess
    # directory: a gauge without labels writes its sample file as soon as it exists.
    return Gauge(
        "celery_worker_broker_connected",
        "1 while the consumer is connected to the broker, 0 while it reconnects",
        # Only the main process connects; "livemax" ignores the samples of exited processes.
        multiprocess_mode="livemax",
    )


def broker_connected(connected: bool) -> None:
    _broker_gauge().set(1 if connected else 0)
