import fakeredis
import pytest

from app import tasks
from app.idempotency import Claim, IdempotencyKeys
from app.settings import get_settings
from app.tasks import TransientError, process_order
from app.worker import celery_app


def test_reliability_options_on_the_task() -> None:
    settings = get_settings()
    assert process_order.acks_late is True
    assert process_order.reject_on_worker_lost is True
    assert process_order.max_retries == settings.task_max_retries
    # Options the task decorator sets, which the Task stubs do not declare.
    assert getattr(process_order, "retry_backoff", None) is True
    assert getattr(process_order, "retry_jitter", None) is True
    assert process_order.soft_time_limit is not None
    assert process_order.time_limit is not None
    assert process_order.soft_time_limit < process_order.time_limit
    assert TransientError in getattr(process_order, "autoretry_for", ())
    assert celery_app.conf.worker_prefetch_multiplier == 1


def test_processes_an_order(eager: fakeredis.FakeRedis) -> None:
    result = process_order.delay("o-1", 1200).get()
    assert result == {"order_id": "o-1", "status": "processed", "charge_id": "charge-o-1"}


def test_a_redelivered_order_runs_once(
    eager: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def charge(order_id: str, _: int) -> str:
        calls.append(order_id)
        return "c"

    monkeypatch.setattr(tasks, "charge", charge)
    assert process_order.delay("o-2", 100).get()["status"] == "processed"
    assert process_order.delay("o-2", 100).get()["status"] == "duplicate"
    assert calls == ["o-2"]


def test_transient_errors_are_retried(
    eager: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def flaky(order_id: str, _: int) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError("503 from the provider")
        return "c-3"

    monkeypatch.setattr(tasks, "charge", flaky)
    assert process_order.delay("o-3", 100).get()["charge_id"] == "c-3"
    assert len(attempts) == 3


def test_retries_are_bounded(eager: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def down(order_id: str, _: int) -> str:
        attempts.append(1)
        raise TransientError("still down")

    monkeypatch.setattr(tasks, "charge", down)
    with pytest.raises(TransientError):
        process_order.delay("o-4", 100).get()
    assert len(attempts) == get_settings().task_max_retries + 1
    # The claim was released: a later delivery may try again.
    assert IdempotencyKeys(eager, get_settings()).claim("process_order:o-4") is Claim.ACQUIRED


def test_bad_input_fails_at_once(eager: fakeredis.FakeRedis) -> None:
    with pytest.raises(ValueError, match="positive"):
        process_order.delay("o-5", 0).get()


def test_a_duplicate_in_flight_is_retried_not_run(fake_redis: fakeredis.FakeRedis) -> None:
    keys = IdempotencyKeys(fake_redis, get_settings())
    assert keys.claim("process_order:o-6") is Claim.ACQUIRED
    assert keys.claim("process_order:o-6") is Claim.IN_FLIGHT
    keys.complete("process_order:o-6")
    assert keys.claim("process_order:o-6") is Claim.DONE
    assert fake_redis.ttl(f"{get_settings().service_name}:idempotency:process_order:o-6") > 0
