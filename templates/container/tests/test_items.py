from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx2
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.helpers import bearer, unreachable_redis

MakeClient = Callable[..., AbstractContextManager[TestClient]]
ITEM_ID = "0123456789abcdef0123456789abcdef"


def test_create_read_and_list(client: TestClient) -> None:
    created = client.post("/v1/items", json={"name": "pen", "price_cents": 120}, headers=bearer())
    item = created.json()

    fetched = client.get(created.headers["location"], headers=bearer())
    listed = client.get("/v1/items", headers=bearer())

    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/items/{item['id']}"
    assert fetched.status_code == 200
    assert fetched.json() == item
    assert [entry["id"] for entry in listed.json()] == [item["id"]]


def test_unknown_item_is_404_and_malformed_id_is_422(client: TestClient) -> None:
    assert client.get(f"/v1/items/{ITEM_ID}", headers=bearer()).status_code == 404
    assert client.get("/v1/items/..%2Fadmin", headers=bearer()).status_code in {404, 422}
    assert client.get("/v1/items/NOT-HEX", headers=bearer()).status_code == 422


def test_invalid_body_is_422(client: TestClient) -> None:
    response = client.post("/v1/items", json={"name": "", "price_cents": -1}, headers=bearer())

    assert response.status_code == 422


def test_stock_comes_from_upstream_then_from_cache(make_client: MakeClient) -> None:
    calls: list[str] = []

    def inventory(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(200, json={"item_id": ITEM_ID, "available": 7})

    with make_client(upstream=inventory) as client:
        first = client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())
        second = client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())

    assert first.json() == second.json() == {"item_id": ITEM_ID, "available": 7}
    assert calls == [f"/stock/{ITEM_ID}"]


def test_failing_upstream_is_503_with_retry_after(make_client: MakeClient) -> None:
    def inventory(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503)

    with make_client(upstream=inventory) as client:
        response = client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())

    assert response.status_code == 503
    assert response.json() == {"detail": "Upstream inventory unavailable"}
    assert response.headers["retry-after"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(200, text="<html>not json</html>"),
        httpx2.Response(200, json={"item_id": ITEM_ID, "available": -1}),
        httpx2.Response(200, json=["not", "a", "stock"]),
    ],
    ids=["not json", "invalid stock", "wrong shape"],
)
def test_upstream_answering_200_with_an_invalid_body_is_502(
    make_client: MakeClient, answer: httpx2.Response
) -> None:
    with make_client(upstream=lambda request: answer) as client:
        response = client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())

    assert response.status_code == 502
    assert response.json() == {"detail": "Upstream inventory gave an invalid answer"}


def test_stock_without_upstream_configured_is_503(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    with make_client(settings=make_settings(inventory_url=None)) as client:
        response = client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())

    assert response.status_code == 503


def test_redis_down_is_503_with_retry_after_not_500(make_client: MakeClient) -> None:
    with make_client(redis=unreachable_redis()) as client:
        responses = [
            client.get("/v1/items", headers=bearer()),
            client.get(f"/v1/items/{ITEM_ID}", headers=bearer()),
            client.post("/v1/items", json={"name": "pen", "price_cents": 1}, headers=bearer()),
        ]

    for response in responses:
        assert response.status_code == 503
        assert response.json() == {"detail": "Storage unavailable"}
        assert response.headers["retry-after"] == "5"


def test_stock_is_served_uncached_while_redis_is_down(make_client: MakeClient) -> None:
    calls: list[str] = []

    def inventory(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(200, json={"item_id": ITEM_ID, "available": 7})

    with make_client(redis=unreachable_redis(), upstream=inventory) as client:
        statuses = [
            client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer()).status_code for _ in range(2)
        ]

    assert statuses == [200, 200]
    assert len(calls) == 2  # a cache miss each time: the cache degrades, the route does not
