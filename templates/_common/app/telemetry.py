"""OpenTelemetry tracing: server spans (FastAPI's native telemetry), outbound HTTP and Redis.

Spans are exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without it they still carry
trace and span ids, for log correlation and for propagation (W3C traceparent) to upstreams, but
are not recorded unless the caller's traceparent says its trace is sampled: recording spans that
nobody exports costs every request for nothing. The usual OTEL_* variables (OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, ...) are honoured by
the SDK itself.
"""

import os
from collections.abc import MutableMapping
from contextvars import Token
from typing import Any

import httpx2
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler
from opentelemetry.trace import ProxyTracerProvider, SpanKind
from redis.asyncio import Redis

from app.settings import Settings

# Probes and scrapes arrive every few seconds and say nothing about user traffic.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# Without an exporter: spans recorded only for a caller whose trace is sampled (see below).
_IDS_UNLESS_SAMPLED = ParentBased(ALWAYS_OFF)


def create_tracer_provider(settings: Settings) -> TracerProvider:
    exporting = settings.otel_exporter_otlp_endpoint is not None
    sampler: Sampler | None = None  # the SDK's: OTEL_TRACES_SAMPLER, else parent-based always-on
    if not exporting and "OTEL_TRACES_SAMPLER" not in os.environ:
        # Ids for the logs, and the caller's sampling decision passed on, without the cost of
        # recording root spans that no exporter would send.
        sampler = _IDS_UNLESS_SAMPLED
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.service_name}), sampler=sampler
    )
    if exporting:
        # Imported only when exporting: the exporter and protobuf cost import time.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        endpoint = f"{str(settings.otel_exporter_otlp_endpoint).rstrip('/')}/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # Code that calls trace.get_tracer() gets this provider too; only the first app of a process
    # (tests build several) registers it, because the global can be set once.
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return provider


def is_untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


class TraceContext:
    """Server-side trace context for the app's ASGI layer when no span can leave the process.

    With create_tracer_provider's provider and no exporter, no server span can reach anything:
    no span processor is registered. FastAPI's telemetry would still build a span, its
    attributes and three contexts for every request. Then `start` does what remains observable,
    and FastAPI's telemetry is off (`fastapi_spans` is False): the caller's trace context is
    extracted with the configured propagators (OTEL_PROPAGATORS), and a server span from the
    same provider and sampler is made current, so the logs carry the caller's trace id (or a new
    one) and a new span id, and upstream calls get a traceparent with the caller's sampling
    decision (a sampled caller's span is recorded, as before, and ended). Probes get no span.

    With an exporter, or a tracer provider handed to create_app (tests), FastAPI's telemetry
    builds every server span in full and `start` does nothing.
    """

    def __init__(self, provider: TracerProvider, *, exported: bool) -> None:
        self.fastapi_spans = exported or provider.sampler is not _IDS_UNLESS_SAMPLED
        self._tracer = provider.get_tracer(__name__)
        # The headers the configured propagators read.
        self._propagated_fields = frozenset(propagate.get_global_textmap().fields)

    def start(
        self, scope: MutableMapping[str, Any]
    ) -> tuple[trace.Span, Token[otel_context.Context]] | None:
        """The request's span, made current (end it, then detach the token); None if not ours."""
        if self.fastapi_spans or is_untraced(scope):
            return None
        # A fresh context: nothing of whatever runs this request may become its parent.
        parent = otel_context.Context()
        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        # Most requests carry none of the headers the propagators read: nothing to extract.
        if not self._propagated_fields.isdisjoint(carrier):
            parent = propagate.extract(carrier, context=parent)
        # The provider's sampler decides, so ids and flags are what FastAPI would have produced.
        span = self._tracer.start_span(scope["method"], context=parent, kind=SpanKind.SERVER)
        return span, otel_context.attach(trace.set_span_in_context(span, parent))


def instrument_clients(
    provider: TracerProvider, *, http: httpx2.AsyncClient, redis: Redis | None
) -> None:
    """Trace outbound calls. `redis=None` leaves Redis alone (no spans would leave the process)."""
    # Per client, not global monkeypatching: several apps (tests) can live in one process.
    # HTTP always: its instrumentation also sends traceparent to the upstream.
    HTTPX2ClientInstrumentor.instrument_client(http, tracer_provider=provider)
    if redis is not None:
        RedisInstrumentor.instrument_client(redis, tracer_provider=provider)
