from collections.abc import Callable
from contextlib import AbstractContextManager

from fastapi.testclient import TestClient

from tests.helpers import unreachable_redis

MakeClient = Callable[..., AbstractContextManager[TestClient]]


def test_liveness_needs_nothing(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_when_redis_answers(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readiness_is_503_when_redis_is_down(make_client: MakeClient) -> None:
    with make_client(redis=unreachable_redis()) as client:
        readiness = client.get("/readyz")
        liveness = client.get("/healthz")

    assert readiness.status_code == 503
    assert readiness.json() == {"status": "unavailable", "redis": "down"}
    # Liveness must not follow a dependency down, or Kubernetes restarts healthy pods.
    assert liveness.status_code == 200
