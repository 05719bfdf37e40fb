"""The one outbound HTTP client of the process, with the resilience every remote call needs.

- explicit connect/read timeouts on the shared client (one connection pool, reused);
- retries with jittered exponential backoff (stamina) on timeouts, network errors, 429 and
  502/503/504 only: other statuses are answers, and repeating a 400 or a 500 changes nothing;
- a circuit breaker per upstream (purgatory), so a dead upstream fails fast instead of
  tying up workers: every failed attempt counts (timeouts, network errors, and any 5xx or 429,
  retried or not); its state is per process, which is what a breaker needs: each replica judges
  the upstream by what it sees itself;
- an overall deadline that bounds all attempts together.
"""

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

import httpx2
import stamina
from fastapi import Depends, Request
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from app.errors import UpstreamError
from app.settings import Settings

__all__ = ["HttpDep", "ResilientClient", "UpstreamError", "create_http_client", "get_http"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Cap what a server may ask us to wait through Retry-After: the deadline still applies.
MAX_RETRY_AFTER_SECONDS = 5.0


class _RetryableStatus(Exception):  # noqa: N818 - internal signal, not an error for callers
    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _ServerError(Exception):
    """A 5xx that is an answer for the caller (not retried), and a failure for the breaker."""

    def __init__(self, response: httpx2.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retry_hook(exc: Exception) -> bool | float:
    """Tell stamina whether to retry, and honour a short Retry-After."""
    if isinstance(exc, _RetryableStatus):
        retry_after = exc.response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), MAX_RETRY_AFTER_SECONDS)
        return True
    return isinstance(
        exc, httpx2.TimeoutException | httpx2.NetworkError | httpx2.RemoteProtocolError
    )


def create_http_client(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(
            connect=settings.http_connect_timeout,
            read=settings.http_read_timeout,
            write=settings.http_read_timeout,
            pool=settings.http_connect_timeout,
        ),
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
        transport=transport,
    )


class ResilientClient:
    """Wraps the shared AsyncClient; build one per app in the lifespan."""

    def __init__(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        self._client = client
        self._attempts = settings.http_retry_attempts
        self._deadline = settings.http_deadline
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.http_breaker_threshold,
            default_ttl=settings.http_breaker_ttl,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        upstream: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx2.Response:
        """Send a request; return the response unless it is one to retry and retries ran out.

        Only use it with idempotent requests (GET, PUT, DELETE, or POST with an idempotency key):
        a retry repeats the request.
        """
        name = upstream or httpx2.URL(url).host
        try:
            async with asyncio.timeout(self._deadline):
                async for attempt in stamina.retry_context(
                    on=_retry_hook,
                    attempts=self._attempts,
                    timeout=self._deadline,
                    wait_initial=0.1,
                    wait_max=2.0,
                ):
                    with attempt:
                        return await self._attempt(name, method, url, headers=headers, **kwargs)
        except OpenedState as exc:
            raise UpstreamError(name, "circuit open") from exc
        except TimeoutError as exc:
            raise UpstreamError(name, f"no answer within {self._deadline}s") from exc
        except _RetryableStatus as exc:
            raise UpstreamError(name, f"HTTP {exc.response.status_code} after retries") from exc
        except httpx2.TransportError as exc:
            raise UpstreamError(name, type(exc).__name__) from exc
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _attempt(self, name: str, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        breaker = await self._breakers.get_breaker(name)
        try:
            async with breaker:
                response = await self._client.request(method, url, **kwargs)
                if response.status_code in RETRYABLE_STATUSES:
                    await response.aclose()
                    raise _RetryableStatus(response)
                if response.is_server_error:
                    # Raised through the breaker so that it counts: an upstream answering only
                    # 500s is as down as one that does not answer.
                    raise _ServerError(response)
                return response
        except _ServerError as exc:
            return exc.response


# async: FastAPI would run a plain `def` dependency in its thread pool, on every request.
async def get_http(request: Request) -> ResilientClient:
    http: ResilientClient = request.state.http
    return http


HttpDep = Annotated[ResilientClient, Depends(get_http)]
