from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import ALLOWED_ORIGIN

MakeClient = Callable[..., AbstractContextManager[TestClient]]

EXPECTED = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def assert_security_headers(headers: object) -> None:
    for name, value in EXPECTED.items():
        assert headers[name] == value, name  # type: ignore[index]


def test_headers_on_success(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert_security_headers(response.headers)
    assert response.headers["x-request-id"]


def test_headers_on_not_found(client: TestClient) -> None:
    response = client.get("/no/such/route")

    assert response.status_code == 404
    assert_security_headers(response.headers)


def test_headers_and_json_body_on_unhandled_error(make_client: MakeClient) -> None:
    def add_failing_route(app: FastAPI) -> None:
        async def boom() -> None:
            raise RuntimeError("boom")

        app.add_api_route("/boom", boom)

    with make_client(app_hook=add_failing_route, raise_server_exceptions=False) as client:
        response = client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert_security_headers(response.headers)
    assert response.headers["x-request-id"]


def test_request_id_is_propagated(client: TestClient) -> None:
    request_id = "0123456789abcdef0123456789abcdef"

    response = client.get("/healthz", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


def test_cors_preflight_from_allowed_origin(client: TestClient) -> None:
    response = client.options(
        "/v1/items",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-credentials" not in response.headers
    assert_security_headers(response.headers)


@pytest.mark.parametrize("origin", ["https://evil.example.com", "null"])
def test_cors_preflight_from_other_origin_is_refused(client: TestClient, origin: str) -> None:
    response = client.options(
        "/v1/items",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_docs_are_off_by_default(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path


def test_docs_when_enabled_get_a_csp_that_lets_swagger_ui_load(
    make_client: MakeClient, make_settings: Callable[..., object]
) -> None:
    with make_client(settings=make_settings(docs_enabled=True)) as client:
        docs = client.get("/docs")
        schema = client.get("/openapi.json")

    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert schema.status_code == 200
    assert schema.headers["content-security-policy"] == EXPECTED["content-security-policy"]
