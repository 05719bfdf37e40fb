"""Prometheus task metrics, recorded from Celery signals and served by the worker itself.

With the default prefork pool, tasks run in child processes: set PROMETHEUS_MULTIPROC_DIR (the
Dockerfile does, to a directory under /tmp) and the parent serves the children's samples
aggregated. Without it (solo or threads pool, tests) the process serves its own registry.
"""

import os
import shutil
import time
from pathlib import Path
from typing import Any

from celery import Task
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
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
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)


def pool_process_exited(pid: int) -> None:
    if _multiproc_dir() is not None:
        multiprocess.mark_process_dead(pid)


def task_started(task: Task) -> None:
    setattr(task.request, _STARTED_AT, time.perf_counter())
    TASKS.labels(task.name, "started").inc()


def task_finished(task: Task, state: str | None) -> None:
    started = getattr(task.request, _STARTED_AT, None)
    if started is not None:
        DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)


def task_outcome(sender: Any, outcome: str) -> None:
    name = getattr(sender, "name", None) or str(sender)
    TASKS.labels(name, outcome).inc()
