"""Request bodies over MAX_BODY_BYTES get 413 before anything reads or authenticates them."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.helpers import bearer

MakeClient = Callable[..., AbstractContextManager[TestClient]]
LIMIT = 1024


def _chunks(total: int, size: int = 256) -> Iterator[bytes]:
    # A generator body: sent chunked, without a Content-Length to refuse up front.
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def _small_limit(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(max_body_bytes=LIMIT)


def test_declared_length_over_the_limit_is_413_before_authentication(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    with make_client(settings=_small_limit(make_settings)) as client:
        # No token at all: the size is refused first, whoever sends it.
        response = client.post(
            "/v1/items", content=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_chunked_body_over_the_limit_is_413_while_it_streams(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    with make_client(settings=_small_limit(make_settings)) as client:
        response = client.post(
            "/v1/items",
            content=_chunks(LIMIT * 4),
            headers={"Content-Type": "application/json", **bearer()},
        )

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}
    assert response.headers["content-security-policy"]


def test_bodies_within_the_limit_are_served(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    body = b'{"name": "widget", "price_cents": 100}'
    with make_client(settings=_small_limit(make_settings)) as client:
        declared = client.post(
            "/v1/items", content=body, headers={"Content-Type": "application/json", **bearer()}
        )
        streamed = client.post(
            "/v1/items",
            content=iter([body[:10], body[10:]]),
            headers={"Content-Type": "application/json", **bearer()},
        )

    assert (declared.status_code, streamed.status_code) == (201, 201)
