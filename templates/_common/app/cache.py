"""A small JSON cache in Redis, shared by every replica.

Cache failures degrade to a miss: a cache must never be the reason a request fails.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


class Cache:
    def __init__(self, redis: Redis, *, namespace: str, default_ttl: int) -> None:
        self._redis = redis
        self._namespace = namespace
        self._default_ttl = default_ttl

    def _key(self, key: str) -> str:
        return f"{self._namespace}:cache:{key}"

    async def get(self, key: str) -> Any | None:
        try:
            raw = await self._redis.get(self._key(key))
        except (RedisError, OSError) as exc:
            log.warning("cache_unavailable", operation="get", key=key, error=str(exc))
            return None
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, ttl: int | None = None) -> None:
        try:
            # SET with EX, not SETEX: redis-py 8 deprecates setex.
            await self._redis.set(self._key(key), json.dumps(value), ex=ttl or self._default_ttl)
        except (RedisError, OSError) as exc:
            log.warning("cache_unavailable", operation="set", key=key, error=str(exc))

    async def get_or_set(
        self, key: str, compute: Callable[[], Awaitable[Any]], *, ttl: int | None = None
    ) -> Any:
        cached = await self.get(key)
        if cached is not None:
            return cached
        value = await compute()
        await self.set(key, value, ttl=ttl)
        return value


# async: FastAPI would run a plain `def` dependency in its thread pool, on every request.
async def get_cache(request: Request) -> Cache:
    cache: Cache = request.state.cache
    return cache


CacheDep = Annotated[Cache, Depends(get_cache)]
