"""The SQS consumer: partial batch failure reporting, idempotent jobs."""

import copy
import json
from types import ModuleType

import fakeredis
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.conftest import EVENTS, FakeContext


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
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


def test_sample_event_is_processed(sqs: ModuleType) -> None:
    event = json.loads((EVENTS / "sqs.json").read_text())
    assert sqs.handler(event, FakeContext()) == {"batchItemFailures": []}


def test_only_bad_records_are_reported(sqs: ModuleType) -> None:
    good = json.dumps({"job_id": "a" * 32, "action": "reindex"})
    event = _event(good, "not json", json.dumps({"job_id": "nope", "action": "x"}))
    result = sqs.handler(event, FakeContext())
    failed = [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-2"}]
    assert result == {"batchItemFailures": failed}


def test_redelivered_job_runs_once(sqs: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"job_id": "b" * 32, "action": "reindex"})
    ran: list[bool] = []
    original = sqs.process

    async def counting(job: object) -> bool:
        ran.append(await original(job))
        return ran[-1]

    monkeypatch.setattr(sqs, "process", counting)
    sqs.handler(_event(body), FakeContext())
    sqs.handler(_event(body), FakeContext())
    assert ran == [True, False]


def test_a_batch_and_each_record_are_spans_flushed_before_the_handler_returns(
    sqs: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    # A batch processor exports on its own only after a minute: only the handler's flush can
    # have exported the spans by the time it returns.
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    monkeypatch.setattr(sqs, "tracer", provider.get_tracer("test"))
    monkeypatch.setattr(sqs, "tracer_provider", provider)
    good = json.dumps({"job_id": "c" * 32, "action": "reindex"})
    try:
        result = sqs.handler(_event(good, "not json"), FakeContext())
        spans: dict[str, list[ReadableSpan]] = {}
        for span in exporter.get_finished_spans():
            spans.setdefault(span.name, []).append(span)
    finally:
        provider.shutdown()
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    (batch,) = spans["sqs batch"]
    assert batch.kind is SpanKind.CONSUMER
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 2
    assert batch.attributes["messaging.batch.failure_count"] == 1
    by_id = {str((s.attributes or {})["messaging.message.id"]): s for s in spans["sqs process"]}
    assert sorted(by_id) == ["msg-0", "msg-1"]
    assert batch.context is not None
    for span in by_id.values():
        assert span.parent is not None
        assert span.parent.span_id == batch.context.span_id
    assert by_id["msg-0"].status.status_code is StatusCode.UNSET
    assert by_id["msg-1"].status.status_code is StatusCode.ERROR
    assert [e.name for e in by_id["msg-1"].events] == ["exception"]
