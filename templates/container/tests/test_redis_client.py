"""The Redis client's failure budget: a Redis that hangs must not hold a request for long."""

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.redis_client import create_redis
from app.settings import Settings


@pytest.mark.anyio
async def test_a_hung_redis_costs_one_socket_timeout_per_command(
    make_settings: Callable[..., Settings],
) -> None:
    # Accepts connections and never answers: a frozen Redis, or a network dropping packets.
    held: list[asyncio.StreamWriter] = []

    async def hang(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = make_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_socket_timeout=0.2)
    redis = create_redis(settings)
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await redis.get("key")
        elapsed = time.monotonic() - started
    finally:
        await redis.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert elapsed < 0.4  # one timeout: timeouts are not retried (dropped connections are)
