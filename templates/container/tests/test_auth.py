import hashlib
import hmac
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.helpers import PRIVATE_KEY, PUBLIC_PEM, bearer, make_token

MakeClient = Callable[..., AbstractContextManager[TestClient]]
PROTECTED = "/v1/items"


def _unsigned(claims: dict[str, Any]) -> str:
    # alg=none: a header and payload with an empty signature, as an attacker would send.
    return jwt.encode(claims, key="", algorithm="none")


def test_no_token_is_401_with_bearer_challenge(client: TestClient) -> None:
    response = client.get(PROTECTED)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer    ", "Token abc", " Bearer abc", ""],
)
def test_no_bearer_token_in_the_header_is_401(client: TestClient, authorization: str) -> None:
    response = client.get(PROTECTED, headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_valid_token_is_200(client: TestClient) -> None:
    response = client.get(PROTECTED, headers=bearer())

    assert response.status_code == 200


def test_the_scheme_is_case_insensitive_and_padding_ignored(client: TestClient) -> None:
    # What HTTPBearer accepts: "bearer", "BEARER", a token with spaces around it.
    token = bearer()["Authorization"].split(" ", 1)[1]
    statuses = [
        client.get(PROTECTED, headers={"Authorization": f"{scheme} {token}"}).status_code
        for scheme in ("bearer", "BEARER", "Bearer ")
    ]

    assert statuses == [200, 200, 200]


def test_public_routes_need_no_token(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(make_token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(make_token(aud="another-service"), id="wrong-audience"),
        pytest.param(make_token(iss="https://evil.test/"), id="wrong-issuer"),
        pytest.param(make_token(subject=None), id="no-subject"),
        pytest.param(make_token(exp=None), id="no-expiry"),
        pytest.param(make_token(aud=None), id="no-audience"),
        pytest.param(
            make_token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            id="other-key",
        ),
        pytest.param(
            make_token(key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"),
            id="algorithm-not-allowed",
        ),
        pytest.param(
            _unsigned({"iss": "https://issuer.test/", "sub": "mallory", "exp": 4102444800}),
            id="alg-none",
        ),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_401(client: TestClient, token: str) -> None:
    response = client.get(PROTECTED, headers=bearer(token))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_hmac_signed_with_the_public_key_is_401(client: TestClient) -> None:
    # Algorithm confusion: the public key is public, so it must never work as an HMAC secret.
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = {"iss": "https://issuer.test/", "aud": "x", "sub": "m", "iat": now, "exp": now + 60}
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = hmac.new(PUBLIC_PEM.encode(), header + b"." + payload, hashlib.sha256).digest()
    token = b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()

    assert client.get(PROTECTED, headers=bearer(token)).status_code == 401


def test_write_needs_the_scope(client: TestClient) -> None:
    item = {"name": "pen", "price_cents": 120}

    read_only = client.post(PROTECTED, json=item, headers=bearer(make_token(scopes="items:read")))
    writer = client.post(PROTECTED, json=item, headers=bearer(make_token(scopes="items:write")))

    assert read_only.status_code == 403
    assert "insufficient_scope" in read_only.headers["www-authenticate"]
    assert writer.status_code == 201


def _jwks_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(jwt_public_key=None, jwt_jwks_url="https://issuer.test/jwks.json")


def _jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PRIVATE_KEY.public_key()))
    return {"keys": [{**jwk, "kid": "key-1", "alg": "RS256", "use": "sig"}]}


def test_keys_from_jwks_are_fetched_once_and_cached(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    fetches: list[httpx2.Request] = []

    def identity_provider(request: httpx2.Request) -> httpx2.Response:
        fetches.append(request)
        return httpx2.Response(200, json=_jwks())

    token = make_token(headers={"kid": "key-1"})
    with make_client(settings=_jwks_settings(make_settings), upstream=identity_provider) as client:
        first = client.get(PROTECTED, headers=bearer(token))
        second = client.get(PROTECTED, headers=bearer(token))
        unknown_kid = client.get(PROTECTED, headers=bearer(make_token(headers={"kid": "nope"})))

    assert (first.status_code, second.status_code) == (200, 200)
    assert unknown_kid.status_code == 401
    # One fetch: the cache served the second token, and the unknown kid came within the cooldown.
    assert [str(request.url) for request in fetches] == ["https://issuer.test/jwks.json"]
