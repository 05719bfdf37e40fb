"""Tasks that fail on purpose, for the real-worker tests (loaded with `-I tests.failing_tasks`)."""

import time
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from app.idempotency import get_redis
from app.settings import get_settings
from app.tasks import TRANSIENT_ERRORS, TransientError
from app.worker import celery_app

settings = get_settings()


@celery_app.task(
    bind=True,
    name="tests.always_transient",
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=settings.task_max_retries,
    retry_backoff=True,
    retry_backoff_max=settings.task_retry_backoff_max,
    retry_jitter=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.task_soft_time_limit,
    time_limit=settings.task_time_limit,
)
def always_transient(self: Task[Any, Any], attempts_key: str) -> None:
    # Counted in Redis, where the test can read it: the worker is another process.
    get_redis().incr(attempts_key)
    raise TransientError("upstream unavailable")


@celery_app.task(name="tests.past_hard_limit", soft_time_limit=1, time_limit=2, acks_late=True)
def past_hard_limit() -> None:
    # Ignores the soft limit, so the pool kills the process at the hard limit.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except SoftTimeLimitExceeded:
            continue
