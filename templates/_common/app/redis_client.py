"""One Redis connection pool per process, opened and closed by the app lifespan."""

import asyncio
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.settings import Settings

log = structlog.get_logger(__name__)


def create_redis(settings: Settings) -> Redis:
    # Short timeouts: a slow Redis must fail the request quickly, not hold it for minutes.
    return Redis.from_url(
        str(settings.redis_url),
        socket_connect_timeout=settings.redis_socket_timeout,
        socket_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        # Reconnect once or twice on a dropped connection (failover, idle timeout), with jitter.
        # Not on a timeout: a hung Redis would hold every command three times as long, and a
        # command that timed out may have run.
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=0.5),
            retries=2,
            supported_errors=(RedisConnectionError,),
        ),
        decode_responses=True,
    )


async def redis_is_up(redis: Redis, *, deadline: float = 1.0) -> bool:
    try:
        async with asyncio.timeout(deadline):
            return bool(await redis.ping())
    except (RedisError, OSError, TimeoutError):
        return False


async def _redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Redis unreachable (or too slow) after the client's own reconnect attempts: the data this
    # route needs is not available right now. Readiness is 503 too, so the pod gets drained.
    log.warning("redis_unavailable", path=request.url.path, error=str(exc))
    return JSONResponse(
        {"detail": "Storage unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def install_redis_error_handler(app: FastAPI) -> None:
    """Answer 503 with Retry-After, not a 500, when a route cannot reach Redis.

    Only connection and timeout errors: any other RedisError (a WRONGTYPE, a script error) is a
    bug and stays a 500.
    """
    app.add_exception_handler(RedisConnectionError, _redis_unavailable)
    app.add_exception_handler(RedisTimeoutError, _redis_unavailable)


# async: FastAPI would run a plain `def` dependency in its thread pool, on every request.
async def get_redis(request: Request) -> Redis:
    redis: Redis = request.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(get_redis)]
