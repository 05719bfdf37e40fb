from collections.abc import Callable
from contextlib import AbstractContextManager

from fastapi.testclient import TestClient

from app.health import RedisReadiness
from app.settings import Settings
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


def test_readiness_is_503_when_redis_is_down_past_the_grace(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(ready_redis_grace_seconds=0)
    with make_client(settings=settings, redis=unreachable_redis()) as client:
        readiness = client.get("/readyz")
        liveness = client.get("/healthz")

    assert readiness.status_code == 503
    assert readiness.json() == {"status": "unavailable", "redis": "down"}
    # Liveness must not follow a dependency down, or Kubernetes restarts healthy pods.
    assert liveness.status_code == 200


def test_a_redis_blip_does_not_make_the_pod_unready(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    # Every replica shares this Redis: failing readiness at once would drain them all together.
    settings = make_settings(ready_redis_grace_seconds=60)
    with make_client(settings=settings, redis=unreachable_redis()) as client:
        readiness = client.get("/readyz")

    assert readiness.status_code == 200
    assert readiness.json() == {"status": "degraded", "redis": "down"}


def test_readiness_fails_only_after_sustained_failure_and_recovers_at_once() -> None:
    readiness = RedisReadiness(grace_seconds=20)

    during_grace = [readiness.ready(False, now=t) for t in (100.0, 110.0, 119.9)]
    after_grace = readiness.ready(False, now=120.0)
    recovered = readiness.ready(True, now=121.0)
    # One success resets the clock: a new failure gets the whole grace again.
    new_blip = readiness.ready(False, now=135.0)

    assert during_grace == [True, True, True]
    assert after_grace is False
    assert recovered is True
    assert new_blip is True
