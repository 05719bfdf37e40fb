"""One Redis connection pool per process, opened and closed by the app lifespan."""

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from app.settings import Settings


def create_redis(settings: Settings) -> Redis:
    # Short timeouts: a slow Redis must fail the request quickly, not hold it for minutes.
    return Redis.from_url(
        str(settings.redis_url),
        socket_connect_timeout=settings.redis_socket_timeout,
        socket_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        # Reconnect once or twice on a dropped connection (failover, idle timeout), with jitter.
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
        decode_responses=True,
    )


async def redis_is_up(redis: Redis, *, deadline: float = 1.0) -> bool:
    try:
        async with asyncio.timeout(deadline):
            return bool(await redis.ping())
    except (RedisError, OSError, TimeoutError):
        return False


# async: FastAPI would run a plain `def` dependency in its thread pool, on every request.
async def get_redis(request: Request) -> Redis:
    return request.state.redis


RedisDep = Annotated[Redis, Depends(get_redis)]
