"""The example resource, stored in Redis."""

from tests.conftest import Invoke
from tests.helpers import bearer


def test_create_then_get(invoke: Invoke) -> None:
    created = invoke(
        "POST", "/v1/items", body={"name": "widget", "price_cents": 5}, headers=bearer()
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert created.headers["location"] == f"/v1/items/{item['id']}"
    fetched = invoke("GET", f"/v1/items/{item['id']}", headers=bearer())
    assert fetched.status_code == 200
    assert fetched.json() == item


def test_missing_item_is_404(invoke: Invoke) -> None:
    result = invoke("GET", "/v1/items/" + "0" * 32, headers=bearer())
    assert result.status_code == 404
    assert result.json() == {"detail": "Item not found"}


def test_invalid_body_is_422(invoke: Invoke) -> None:
    result = invoke("POST", "/v1/items", body={"name": "", "price_cents": -1}, headers=bearer())
    assert result.status_code == 422
    assert result.headers["x-content-type-options"] == "nosniff"
