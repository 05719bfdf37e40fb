"""OAuth2 bearer JWT on the API routes, through the handler."""

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import Invoke
from tests.helpers import bearer, make_token

ITEM = {"name": "widget", "price_cents": 1299}


def test_no_token_is_401_with_challenge(invoke: Invoke) -> None:
    result = invoke("POST", "/v1/items", body=ITEM)
    assert result.status_code == 401
    assert result.json() == {"detail": "Not authenticated"}
    assert result.headers["www-authenticate"] == "Bearer"
    assert result.headers["x-content-type-options"] == "nosniff"


def test_valid_token_is_accepted(invoke: Invoke) -> None:
    result = invoke("POST", "/v1/items", body=ITEM, headers=bearer())
    assert result.status_code == 201, result.text


def test_token_signed_by_another_key_is_401(invoke: Invoke) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = invoke("POST", "/v1/items", body=ITEM, headers=bearer(make_token(key=other)))
    assert result.status_code == 401
    assert result.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_expired_token_is_401(invoke: Invoke) -> None:
    result = invoke("POST", "/v1/items", body=ITEM, headers=bearer(make_token(exp=1000)))
    assert result.status_code == 401


def test_wrong_audience_is_401(invoke: Invoke) -> None:
    result = invoke("POST", "/v1/items", body=ITEM, headers=bearer(make_token(aud="someone-else")))
    assert result.status_code == 401


def test_missing_scope_is_403(invoke: Invoke) -> None:
    token = make_token(scopes="items:read")
    result = invoke("POST", "/v1/items", body=ITEM, headers=bearer(token))
    assert result.status_code == 403
    assert "insufficient_scope" in result.headers["www-authenticate"]


def test_health_needs_no_token(invoke: Invoke) -> None:
    assert invoke("GET", "/healthz").status_code == 200


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    calls: list[None] = []
    decode = jwt.decode

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        return decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", spy)  # the module object app.security.auth uses
    return calls


def test_a_verified_token_is_remembered_across_invocations(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The verifier lives as long as the execution environment, and its cache with it.
    decodes = _count_decodes(monkeypatch)
    token = make_token()

    first = invoke("POST", "/v1/items", body=ITEM, headers=bearer(token))
    second = invoke("POST", "/v1/items", body=ITEM, headers=bearer(token))

    assert (first.status_code, second.status_code) == (201, 201)
    assert len(decodes) == 1


def test_a_refused_token_is_checked_again_every_time(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes = _count_decodes(monkeypatch)
    token = make_token(aud="someone-else")

    first = invoke("POST", "/v1/items", body=ITEM, headers=bearer(token))
    second = invoke("POST", "/v1/items", body=ITEM, headers=bearer(token))

    assert (first.status_code, second.status_code) == (401, 401)
    assert len(decodes) == 2
