"""The verifier's cache of verified tokens: what it serves, how long, and what it never keeps."""

import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import jwt
import pytest

from app.security.auth import InvalidTokenError, TokenVerifier
from app.settings import Settings
from tests.helpers import make_token

pytestmark = pytest.mark.anyio


class DecodeSpy:
    """Counts the calls to jwt.decode, the expensive signature check, and passes them on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._decode = jwt.decode
        monkeypatch.setattr(jwt, "decode", self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._decode(*args, **kwargs)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
    return DecodeSpy(monkeypatch)


@pytest.fixture
def make_verifier(make_settings: Callable[..., Settings]) -> Callable[..., TokenVerifier]:
    def make(**overrides: Any) -> TokenVerifier:
        # A static key: the HTTP client (for a JWKS) is never used.
        return TokenVerifier(make_settings(**overrides), httpx2.AsyncClient())

    return make


async def test_a_verified_token_is_served_from_the_cache(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    verifier = make_verifier()
    token = make_token()

    first = await verifier.verify(token)
    second = await verifier.verify(token)

    assert decodes.calls == 1
    assert second is first
    assert first.subject == "alice"


async def test_the_principal_served_to_every_request_is_read_only(
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    principal = await make_verifier().verify(make_token())

    with pytest.raises(TypeError):
        principal.claims["sub"] = "mallory"  # type: ignore[index]


async def test_an_entry_is_not_served_from_exp_on(
    make_verifier: Callable[..., TokenVerifier],
    decodes: DecodeSpy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = make_verifier()
    exp = int(time.time()) + 300
    token = make_token(exp=exp)
    await verifier.verify(token)

    # The cache's clock reaches exp (jwt.decode reads its own clock: the token still passes it).
    monkeypatch.setattr(time, "time", lambda: float(exp))
    await verifier.verify(token)

    assert decodes.calls == 2


async def test_leeway_does_not_extend_a_cached_token(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    # Past exp but within the leeway: jwt.decode accepts it, every time, and the cache never does.
    verifier = make_verifier(jwt_leeway_seconds=60)
    token = make_token(exp=int(time.time()) - 5)

    await verifier.verify(token)
    await verifier.verify(token)

    assert decodes.calls == 2


async def test_a_token_that_expires_is_refused_after_it_was_cached(
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    verifier = make_verifier(jwt_leeway_seconds=0)
    exp = int(time.time()) + 1
    token = make_token(exp=exp)
    await verifier.verify(token)

    await anyio.sleep(max(0.0, exp - time.time()) + 0.05)

    with pytest.raises(InvalidTokenError, match="expired"):
        await verifier.verify(token)


async def test_a_failure_is_never_cached(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    verifier = make_verifier()
    token = make_token(aud="another-service")

    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            await verifier.verify(token)

    assert decodes.calls == 2


async def test_tokens_do_not_share_entries(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    verifier = make_verifier()
    alice, bob = make_token("alice"), make_token("bob", scopes="items:read")
    # The cached token with one character of its signature changed: another entry, so it is
    # checked in full (and refused).
    middle = len(alice) - 100
    forged = alice[:middle] + ("A" if alice[middle] != "A" else "B") + alice[middle + 1 :]

    assert (await verifier.verify(alice)).subject == "alice"
    principal = await verifier.verify(bob)
    with pytest.raises(InvalidTokenError):
        await verifier.verify(forged)

    assert (principal.subject, principal.scopes) == ("bob", frozenset({"items:read"}))
    assert (await verifier.verify(alice)).subject == "alice"
    assert decodes.calls == 3


async def test_the_size_bound_evicts_the_least_recently_used(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    verifier = make_verifier(jwt_cache_size=2)
    a, b, c = (make_token(name) for name in ("a", "b", "c"))

    for token in (a, b, a, c):  # a is used again, then c evicts b: the least recently used
        await verifier.verify(token)
    assert decodes.calls == 3

    await verifier.verify(a)
    assert decodes.calls == 3
    await verifier.verify(b)
    assert decodes.calls == 4


async def test_size_zero_turns_the_cache_off(
    make_verifier: Callable[..., TokenVerifier], decodes: DecodeSpy
) -> None:
    verifier = make_verifier(jwt_cache_size=0)
    token = make_token()

    await verifier.verify(token)
    await verifier.verify(token)

    assert decodes.calls == 2
