"""The SQS consumer: partial batch failure reporting, idempotent jobs."""

import copy
import json

import fakeredis
import pytest

from tests.conftest import EVENTS, FakeContext


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> object:
    from app import sqs

    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    monkeypatch.setattr(sqs, "redis", fake)
    return sqs


def _event(*bodies: str) -> dict[str, object]:
    sample = json.loads((EVENTS / "sqs.json").read_text())["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = copy.deepcopy(sample)
        record["messageId"] = f"msg-{number}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def test_sample_event_is_processed(sqs) -> None:
    event = json.loads((EVENTS / "sqs.json").read_text())
    assert sqs.handler(event, FakeContext()) == {"batchItemFailures": []}


def test_only_bad_records_are_reported(sqs) -> None:
    good = json.dumps({"job_id": "a" * 32, "action": "reindex"})
    event = _event(good, "not json", json.dumps({"job_id": "nope", "action": "x"}))
    result = sqs.handler(event, FakeContext())
    failed = [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]
    assert result == {"batchItemFailures": failed}


def test_redelivered_job_runs_once(sqs, monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"job_id": "b" * 32, "action": "reindex"})
    ran = []
    original = sqs.process

    async def counting(job):
        ran.append(await original(job))
        return ran[-1]

    monkeypatch.setattr(sqs, "process", counting)
    sqs.handler(_event(body), FakeContext())
    sqs.handler(_event(body), FakeContext())
    assert ran == [True, False]
