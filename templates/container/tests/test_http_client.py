"""The resilient client against an httpx MockTransport: which failures are retried, and when
the circuit opens."""

from collections.abc import Callable

import anyio
import httpx2
import pytest

from app.http_client import ResilientClient, UpstreamError, create_http_client
from app.settings import Settings

URL = "http://inventory.test/stock/1"
Handler = Callable[[httpx2.Request], httpx2.Response]


class Upstream:
    """Plays back a script of responses (or exceptions) and counts the calls."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return httpx2.Response(step, json={"call": self.calls})


def _client(settings: Settings, handler: Handler) -> ResilientClient:
    return ResilientClient(
        create_http_client(settings, transport=httpx2.MockTransport(handler)), settings
    )


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retries_retryable_statuses_then_succeeds(settings: Settings, status: int) -> None:
    upstream = Upstream(status, status, 200)

    response = await _client(settings, upstream).request("GET", URL)

    assert response.status_code == 200
    assert upstream.calls == 3


@pytest.mark.anyio
async def test_retries_timeouts(settings: Settings) -> None:
    upstream = Upstream(httpx2.ReadTimeout("slow"), httpx2.ConnectError("refused"), 200)

    response = await _client(settings, upstream).request("GET", URL)

    assert response.status_code == 200
    assert upstream.calls == 3


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 404, 500])
async def test_other_statuses_are_answers_not_retried(settings: Settings, status: int) -> None:
    upstream = Upstream(status, 200)

    response = await _client(settings, upstream).request("GET", URL)

    assert response.status_code == status
    assert upstream.calls == 1


@pytest.mark.anyio
async def test_gives_up_after_the_configured_attempts(
    make_settings: Callable[..., Settings],
) -> None:
    upstream = Upstream(503)
    client = _client(make_settings(http_retry_attempts=3), upstream)

    with pytest.raises(UpstreamError, match="HTTP 503 after retries"):
        await client.request("GET", URL, upstream="inventory")
    assert upstream.calls == 3


@pytest.mark.anyio
async def test_circuit_opens_after_threshold_and_fails_fast(
    make_settings: Callable[..., Settings],
) -> None:
    upstream = Upstream(503)
    settings = make_settings(http_retry_attempts=1, http_breaker_threshold=2)
    client = _client(settings, upstream)

    for _ in range(2):
        with pytest.raises(UpstreamError, match="after retries"):
            await client.request("GET", URL, upstream="inventory")
    with pytest.raises(UpstreamError, match="circuit open"):
        await client.request("GET", URL, upstream="inventory")

    assert upstream.calls == 2  # the open circuit did not call the upstream


@pytest.mark.anyio
async def test_server_errors_are_not_retried_but_open_the_circuit(
    make_settings: Callable[..., Settings],
) -> None:
    upstream = Upstream(500)
    client = _client(make_settings(http_breaker_threshold=2), upstream)

    answers = [await client.request("GET", URL, upstream="inventory") for _ in range(2)]
    with pytest.raises(UpstreamError, match="circuit open"):
        await client.request("GET", URL, upstream="inventory")

    assert [answer.status_code for answer in answers] == [500, 500]
    assert upstream.calls == 2  # one attempt each, and none once the circuit opened


@pytest.mark.anyio
async def test_breakers_are_per_upstream(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(http_retry_attempts=1, http_breaker_threshold=1)
    client = _client(settings, Upstream(503))

    with pytest.raises(UpstreamError):
        await client.request("GET", URL, upstream="inventory")
    with pytest.raises(UpstreamError, match="after retries"):  # not "circuit open"
        await client.request("GET", "http://pricing.test/", upstream="pricing")


@pytest.mark.anyio
async def test_overall_deadline_bounds_all_attempts(make_settings: Callable[..., Settings]) -> None:
    async def hangs(request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep(5)
        return httpx2.Response(200)

    client = ResilientClient(
        create_http_client(make_settings(), transport=httpx2.MockTransport(hangs)),
        make_settings(http_deadline=0.2),
    )

    with anyio.fail_after(2):
        with pytest.raises(UpstreamError, match="no answer within"):
            await client.request("GET", URL)
