"""Around each invocation: ids on every log line, a named stage's prefix removed, spans flushed."""

import copy
import io
import json
from typing import Any

import pytest
import structlog
from mangum import Mangum

from app import invocation
from app.logs import configure_logging
from app.main import create_app
from app.resources import Resources
from app.settings import Settings
from tests.conftest import EVENTS, FakeContext, Invoke, Result, http_event
from tests.helpers import bearer

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_the_deployed_handler_serves_the_named_stage_sample_event() -> None:
    import app.handler

    event = json.loads((EVENTS / "healthz_dev_stage.json").read_text())
    assert event["requestContext"]["stage"] == "dev"
    assert event["rawPath"] == "/dev/healthz"
    result = Result(app.handler.handler(event, FakeContext()))
    assert result.status_code == 200
    assert result.json() == {"status": "ok"}


def _staged(
    path: str, stage: str, domain: str = "abc123.execute-api.eu-west-1.amazonaws.com"
) -> dict[str, Any]:
    event = http_event("GET", path)
    event["requestContext"]["stage"] = stage
    event["requestContext"]["domainName"] = domain
    return event


@pytest.mark.parametrize(
    ("path", "stage", "expected"),
    [
        ("/dev/healthz", "dev", "/healthz"),
        ("/dev", "dev", "/"),
        ("/dev/", "dev", "/"),
        ("/v1/v1/items", "v1", "/v1/items"),
        ("/devices", "dev", "/devices"),  # a prefix of a segment is not the stage
        ("/healthz", "$default", "/healthz"),
    ],
)
def test_a_named_stage_prefix_is_removed(path: str, stage: str, expected: str) -> None:
    event = _staged(path, stage)
    original = copy.deepcopy(event)
    stripped = invocation.without_stage(event)
    assert stripped["rawPath"] == expected
    assert stripped["requestContext"]["http"]["path"] == expected
    assert event == original  # the runtime's event is left as it was


def test_a_custom_domain_path_is_left_alone() -> None:
    # Custom domains put no stage in the path: /v1 is the route's own first segment there.
    event = _staged("/v1/items", "v1", domain="api.example.com")
    assert invocation.without_stage(event) == event


def test_routes_answer_under_a_named_stage(settings: Settings, fake_redis: Any) -> None:
    app = create_app(settings, resources=Resources(settings, redis=fake_redis))
    handler = invocation.wrap(Mangum(app, lifespan="off"))
    ready = Result(handler(_staged("/prod/readyz", "prod"), FakeContext()))
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    missing = Result(handler(_staged("/prod/no/such/route", "prod"), FakeContext()))
    assert missing.status_code == 404


def test_every_log_line_carries_the_request_and_xray_trace_ids(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    response = invoke("POST", "/v1/items", body={"name": "pen", "price_cents": 1}, headers=bearer())

    assert response.status_code == 201
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    created = next(line for line in lines if line["event"] == "item_created")
    assert created["aws_request_id"] == FakeContext.aws_request_id
    assert created["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert created["request_id"] == response.headers["x-request-id"]
    # Bound for the invocation only: nothing leaks into what runs between invocations.
    configure_logging("INFO", stream=stream)
    structlog.get_logger("test").info("between_invocations")
    after = json.loads(stream.getvalue().splitlines()[-1])
    assert "aws_request_id" not in after


def test_without_a_trace_header_the_xray_id_is_null(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    assert invocation.log_ids(FakeContext()) == {
        "aws_request_id": FakeContext.aws_request_id,
        "xray_trace_id": None,
    }


class RecordingProvider:
    def __init__(self) -> None:
        self.flushes: list[int] = []

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self.flushes.append(timeout_millis)
        return True


class ShortContext(FakeContext):
    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining


def test_spans_are_flushed_at_the_end_of_each_invocation_within_a_budget(
    settings: Settings, fake_redis: Any
) -> None:
    provider = RecordingProvider()
    app = create_app(settings, resources=Resources(settings, redis=fake_redis))
    handler = invocation.wrap(Mangum(app, lifespan="off"), tracer_provider=provider)

    assert handler(http_event("GET", "/healthz"), FakeContext())["statusCode"] == 200
    assert provider.flushes == [invocation.FLUSH_TIMEOUT_MILLIS]
    handler(http_event("GET", "/healthz"), ShortContext(remaining=600))
    assert provider.flushes[-1] == 500  # never past the invocation's own deadline
    handler(http_event("GET", "/healthz"), ShortContext(remaining=50))
    assert len(provider.flushes) == 2  # no time left: the response goes first


def test_without_otlp_export_there_is_nothing_to_flush(settings: Settings) -> None:
    assert create_app(settings).state.tracer_provider is None
