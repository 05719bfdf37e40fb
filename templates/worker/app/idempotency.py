"""Idempotency keys in Redis: a task redelivered after it finished runs its work only once.

acks_late means a message is acknowledged after the task, so a worker crash redelivers it: at
least once. A key per unit of work (`SET key NX EX`) turns that into effectively once:

- claim: SET "running" NX with a TTL just above the hard time limit, so a crashed attempt's
  claim expires and the redelivery can run;
- complete: SET "done" with IDEMPOTENCY_TTL_SECONDS: later deliveries are skipped;
- release on failure, so Celery's retry can claim again.
"""

from enum import StrEnum
from functools import lru_cache

from redis import Redis

from app.settings import Settings, get_settings

RUNNING = "running"
DONE = "done"


class Claim(StrEnum):
    ACQUIRED = "acquired"
    DONE = "done"
    IN_FLIGHT = "in_flight"


class DuplicateInFlightError(Exception):
    """Another worker holds the claim right now: retry later (it is a transient error)."""


@lru_cache(maxsize=1)
def get_redis() -> Redis:
    """One connection pool per process; redis-py rebuilds it in forked pool processes."""
    settings = get_settings()
    return Redis.from_url(
        str(settings.redis_url),
        socket_connect_timeout=settings.redis_socket_timeout,
        socket_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        decode_responses=True,
    )


class IdempotencyKeys:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._namespace = settings.service_name
        self._running_ttl = settings.task_time_limit + 30
        self._done_ttl = settings.idempotency_ttl_seconds

    def _key(self, key: str) -> str:
        return f"{self._namespace}:idempotency:{key}"

    def claim(self, key: str) -> Claim:
        if self._redis.set(self._key(key), RUNNING, nx=True, ex=self._running_ttl):
            return Claim.ACQUIRED
        return Claim.DONE if self._redis.get(self._key(key)) == DONE else Claim.IN_FLIGHT

    def complete(self, key: str) -> None:
        self._redis.set(self._key(key), DONE, ex=self._done_ttl)

    def release(self, key: str) -> None:
        self._redis.delete(self._key(key))


def idempotency_keys() -> IdempotencyKeys:
    return IdempotencyKeys(get_redis(), get_settings())
