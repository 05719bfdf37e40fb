import io
import json
import os
import time
from pathlib import Path

import fakeredis
import pytest
from prometheus_client import REGISTRY

from app.liveness import is_alive
from app.logs import configure_logging
from app.settings import Settings
from app.tasks import process_order


def _sample(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "celery_tasks_total", {"task": "orders.process", "outcome": outcome}
    )
    return value or 0.0


def test_task_metrics_count_outcomes(eager: fakeredis.FakeRedis) -> None:
    before = _sample("succeeded"), _sample("failed")
    process_order.delay("m-1", 100).get()
    with pytest.raises(ValueError, match="positive"):
        process_order.delay("m-2", -1).get()
    assert (_sample("succeeded"), _sample("failed")) == (before[0] + 1, before[1] + 1)


def test_logs_are_json_with_the_task_id(eager: fakeredis.FakeRedis) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    result = process_order.delay("l-1", 100)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    processed = next(line for line in lines if line["event"] == "order_processed")
    assert processed["task_id"] == result.id
    assert processed["task_name"] == "orders.process"
    assert processed["level"] == "info"


def test_liveness_reads_the_heartbeat_age(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    assert not is_alive(heartbeat, 60)
    heartbeat.touch()
    assert is_alive(heartbeat, 60)
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    assert not is_alive(heartbeat, 60)


def test_soft_limit_must_be_below_hard_limit() -> None:
    with pytest.raises(ValueError, match="TASK_SOFT_TIME_LIMIT"):
        Settings(task_soft_time_limit=10, task_time_limit=10)
