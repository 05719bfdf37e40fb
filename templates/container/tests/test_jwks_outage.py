"""The identity provider is not a single point of failure: cached keys outlive a failed refresh."""

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx2
import jwt
import pytest
from fastapi.testclient import TestClient

from app.security.auth import JWKS_RETRY_SECONDS, KeysUnavailableError, TokenVerifier
from app.settings import Settings
from tests.helpers import PRIVATE_KEY, bearer, make_token

MakeClient = Callable[..., AbstractContextManager[TestClient]]
JWKS_URL = "https://issuer.test/jwks.json"
CACHE_SECONDS = 60


def _jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PRIVATE_KEY.public_key()))
    return {"keys": [{**jwk, "kid": "key-1", "alg": "RS256", "use": "sig"}]}


class IdentityProvider:
    """A JWKS endpoint that answers, or fails the way an outage does; counts its fetches."""

    def __init__(self) -> None:
        self.fetches = 0
        self.failure: str | None = None

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.fetches += 1
        if self.failure == "refused":
            raise httpx2.ConnectError("connection refused", request=request)
        if self.failure == "500":
            return httpx2.Response(500, text="oops")
        if self.failure == "not json":
            return httpx2.Response(200, text="<html>maintenance</html>")
        return httpx2.Response(200, json=_jwks())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        jwt_public_key=None, jwt_jwks_url=JWKS_URL, jwt_jwks_cache_seconds=CACHE_SECONDS
    )


@pytest.mark.anyio
@pytest.mark.parametrize("failure", ["refused", "500", "not json"])
async def test_cached_keys_keep_serving_when_a_refresh_fails(
    make_settings: Callable[..., Settings], failure: str
) -> None:
    idp, clock = IdentityProvider(), Clock()
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(idp)) as http:
        verifier = TokenVerifier(_settings(make_settings), http, clock=clock)
        await verifier.verify(make_token(headers={"kid": "key-1"}, jti="a"))

        idp.failure = failure
        clock.now += CACHE_SECONDS + 1  # the keys are due for a refresh, which fails
        stale = await verifier.verify(make_token(headers={"kid": "key-1"}, jti="b"))
        # Negative caching: within JWKS_RETRY_SECONDS no request tries the issuer again.
        again = await verifier.verify(make_token(headers={"kid": "key-1"}, jti="c"))
        fetches_during_outage = idp.fetches

        idp.failure = None
        clock.now += JWKS_RETRY_SECONDS
        await verifier.verify(make_token(headers={"kid": "key-1"}, jti="d"))

    assert (stale.subject, again.subject) == ("alice", "alice")
    assert fetches_during_outage == 2  # the first fetch and one failed refresh
    assert idp.fetches == 3  # once the retry delay passed, the refresh was tried (and worked)


@pytest.mark.anyio
async def test_without_any_key_ever_fetched_verification_is_unavailable(
    make_settings: Callable[..., Settings],
) -> None:
    idp, clock = IdentityProvider(), Clock()
    idp.failure = "refused"
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(idp)) as http:
        verifier = TokenVerifier(_settings(make_settings), http, clock=clock)
        for jti in ("a", "b", "c"):
            with pytest.raises(KeysUnavailableError):
                await verifier.verify(make_token(headers={"kid": "key-1"}, jti=jti))

    assert idp.fetches == 1


def test_no_key_ever_fetched_is_503_with_retry_after(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    idp = IdentityProvider()
    idp.failure = "refused"
    with make_client(settings=_settings(make_settings), upstream=idp) as client:
        responses = [
            client.get("/v1/items", headers=bearer(make_token(headers={"kid": "key-1"}, jti=jti)))
            for jti in ("a", "b")
        ]

    assert [r.status_code for r in responses] == [503, 503]
    assert responses[0].headers["retry-after"] == str(int(JWKS_RETRY_SECONDS))
    assert responses[0].json() == {"detail": "Token signing keys unavailable"}
    assert idp.fetches == 1
