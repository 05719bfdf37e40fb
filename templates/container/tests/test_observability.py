"""Logs, traces and metrics: what operators rely on when something goes wrong."""

import io
import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx2
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from app.logs import configure_logging
from app.settings import Settings
from app.telemetry import create_tracer_provider
from tests.helpers import bearer

MakeClient = Callable[..., AbstractContextManager[TestClient]]
ITEM_ID = "0123456789abcdef0123456789abcdef"


def test_log_lines_are_json_with_request_and_trace_ids(client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    response = client.post("/v1/items", json={"name": "pen", "price_cents": 1}, headers=bearer())

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    created = next(line for line in lines if line["event"] == "item_created")
    assert created["request_id"] == response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", created["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", created["span_id"])
    assert created["level"] == "info"
    assert created["timestamp"].endswith("Z")


def test_without_exporter_the_callers_trace_goes_on_in_logs_and_upstream(
    make_client: MakeClient,
) -> None:
    # No exporter: FastAPI builds no server span, the ids are still there (app.telemetry).
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    traced = {**bearer(), "traceparent": f"00-{caller_trace}-{caller_span}-00"}
    upstream_headers: list[httpx2.Headers] = []

    def inventory(request: httpx2.Request) -> httpx2.Response:
        upstream_headers.append(request.headers)
        return httpx2.Response(200, json={"item_id": ITEM_ID, "available": 1})

    stream = io.StringIO()
    with make_client(upstream=inventory) as client:
        configure_logging("INFO", stream=stream)
        client.post("/v1/items", json={"name": "pen", "price_cents": 1}, headers=traced)
        client.post("/v1/items", json={"name": "pen", "price_cents": 1}, headers=bearer())
        client.post("/v1/items", json={"name": "pen", "price_cents": 1}, headers=bearer())
        stock = client.get(f"/v1/items/{ITEM_ID}/stock", headers=traced)

    created = [
        json.loads(line)
        for line in stream.getvalue().splitlines()
        if json.loads(line)["event"] == "item_created"
    ]
    assert created[0]["trace_id"] == caller_trace
    assert created[0]["span_id"] != caller_span, "the server's own span id"
    assert len({line["trace_id"] for line in created}) == 3, "a new trace per untraced request"
    assert stock.status_code == 200
    _, trace_id, span_id, flags = upstream_headers[0]["traceparent"].split("-")
    assert (trace_id, flags) == (caller_trace, "00")
    assert span_id != caller_span


def test_a_sampled_callers_decision_goes_upstream(make_client: MakeClient) -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    upstream_headers: list[httpx2.Headers] = []

    def inventory(request: httpx2.Request) -> httpx2.Response:
        upstream_headers.append(request.headers)
        return httpx2.Response(200, json={"item_id": ITEM_ID, "available": 1})

    with make_client(upstream=inventory) as client:
        client.get(
            f"/v1/items/{ITEM_ID}/stock",
            headers={**bearer(), "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"},
        )

    _, trace_id, _, flags = upstream_headers[0]["traceparent"].split("-")
    assert (trace_id, flags) == (caller_trace, "01")


def test_an_error_is_one_line_without_frame_locals() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("app.test")

    def handler(authorization: str) -> None:
        password = "hunter2-" + authorization  # a secret that must not reach the log
        raise RuntimeError("boom " + str(len(password)))

    try:
        handler("Bearer eyJsecret.token.value")
    except RuntimeError:
        log.exception("unhandled_exception")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    frames = line["exception"][0]["frames"]
    assert [frame["name"] for frame in frames][-1] == "handler"
    assert all("locals" not in frame for frame in frames)
    assert "hunter2" not in lines[0]
    assert "eyJsecret" not in lines[0]


def test_uvicorn_does_not_log_an_error_the_app_logged_already() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    server = logging.getLogger("uvicorn.error")

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        # What uvicorn logs after Starlette re-raised what app.errors answered with a 500.
        server.exception("Exception in ASGI application\n")
    server.error("Invalid HTTP request received.")

    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["Invalid HTTP request received."]


def test_a_500_is_logged_once_without_request_data(make_client: MakeClient) -> None:
    stream = io.StringIO()
    secret = "s3cr3t-request-header-value"

    def inventory(request: httpx2.Request) -> httpx2.Response:
        raise ZeroDivisionError("a bug in the client code path")

    with make_client(upstream=inventory, raise_server_exceptions=False) as client:
        configure_logging("INFO", stream=stream)  # after the app's own call
        response = client.get(
            f"/v1/items/{ITEM_ID}/stock", headers={**bearer(), "X-Api-Secret": secret}
        )

    errors = [line for line in stream.getvalue().splitlines() if '"exception"' in line]
    assert response.status_code == 500
    assert len(errors) == 1
    assert secret not in errors[0]
    assert "Bearer" not in errors[0]


def test_uvicorn_access_lines_become_json_fields() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/items", "1.1", 200
    )

    line = json.loads(stream.getvalue())
    assert line["logger"] == "uvicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/items", 200)
    assert "request_id" in line
    assert "trace_id" in line


def test_server_client_and_redis_spans_share_one_trace(make_client: MakeClient) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    upstream_headers: list[httpx2.Headers] = []

    def inventory(request: httpx2.Request) -> httpx2.Response:
        upstream_headers.append(request.headers)
        return httpx2.Response(200, json={"item_id": ITEM_ID, "available": 1})

    with make_client(upstream=inventory, tracer_provider=provider) as client:
        client.get("/healthz")
        client.get(f"/v1/items/{ITEM_ID}/stock", headers=bearer())

    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind == SpanKind.SERVER]
    outbound = [span for span in spans if span.kind == SpanKind.CLIENT]
    assert len(server) == 1, "probes are not traced; the API call is"
    assert (server[0].attributes or {})["http.route"] == "/v1/items/{item_id}/stock"
    trace_id = server[0].context.trace_id
    assert outbound, "httpx and redis calls are traced"
    assert {span.context.trace_id for span in outbound} == {trace_id}
    # W3C trace context goes to the upstream, so its spans join this trace.
    assert upstream_headers[0]["traceparent"].split("-")[1] == format(trace_id, "032x")


def test_spans_are_recorded_when_exported_or_when_the_caller_samples(
    make_settings: Callable[..., Settings],
) -> None:
    tracer = create_tracer_provider(make_settings()).get_tracer(__name__)
    with tracer.start_as_current_span("root") as root:
        assert not root.is_recording(), "no exporter: nothing to record spans for"
        assert root.get_span_context().is_valid, "the logs still get trace and span ids"
    sampled = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    parent = trace.set_span_in_context(NonRecordingSpan(sampled))
    with tracer.start_as_current_span("child", context=parent) as child:
        assert child.is_recording(), "the caller's sampled trace is passed on whole"
        assert child.get_span_context().trace_flags.sampled

    exporting = create_tracer_provider(
        make_settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318")
    )
    try:
        with exporting.get_tracer(__name__).start_as_current_span("root") as span:
            assert span.is_recording()
    finally:
        # The span is only queued; dropping it keeps the shutdown from calling the endpoint.
        exporting.shutdown()


def test_metrics_are_prometheus_text_by_route_template(client: TestClient) -> None:
    client.get(f"/v1/items/{ITEM_ID}", headers=bearer())
    client.get(f"/no/such/route/{ITEM_ID}")
    client.get("/healthz")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "# TYPE http_requests_total counter" in body
    assert 'handler="/v1/items/{item_id}"' in body
    assert ITEM_ID not in body, "labels use the route template, not the raw path"
    assert 'http_requests_total{handler="none",method="GET",status="4xx"} 1.0' in body
    assert 'handler="/healthz"' not in body, "probes are not measured"
    assert "http_request_duration_seconds_bucket" in body
    assert "http_request_duration_highr_seconds_bucket" in body
    assert 'http_response_size_bytes_count{handler="/v1/items/{item_id}"} 1.0' in body
