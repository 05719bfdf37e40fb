"""Tasks. Copy the decorator of `process_order` for new ones: every option there matters.

- autoretry_for lists transient errors only (network, timeouts, a duplicate in flight):
  retrying a bug or bad input changes nothing, so those fail at once;
- bounded retries (TASK_MAX_RETRIES) with exponential backoff capped at
  TASK_RETRY_BACKOFF_MAX and full jitter, so a recovering dependency is not hit in lockstep;
- acks_late + reject_on_worker_lost: a task lost with its process is redelivered, which is
  safe because the work is guarded by an idempotency key in Redis;
- soft and hard time limits: SoftTimeLimitExceeded lets the task clean up, then it is killed.
"""

from typing import Any

import structlog
from celery import Task
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.idempotency import Claim, DuplicateInFlightError, idempotency_keys
from app.settings import get_settings
from app.worker import celery_app

log = structlog.get_logger(__name__)
settings = get_settings()


class TransientError(Exception):
    """A dependency failed in a way that may succeed later (timeout, 503, connection reset)."""


TRANSIENT_ERRORS = (
    TransientError,
    DuplicateInFlightError,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
)


def charge(order_id: str, amount_cents: int) -> str:
    """The side effect to protect: replace with the real call (payment provider, email, ...).

    Raise TransientError for failures worth retrying; anything else fails the task at once.
    """
    if amount_cents <= 0:
        raise ValueError(f"amount must be positive, got {amount_cents}")
    return f"charge-{order_id}"


@celery_app.task(
    bind=True,
    name="orders.process",
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
def process_order(self: Task[Any, Any], order_id: str, amount_cents: int) -> dict[str, Any]:
    # Keyed by the business key, not the task id: enqueuing the same order twice is a no-op too.
    key = f"process_order:{order_id}"
    keys = idempotency_keys()
    claim = keys.claim(key)
    if claim is Claim.DONE:
        log.info("order_already_processed", order_id=order_id)
        return {"order_id": order_id, "status": "duplicate"}
    if claim is Claim.IN_FLIGHT:
        raise DuplicateInFlightError(key)
    try:
        charge_id = charge(order_id, amount_cents)
    except BaseException:
        keys.release(key)
        raise
    keys.complete(key)
    log.info(
        "order_processed", order_id=order_id, charge_id=charge_id, attempt=self.request.retries
    )
    return {"order_id": order_id, "status": "processed", "charge_id": charge_id}
